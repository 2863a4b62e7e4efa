"""What the joint-posterior objectives share (MVTCAE, CRMVAE, JMVAE, mmJSD).

These objectives sample their own latents (one joint sample, or one per
unimodal posterior) instead of calling `BarycenterFusion.sample`, so that
every draw comes from ONE overridable method, `JointObjective.noise`: the
oracle tests subclass the objective and return MultiVae's own standard
normal draws there.
"""

import keras
from keras import ops

from keras_mmvae.src.objectives import base
from keras_mmvae.src.ops.gaussian import kl_divergence
from keras_mmvae.src.ops.gaussian import kl_to_standard_normal


class JointObjective(base.Objective):
    """Base of the joint-posterior family.

    The KL weight β is the model's `beta` (set by the presets, e.g.
    `β = 2.5` for MVTCAE and CRMVAE, MultiVae's defaults), ramped by the
    model's KL warm-up; the objectives have no β of their own.
    """

    # ------------------------------------------------------------ checks
    fusion_hint = ('fusion="poe" with prior_expert=False (the preset of '
                   'this objective)')

    def check_fusion(self, model):
        """Joint (non-mixture) Gaussian fusions by default."""
        if model.fusion.is_mixture:
            raise ValueError(
                f"objective {self.name!r} fuses the available experts into "
                "ONE joint posterior; the model's fusion "
                f"(mode={model.fusion.mode!r}, "
                f"subsets={model.fusion.subsets!r}) is a mixture. Use "
                f"{self.fusion_hint}, e.g. fusion={self.name!r}.")

    def validate(self, model):
        self.check_fusion(model)
        name = self.name
        if model.unimodal_elbos:
            raise ValueError(
                f"`unimodal_elbos=True` adds MVAE's unimodal ELBOs to the "
                f"'elbo' objective only; objective {name!r} has its own "
                "unimodal terms. Pass unimodal_elbos=False.")
        if model.subset_sampling not in ("auto", None):
            raise ValueError(
                f"objective {name!r} always uses all available modalities; "
                f"subset_sampling={model.subset_sampling!r} has no meaning "
                "here. Pass subset_sampling='auto'.")
        if model.distribution != "normal" or model.learn_prior or \
                model.learn_private_prior:
            raise ValueError(
                f"objective {name!r} has Gaussian posteriors and the fixed "
                "prior N(0, I): pass distribution='normal', "
                "learn_prior=False, learn_private_prior=False.")

    def build(self, model):
        if model.uses_style:
            raise ValueError(
                f"objective {self.name!r} has no modality-specific (style) "
                "latents: use encoders returning (mean, log_var) only.")

    # ------------------------------------------------------------ pieces
    def noise(self, model, kind, shape, dtype):
        """Standard normal draws for the sample `kind` (`"joint"`,
        `"unimodal/<modality>"`): the ONE source of this objective's
        randomness (tests override it to inject MultiVae's noise)."""
        del kind
        return keras.random.normal(shape, dtype=dtype,
                                   seed=model.seed_generator)

    def sample(self, model, kind, mean, log_var):
        """`mean + exp(log_var / 2) · ε` with `ε = noise(kind)`."""
        eps = self.noise(model, kind, ops.shape(mean), mean.dtype)
        return mean + ops.exp(0.5 * log_var) * ops.cast(eps, mean.dtype)

    def joint_outputs(self, model, z, q_mean, q_log_var, mean, log_var, clipped,
                      training):
        """What every member of the family returns: the joint sample `z`
        and posterior, the decoders' outputs from `z`, `KL(q ‖ p)` and
        `KL(q ‖ q_m)` per expert."""
        return {
            "z": z,
            "mean": q_mean,
            "log_var": q_log_var,
            "outputs": model.decode(z, training=training),
            "kl": kl_to_standard_normal(q_mean, q_log_var),
            "kl_experts": self.kl_to_experts(q_mean, q_log_var, mean,
                                             log_var),
            "log_var_clipped": clipped,
        }

    @staticmethod
    def experts(model, inputs, training):
        """`(mean, log_var)` `(B, M, D)` of the unimodal encoders, the
        log-variances clipped to the fusion's `log_var_clip` (as the fusion
        sees them), the `(B, M)` mask or `None`, and the `(B,)` share of
        clipped log-variance entries (logged as `log_var_clipped`)."""
        mean, log_var, _ = model.encode_experts(inputs, training)
        mask = base.batch_mask(inputs, mean.dtype)
        clipped = base.clipped_fraction(model, log_var, mask)
        log_var = ops.clip(log_var, *model.fusion.log_var_clip)
        return mean, log_var, mask, clipped

    @staticmethod
    def kl_to_experts(q_mean, q_log_var, mean, log_var):
        """`(B, M)`: `KL(q ‖ q_m)` for every expert `m`."""
        return kl_divergence(q_mean[:, None], q_log_var[:, None], mean,
                             log_var)

    @staticmethod
    def masked(values, mask, column=None):
        """`values` with absent entries set to 0 (`ops.where`: no NaN from
        placeholders reaches the loss or its gradient)."""
        if mask is None:
            return values
        m = mask if column is None else mask[:, column]
        return ops.where(m > 0, values, ops.zeros_like(values))

    @staticmethod
    def nll(model, name, params, inputs):
        """`(B,)` `−log p(x_name | params)` (summed over data dimensions)."""
        return -model.likelihoods[name].log_prob(params, inputs[name])
