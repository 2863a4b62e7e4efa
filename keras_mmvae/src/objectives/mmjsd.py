"""mmJSD: the multimodal Jensen-Shannon objective of Sutter, Daunhawer &
Vogt (NeurIPS 2020)."""

from keras import ops

from keras_mmvae.src.objectives import base
from keras_mmvae.src.objectives.joint_posterior import JointObjective
from keras_mmvae.src.ops.fusion import product_of_experts
from keras_mmvae.src.ops.gaussian import kl_divergence


class MMJSD(JointObjective):
    """mmJSD: MoE reconstruction and the JS divergence to a dynamic prior.

    With `A` the available modalities of an example (`|A| = M_A`), `q_m`
    the unimodal posteriors and `q_0 = p = N(0, I)` the prior, the weights
    `π_j = 1 / (M_A + 1)` over `A ∪ {0}` and the dynamic prior

        f = PoE_π({q_j}_{j ∈ A ∪ {0}}):  Λ_f = Σ_j π_j Λ_j,
                                         μ_f = Λ_f⁻¹ Σ_j π_j Λ_j μ_j

    (the π-weighted geometric mean of the unimodal posteriors and the
    prior, MoPoE/mmJSD code's `alpha_poe`), the loss of one example is

        1/M_A Σ_{c ∈ A} Σ_{r ∈ A} w_r rec_r(z_c)
        + β Σ_{j ∈ A ∪ {0}} π_j KL(q_j ‖ f)

    with `z_c ~ q_c` one reparameterised sample per unimodal posterior:
    the reconstruction term is the expectation over the MoE posterior
    `q(z | X) = 1/M_A Σ_c q_c` taken over every component (one sample each)
    rather than one sampled component per example as in the authors' code
    (the same expectation, lower variance). Then the (sample-weighted)
    batch mean. The model's KL warm-up ramps β.

    The model's fusion (preset `"mmjsd"`: the MoE of the available experts)
    serves `encode` and `conditional_generate`. β of the JS term is the
    model's `beta`.
    """

    name = "mmjsd"
    fusion_hint = 'fusion="moe" (the preset "mmjsd")'

    def check_fusion(self, model):
        if model.fusion.mode != "moe" or model.fusion.subsets != "joint":
            raise ValueError(
                "objective 'mmjsd' has the mixture of the unimodal experts "
                "as posterior; the model's fusion "
                f"(mode={model.fusion.mode!r}, "
                f"subsets={model.fusion.subsets!r}) is not. Use "
                f"{self.fusion_hint}.")

    def forward(self, model, inputs, training=False):
        base.count_warmup_step(model, training)
        mean, log_var, mask, clipped = self.experts(model, inputs, training)
        outputs = {}
        for i, name in enumerate(model.modality_names):
            z_c = self.sample(model, f"unimodal/{name}", mean[:, i],
                              log_var[:, i])
            outputs[name] = model.decode(z_c, training=training)
        available = ops.ones(ops.shape(mean)[:2], mean.dtype) \
            if mask is None else mask
        # The dynamic prior: weight 1/(M_A + 1) on each available expert
        # and on N(0, I).
        f_mean, f_log_var = product_of_experts(
            mean, log_var, available[:, None, :],
            prior_weight=ops.ones((ops.shape(mean)[0], 1), mean.dtype),
            normalize=True, mask=mask)
        f_mean, f_log_var = f_mean[:, 0], f_log_var[:, 0]
        zeros = ops.zeros_like(f_mean)
        return {
            "z": z_c,
            "mean": f_mean,  # the dynamic prior f
            "log_var": f_log_var,
            "outputs": outputs,  # outputs[c][r]: modality r decoded from z_c
            "kl_experts": kl_divergence(mean, log_var, f_mean[:, None],
                                        f_log_var[:, None]),  # KL(q_m ‖ f)
            "kl_prior": kl_divergence(zeros, zeros, f_mean, f_log_var),
            "log_var_clipped": clipped,
        }

    def loss(self, model, inputs, outputs, sample_weight=None):
        dtype = outputs["z"].dtype
        mask = base.batch_mask(inputs, dtype)
        batch_mean = base.weighted_batch_mean(sample_weight, dtype)
        names = model.modality_names
        num = float(model.num_modalities)
        count = num if mask is None else ops.maximum(
            ops.sum(mask, axis=-1), 1.0)  # M_A
        rec_total, per_modality = 0.0, []
        for r, name in enumerate(names):
            # 1/M_A Σ_{c ∈ A} rec_r(z_c), where r is available.
            nll = 0.0
            for c, cond in enumerate(names):
                nll = nll + self.masked(
                    self.nll(model, name, outputs["outputs"][cond][name],
                             inputs), mask, c)
            rec = batch_mean(self.masked(nll / count, mask, r))
            per_modality.append(rec)
            rec_total = rec_total + model.reconstruction_weights[name] * rec
        js = (ops.sum(self.masked(outputs["kl_experts"], mask), axis=-1)
              + outputs["kl_prior"]) / (count + 1.0)
        kl = batch_mean(js)
        base.track(model, rec_total, kl,
                   ops.mean(outputs["log_var_clipped"]), per_modality)
        return rec_total + base.current_beta(model, dtype) * kl
