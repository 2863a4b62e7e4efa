"""CRMVAE: the contrastive-regularised joint VAE of Suzuki & Matsuo
(2023), as MultiVae implements it."""

from keras import ops

from keras_mmvae.src.objectives import base
from keras_mmvae.src.objectives.joint_posterior import JointObjective


class CRMVAE(JointObjective):
    """CRMVAE's loss, exactly as MultiVae 1.0.3 computes it.

    `q_J` is the joint posterior (the model's fusion of the available
    experts: MultiVae's PoE of the unimodal experts, no prior expert, preset
    `"crmvae"`), `z ~ q_J` one sample and `z_m ~ q_m` one sample of every
    unimodal posterior (drawn for every example, also where `m` is absent).
    With `M` the number of modalities and `w_m` the model's
    `reconstruction_weights`, the loss of one example is

        Σ_m mask_m w_m (rec_m(z) + rec_m(z_m)) / (2(M + 1))
        + β (KL(q_J ‖ N(0, I)) + Σ_m mask_m KL(q_J ‖ q_m)) / (M + 1)

    then the (sample-weighted) batch mean (MultiVae sums over the batch;
    ours is that sum / B). The divisors are MultiVae's: `2(M + 1)` although
    there are only `2M` reconstruction terms, and the constant `M`, not the
    number of available modalities, with masks. The model's KL warm-up
    ramps β.

    β is the model's `beta` (preset `"crmvae"`: 2.5, MultiVae's default).
    """

    name = "crmvae"

    def forward(self, model, inputs, training=False):
        base.count_warmup_step(model, training)
        mean, log_var, mask, clipped = self.experts(model, inputs, training)
        q_mean, q_log_var = model.fusion.posterior(mean, log_var, mask=mask)
        z = self.sample(model, "joint", q_mean, q_log_var)
        unimodal = {}
        for i, name in enumerate(model.modality_names):
            z_m = self.sample(model, f"unimodal/{name}", mean[:, i],
                              log_var[:, i])
            unimodal[name] = model.decoders[name](z_m, training=training)
        return {**self.joint_outputs(model, z, q_mean, q_log_var, mean,
                                     log_var, clipped, training),
                "unimodal_outputs": unimodal}

    def loss(self, model, inputs, outputs, sample_weight=None):
        dtype = outputs["z"].dtype
        mask = base.batch_mask(inputs, dtype)
        batch_mean = base.weighted_batch_mean(sample_weight, dtype)
        num = float(model.num_modalities)
        rec_total, unimodal_total, per_modality = 0.0, 0.0, []
        for i, name in enumerate(model.modality_names):
            weight = model.reconstruction_weights[name]
            rec = batch_mean(self.masked(
                self.nll(model, name, outputs["outputs"][name], inputs),
                mask, i))
            per_modality.append(rec)
            rec_total = rec_total + weight * rec
            unimodal_total = unimodal_total + weight * batch_mean(
                self.masked(self.nll(model, name,
                                     outputs["unimodal_outputs"][name],
                                     inputs), mask, i))
        kl = batch_mean(outputs["kl"] + ops.sum(
            self.masked(outputs["kl_experts"], mask), axis=-1))
        base.track(model, rec_total, kl,
                   ops.mean(outputs["log_var_clipped"]), per_modality)
        return (rec_total + unimodal_total) / (2.0 * (num + 1.0)) + \
            base.current_beta(model, dtype) * kl / (num + 1.0)
