"""The single-sample ELBO of MoPoE, MWB and their baselines."""

import numpy as np
from keras import ops

from keras_mmvae.src.objectives import base
from keras_mmvae.src.ops.gaussian import kl_to_standard_normal
from keras_mmvae.src.ops.gaussian import reparameterize


class ELBO(base.Objective):
    """Loss = −ELBO with one reparameterised sample per example.

    `Σ_m w_m E[−log p(x_m | z)] + β · KL`: reconstruction summed over data
    dimensions and averaged over the batch, absent modalities excluded. The
    KL is that of the chosen joint posterior, or for mixtures the
    weight-averaged analytic KL of every component (an upper bound of the
    mixture KL). With `unimodal_elbos` each available modality also adds
    its own ELBO with `q = PoE(q_m, prior)` (MVAE). With style latents the
    KL is `β_content · KL_shared + β_style · Σ_m style_betas[m] ·
    KL_style_m`, in the joint and in each unimodal ELBO.
    """

    name = "elbo"

    def forward(self, model, inputs, training=False):
        base.count_warmup_step(model, training)
        mean, log_var, styles = model.encode_experts(inputs, training)
        mask = base.batch_mask(inputs, mean.dtype)
        result = model.fusion.sample(mean, log_var, mask=mask,
                                     subset_sampling=model.subset_sampling,
                                     seed=model.seed_generator)
        result["log_var_clipped"] = base.clipped_fraction(model, log_var,
                                                          mask)
        members = result.pop("members")
        style_samples = {}
        if styles:
            style_samples, result["style_kl"] = self.sample_styles(
                model, styles, mask, members)
        result["outputs"] = model.decode(result["z"], style_samples,
                                         training=training)
        if model.unimodal_elbos:
            result.update(self.unimodal_terms(model, mean, log_var, mask,
                                              style_samples, training))
        return result

    @staticmethod
    def sample_styles(model, styles, mask, members):
        """Style samples per modality and their KLs `(B, M)`.

        Decoder `m` gets its own style posterior sample where `m` is
        available (and, with `cross_modal_style="prior"`, inside the chosen
        component or subset `members`), a prior sample elsewhere. A
        modality without a style latent has style KL 0.
        """
        own = mask
        if model.cross_modal_style == "prior" and members is not None:
            own = members if mask is None else members * mask
        samples, kls = {}, []
        for i, name in enumerate(model.modality_names):
            if name not in styles:
                kls.append(None)
                continue
            s_mean, s_log_var = styles[name]
            sample = reparameterize(s_mean, s_log_var,
                                    seed=model.seed_generator)
            if own is not None:
                prior = base.standard_normal(model, ops.shape(s_mean),
                                             s_mean.dtype)
                sample = ops.where(own[:, i:i + 1] > 0, sample, prior)
            samples[name] = sample
            kls.append(kl_to_standard_normal(s_mean, s_log_var))
        zero = ops.zeros_like(next(kl for kl in kls if kl is not None))
        return samples, ops.stack(
            [zero if kl is None else kl for kl in kls], axis=1)

    @staticmethod
    def unimodal_terms(model, mean, log_var, mask, style_samples, training):
        """Each modality's own ELBO pass: `q = PoE(q_m, prior)`, decoded."""
        outputs, kls = {}, []
        eye = np.eye(model.num_modalities, dtype="float32")
        for i, name in enumerate(model.modality_names):
            only = ops.broadcast_to(
                ops.convert_to_tensor(eye[i:i + 1], dtype=mean.dtype),
                ops.shape(mean)[:2],
            )
            if mask is not None:
                only = only * mask
            q_mean, q_log_var = model.fusion.posterior(mean, log_var,
                                                       mask=only)
            z = reparameterize(q_mean, q_log_var, seed=model.seed_generator)
            outputs[name] = model.decoders[name](
                model.decoder_input(name, z, style_samples),
                training=training)
            kls.append(kl_to_standard_normal(q_mean, q_log_var))
        return {"unimodal_outputs": outputs,
                "unimodal_kl": ops.stack(kls, axis=1)}

    def loss(self, model, inputs, outputs, sample_weight=None):
        dtype = outputs["z"].dtype
        mask = base.batch_mask(inputs, dtype)
        batch_mean = base.weighted_batch_mean(sample_weight, dtype)
        beta = base.current_beta(model, dtype)
        style_kl = outputs.get("style_kl")
        if style_kl is not None:
            # (B, M): β_style · β_m · KL_style_m, absent modalities excluded.
            style_kl = style_kl * base.style_kl_weights(model, dtype)[None]
            if mask is not None:
                style_kl = style_kl * mask
        rec_total, unimodal, per_modality = 0.0, 0.0, []
        for i, name in enumerate(model.modality_names):
            likelihood = model.likelihoods[name]
            nll = -likelihood.log_prob(outputs["outputs"][name], inputs[name])
            if mask is not None:
                nll = nll * mask[:, i]
            rec = batch_mean(nll)
            per_modality.append(rec)
            rec_total = rec_total + model.reconstruction_weights[name] * rec
            if model.unimodal_elbos:
                uni_kl = model.beta_content * outputs["unimodal_kl"][:, i]
                if style_kl is not None:
                    uni_kl = uni_kl + style_kl[:, i]
                uni = -likelihood.log_prob(outputs["unimodal_outputs"][name],
                                           inputs[name]) + beta * uni_kl
                if mask is not None:
                    uni = uni * mask[:, i]
                unimodal = unimodal + batch_mean(uni)
        kl = model.beta_content * outputs["kl"]
        if style_kl is not None:
            kl = kl + ops.sum(style_kl, axis=-1)
        kl = batch_mean(kl)
        base.track(model, rec_total, kl,
                   ops.mean(outputs["log_var_clipped"]), per_modality)
        return rec_total + beta * kl + unimodal
