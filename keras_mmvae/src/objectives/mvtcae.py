"""MVTCAE: the multi-view total correlation objective (Hwang et al., 2021)."""

from keras import ops

from keras_mmvae.src.objectives import base
from keras_mmvae.src.objectives.joint_posterior import JointObjective


class MVTCAE(JointObjective):
    """MVTCAE's loss, exactly as MultiVae 1.0.3 computes it.

    With `q_J` the joint posterior (the model's fusion of the available
    experts: MultiVae's PoE of the unimodal experts only, no prior expert,
    preset `"mvtcae"`), `z ~ q_J` one reparameterised sample, `M` the number
    of modalities (all of them, not the available ones) and `mask_m` the
    availability, the loss of one example is

        (M − α)/M · Σ_m mask_m w_m rec_m(z)
        + β (α/M · Σ_m mask_m KL(q_J ‖ q_m) + (1 − α) KL(q_J ‖ N(0, I)))

    with `rec_m = −log p(x_m | z)` summed over data dimensions and `w_m` the
    model's `reconstruction_weights` (MultiVae's `rescale_factors`), then
    the (sample-weighted) batch mean. Absent modalities drop out of the
    PoE, of the KLs and of the reconstruction, with the same constant `M`
    as MultiVae (its masked normalisation). The model's KL warm-up
    (`kl_warmup_steps`) ramps β.

    β is the model's `beta` (preset `"mvtcae"`: 2.5, MultiVae's default).

    Args:
        alpha: α ∈ [0, 1] (MultiVae's default 0.1).
    """

    name = "mvtcae"

    def __init__(self, alpha=0.1):
        alpha = float(alpha)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"`alpha` must be in [0, 1]; got {alpha}.")
        self.alpha = alpha

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}

    def forward(self, model, inputs, training=False):
        base.count_warmup_step(model, training)
        mean, log_var, mask, clipped = self.experts(model, inputs, training)
        q_mean, q_log_var = model.fusion.posterior(mean, log_var, mask=mask)
        z = self.sample(model, "joint", q_mean, q_log_var)
        return self.joint_outputs(model, z, q_mean, q_log_var, mean, log_var,
                                  clipped, training)

    def loss(self, model, inputs, outputs, sample_weight=None):
        dtype = outputs["z"].dtype
        mask = base.batch_mask(inputs, dtype)
        batch_mean = base.weighted_batch_mean(sample_weight, dtype)
        num = float(model.num_modalities)
        rec_total, per_modality = 0.0, []
        for i, name in enumerate(model.modality_names):
            nll = self.masked(
                self.nll(model, name, outputs["outputs"][name], inputs),
                mask, i)
            rec = batch_mean(nll)
            per_modality.append(rec)
            rec_total = rec_total + model.reconstruction_weights[name] * rec
        kl_experts = ops.sum(self.masked(outputs["kl_experts"], mask),
                             axis=-1)
        kl = batch_mean(self.alpha / num * kl_experts
                        + (1.0 - self.alpha) * outputs["kl"])
        base.track(model, rec_total, kl,
                   ops.mean(outputs["log_var_clipped"]), per_modality)
        return (num - self.alpha) / num * rec_total + \
            base.current_beta(model, dtype) * kl
