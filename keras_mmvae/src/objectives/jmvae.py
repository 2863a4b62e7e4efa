"""JMVAE-kl: the joint multimodal VAE of Suzuki et al. (2016), as MultiVae
implements it."""

from keras import ops

from keras_mmvae.src.objectives import base
from keras_mmvae.src.objectives.joint_posterior import JointObjective


class JMVAE(JointObjective):
    """JMVAE's loss, exactly as MultiVae 1.0.3 computes it.

    A joint encoder `q(z | X)` (the model's `joint_encoder`, e.g.
    `mm.layers.JointMLPEncoder`) gives `q_J`; `z ~ q_J` one sample. The
    loss of one example is

        Σ_m w_m rec_m(z) + a · (β KL(q_J ‖ N(0, I)) + α Σ_m KL(q_J ‖ q_m))

    then the (sample-weighted) batch mean; the KLs to the unimodal
    posteriors `q_m` (the model's encoders) train those encoders.

    **Warm-up.** MultiVae anneals `a = epoch / warmup` (1-based epochs,
    `warmup=10`) while `epoch < warmup`, then 1. Here `a` is the model's
    KL warm-up ramp in steps: `kl_warmup_steps=S` gives `a = min((t − 1) /
    S, 1)` at training step t, so MultiVae's `warmup=10` epochs is
    `kl_warmup_steps = 10 · steps_per_epoch` (a linear ramp per step
    instead of MultiVae's per-epoch staircase; without warm-up `a = 1`).
    The preset cannot know the steps per epoch, so it leaves the warm-up
    off: pass `kl_warmup_steps` to the model.

    **Incomplete data.** MultiVae refuses masks for JMVAE; here only the
    complete examples of a batch are trained on: an example with any
    modality absent contributes neither loss nor gradient (as a sample
    weight 0; the batch mean still divides by the batch size). Without a
    mask this is MultiVae's loss.

    **Inference.** `model.encode` and `conditional_generate` use the
    model's fusion of the unimodal experts for every subset (preset
    `"jmvae"`: their PoE without a prior expert, MultiVae's choice for
    subsets); MultiVae uses the joint encoder when all modalities are
    given: call `model.joint_encoder(inputs)` for that.

    β is the model's `beta` (MultiVae's default is 1, as the model's).

    Args:
        alpha: Weight α of the unimodal KLs (MultiVae's default 0.1).
    """

    name = "jmvae"

    def __init__(self, alpha=0.1):
        alpha = float(alpha)
        if not alpha >= 0.0:
            raise ValueError(f"`alpha` must be >= 0; got {alpha}.")
        self.alpha = alpha

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}

    def validate(self, model):
        if model.joint_encoder is None:
            raise ValueError(
                "objective 'jmvae' needs a joint encoder q(z | X): pass "
                "MultimodalVAE(joint_encoder=mm.layers.JointMLPEncoder("
                "latent_dim, ...)) (any layer mapping the dict of all "
                "modalities to (mean, log_var)).")
        super().validate(model)

    def forward(self, model, inputs, training=False):
        base.count_warmup_step(model, training)
        mean, log_var, mask, clipped = self.experts(model, inputs, training)
        q_mean, q_log_var = model.joint_encoder(
            {n: inputs[n] for n in model.modality_names}, training=training)
        q_mean = ops.cast(q_mean, mean.dtype)
        q_log_var = ops.clip(ops.cast(q_log_var, mean.dtype),
                             *model.fusion.log_var_clip)
        z = self.sample(model, "joint", q_mean, q_log_var)
        return self.joint_outputs(model, z, q_mean, q_log_var, mean, log_var,
                                  clipped, training)

    def loss(self, model, inputs, outputs, sample_weight=None):
        dtype = outputs["z"].dtype
        mask = base.batch_mask(inputs, dtype)
        complete = None if mask is None else ops.min(mask, axis=-1)
        batch_mean = base.weighted_batch_mean(sample_weight, dtype)

        def mean_of(values):  # complete examples only
            if complete is None:
                return batch_mean(values)
            return batch_mean(ops.where(complete > 0, values,
                                        ops.zeros_like(values)))

        rec_total, per_modality = 0.0, []
        for name in model.modality_names:
            rec = mean_of(self.nll(model, name, outputs["outputs"][name],
                                   inputs))
            per_modality.append(rec)
            rec_total = rec_total + model.reconstruction_weights[name] * rec
        kl = mean_of(outputs["kl"])
        kl_experts = mean_of(ops.sum(outputs["kl_experts"], axis=-1))
        base.track(model, rec_total, kl,
                   ops.mean(outputs["log_var_clipped"]), per_modality)
        return rec_total + base.warmup_factor(model, dtype) * (
            model.beta * kl + self.alpha * kl_experts)
