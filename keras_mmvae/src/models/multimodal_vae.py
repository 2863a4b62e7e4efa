"""`MultimodalVAE`: a subclassed `keras.Model` for any number of modalities."""

import keras
import numpy as np
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src import objectives
from keras_mmvae.src.layers.barycenter_fusion import SUBSET_SAMPLING
from keras_mmvae.src.layers.barycenter_fusion import BarycenterFusion
from keras_mmvae.src.likelihoods import likelihood as likelihoods_lib
from keras_mmvae.src.models import serving
from keras_mmvae.src.models import validation
from keras_mmvae.src.models.replicas import ReplicaSeedGenerator
from keras_mmvae.src.models.replicas import share_of_global_mean
from keras_mmvae.src.ops import distributions
from keras_mmvae.src.ops.dtypes import at_least_float32
from keras_mmvae.src.ops.subsets import sample_components
from keras_mmvae.src.ops.subsets import select_components
from keras_mmvae.src.presets import PRESETS

CROSS_MODAL_STYLES = ("posterior", "prior")
RECONSTRUCTION_OPTIONS = ("joint_prior", "single_prior")
# What a preset may set, and the value without a preset.
PRESET_ARGUMENTS = {
    "beta": 1.0,
    "unimodal_elbos": False,
    "cross_modal_style": "posterior",
    "objective": "elbo",
    "distribution": "normal",
    "learn_prior": False,
    "learn_private_prior": False,
}
MASK_KEY = validation.MASK_KEY
# Built-in likelihoods score data of the decoder output's shape (or class
# ids with one axis fewer), so the model checks the data against it.
ELEMENTWISE_LIKELIHOODS = tuple(likelihoods_lib.LIKELIHOODS.values())


# The compile config's record of the backend that saved it.
JIT_COMPILE_BACKEND_KEY = "jit_compile_backend"
# Where Keras keeps backend-specific optimizer classes
# (`keras.src.backend.torch.optimizers.torch_adam.Adam` on torch).
_BACKEND_OPTIMIZER_MODULE = "keras.src.backend."


def _portable_optimizers(config):
    """`config` with every backend-specific optimizer class (a torch
    `Adam` saved on torch) named by its public `keras.optimizers` class,
    which each backend resolves to its own implementation; the
    hyper-parameters and, when loaded, the state carry over."""
    if isinstance(config, (list, tuple)):
        return type(config)(_portable_optimizers(c) for c in config)
    if not isinstance(config, dict):
        return config
    config = {k: _portable_optimizers(v) for k, v in config.items()}
    module = config.get("module")
    name = config.get("class_name")
    if (isinstance(module, str) and module.startswith(_BACKEND_OPTIMIZER_MODULE)
            and ".optimizer" in module and isinstance(name, str)
            and isinstance(getattr(keras.optimizers, name, None), type)):
        config["module"] = "keras.optimizers"
        config["registered_name"] = None
    return config


@keras_mmvae_export("keras_mmvae.MultimodalVAE")
class MultimodalVAE(keras.Model):
    """A multimodal VAE with barycentric fusion, trained with `fit`.

    One encoder per modality gives a diagonal Gaussian expert
    `q_m(z | x_m)`; a `BarycenterFusion` layer fuses the available experts
    into the (mixture) posterior; one decoder per modality maps `z` to the
    parameters of that modality's likelihood. Batches are dicts
    `{name: array}` with an optional `"mask"` `(B, M)` (1 = present; absent
    modalities keep a finite placeholder row).

    **Where the subsampling happens.** `call(inputs, training=...)` does the
    whole stochastic forward pass: encode every modality, fuse and sample
    (`BarycenterFusion.sample`: it applies the batch's mask, chooses for
    every example which mixture component (or, for joint fusions, which
    modality subset) it uses and reparameterises), decode all modalities.
    The choice is made with `keras.ops` and the model's own
    `keras.random.SeedGenerator`, so it runs on the device,
    inside the step that `fit` compiles (`jax.jit`, `tf.function`,
    `torch.compile`), and changes from step to step. Sampling in Python or
    NumPy instead would either be frozen at trace time or force a host
    round trip and a retrace per subset. `compute_loss` then turns the
    outputs into the loss, so Keras's own `train_step` works unchanged on
    every backend.

    `subset_sampling`:

    | value | mixtures (`moe`, `mopoe`, `mwb`) | joint fusions (`poe`, `w2`) |
    |---|---|---|
    | `"auto"` | `"stratified"` on complete data, `"random"` with a mask | all available modalities (the reference objective) |
    | `"stratified"` | MoPoE's contiguous blocks of the batch per component | blocks per modality subset (ablation) |
    | `"random"` | one component per example drawn from the mixture weights | a uniform random non-empty subset of the available modalities (modality dropout, an ablation) |
    | `None` | `z` from the mixture (same as `"random"`) | all available modalities |

    For joint fusions, random-subset training is an opt-in ablation:
    averaged over the subset draw its objective is exactly that of the
    matching subset mixture (`"w2"` with `"random"` trains MWB's objective),
    so the reference WB-VAE and MVAE objectives use all available
    modalities.

    Stratified selection needs complete data; with a mask it falls back to
    `"random"` over the valid components.

    **Objective.** `objective` names what is trained (`mm.objectives`);
    the default `"elbo"` is the loss −ELBO with one reparameterised sample
    per example: `Σ_m w_m E[−log p(x_m | z)] + β · KL`, reconstruction
    summed over data dimensions and averaged over the batch, absent
    modalities excluded. The KL is that of the chosen joint posterior, or
    for mixtures the weight-averaged analytic KL of every component (an
    upper bound of the mixture KL). With `unimodal_elbos` (preset `poe`,
    the MVAE baseline) each available modality also adds its own ELBO with
    `q = PoE(q_m, prior)`. With modality-specific (style) latents, encoders
    return four tensors `(mean, log_var, style_mean, style_log_var)`,
    decoder `m` gets `concat[z_style_m, z]`, and the KL becomes
    `β_content · KL_shared + β_style · Σ_m style_betas[m] · KL_style_m`
    (`β_content` weights the shared KL with or without style latents); each
    unimodal ELBO weights its KLs the same way,
    `β (β_content · KL(q_m‖p) + β_style · style_betas[m] · KL_style_m)`.

    **Sample weights.** `fit(..., sample_weight=w)` (and `evaluate`) weight
    every per-example term (reconstruction, KLs, unimodal ELBOs) by `w_b`
    and reduce as Keras reduces weighted losses: `Σ_b w_b l_b / B`. An
    example with weight 0 contributes neither loss nor gradient.

    **Mixed precision.** Under a `"mixed_bfloat16"` / `"mixed_float16"`
    policy the networks compute in the half type while the fusion, the
    KLs and the likelihood sums run in float32; variables stay float32.

    Args:
        encoders: Dict name → layer mapping a batch of that modality to
            `(mean, log_var)` (each `(B, D)`), or to
            `(mean, log_var, style_mean, style_log_var)` for style latents.
        decoders: Dict name → layer mapping `z` `(B, D)` (or
            `(B, style_dim + D)`) to the likelihood parameters.
        likelihoods: Dict name → `mm.likelihoods.Likelihood` or one of
            `"laplace"`, `"gaussian"`, `"bernoulli"`, `"categorical"`.
        fusion: A preset name (`"poe"`, `"moe"`, `"w2"`, `"mopoe"`,
            `"mwb"`) or a `BarycenterFusion` layer.
        latent_dim: Shared latent size; inferred from the encoders if `None`.
        beta: KL weight `β ≥ 0` (default 1, or the preset's: 2.5 for
            `"mvtcae"` and `"crmvae"`, MultiVae's defaults).
        reconstruction_weights: Dict name → `w_m` (default 1 each), or
            `"balanced"`: MoPoE's rule `w_m = max_k n_k / n_m`, `n_m` the
            number of elements modality `m`'s likelihood scores per example
            (pixels; characters for a categorical, not characters ×
            alphabet), resolved when the model is built.
        subset_sampling: `"auto"`, `"stratified"`, `"random"` or `None`
            (table above).
        unimodal_elbos: Add one ELBO per modality (MVAE). `None`: on for the
            `"poe"` preset only.
        beta_content: Weight of the shared KL (in the joint and the
            unimodal ELBOs).
        beta_style: Weight of the style KLs.
        style_betas: Dict name → per-modality style KL weight (default 1).
        seed: Seed of the model's `SeedGenerator` (its sampling). Initial
            weights use Keras's global seed: call
            `keras.utils.set_random_seed(seed)` before building the layers
            to reproduce a whole run.
        kl_warmup_steps: KL warm-up (β annealing, as MultiVae offers): the
            KL weight grows linearly from 0 to `beta` over this many
            training steps (counted by the model variable
            `kl_warmup_step`, saved with the model); 0 = none.
        cross_modal_style: With style latents, what decoder `m` gets when
            `m` is outside the subset (mixture component) an example uses:
            `"posterior"` (MoPoE: a sample of `m`'s own style posterior,
            always) or `"prior"` (MMVAE+: a sample of `N(0, I)`, so the
            shared latent must carry what `m` has in common with the
            subset; `m`'s own style is used only when `m` is in it).
        objective: What is trained: a name of `mm.objectives.OBJECTIVES`
            (default `"elbo"`; `"iwae"`, `"dreg"`, ...), its config dict
            `{"name": ..., **options}`, or an `mm.objectives.Objective`.
        distribution: The latent family of the encoders' heads and the
            prior: `"normal"` (default) or `"laplace"` (MMVAE's
            `laplace_with_softmax`: the head's second output gives the
            scale `softmax(·) · D + 1e-6`). Laplace experts have no
            barycenter here, so it needs the `"moe"` fusion.
        learn_prior: Learn the scale of the shared prior (a model variable
            `prior_log_var`, in the head's parameterisation; MMVAE).
        learn_private_prior: Learn the scale of each modality's auxiliary
            prior `r_m` over its private latent (MMVAE+).
        reconstruction_option: Where an absent modality's private latent
            comes from when generating: `"joint_prior"` (the prior `p`) or
            `"single_prior"` (its auxiliary prior `r_m`), as in MMVAE+.
        joint_encoder: A layer mapping the dict of all modalities to
            `(mean, log_var)`: the joint encoder of objectives that need
            one (JMVAE).
        **kwargs: Standard `keras.Model` arguments (`name`, ...).

    Example:
    ```python
    import numpy as np
    import keras
    import keras_mmvae as mm

    vae = mm.MultimodalVAE(
        encoders={"a": mm.layers.MLPEncoder(4), "b": mm.layers.MLPEncoder(4)},
        decoders={"a": mm.layers.MLPDecoder((6,)),
                  "b": mm.layers.MLPDecoder((3,))},
        likelihoods={"a": "gaussian", "b": "bernoulli"},
        fusion="mwb",
        seed=0,
    )
    data = {"a": np.random.normal(size=(64, 6)).astype("float32"),
            "b": np.random.randint(0, 2, size=(64, 3)).astype("float32")}
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vae.fit(data, batch_size=32, epochs=1, verbose=0)
    mean, log_var = vae.encode({"a": data["a"][:5]})  # "b" is missing
    assert mean.shape == (5, 4)
    ```

    References:
        Qiu et al., "Multimodal Variational Autoencoder: A Barycentric View",
        AAAI 2025. Sutter et al., "Generalized Multimodal ELBO", ICLR 2021.
        Wu & Goodman, NeurIPS 2018 (MVAE). Shi et al., NeurIPS 2019 (MMVAE).
    """

    def __init__(
        self,
        encoders,
        decoders,
        likelihoods,
        fusion="mwb",
        latent_dim=None,
        beta=None,
        reconstruction_weights=None,
        subset_sampling="auto",
        unimodal_elbos=None,
        beta_content: float = 1.0,
        beta_style: float = 1.0,
        style_betas=None,
        seed=None,
        kl_warmup_steps: int = 0,
        cross_modal_style=None,
        objective=None,
        distribution=None,
        learn_prior=None,
        learn_private_prior=None,
        reconstruction_option="joint_prior",
        joint_encoder=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(encoders, dict) or not encoders:
            raise ValueError(
                "`encoders` must be a non-empty dict {modality name: layer}; "
                f"got {encoders!r}."
            )
        names = list(encoders)
        for arg, value in (("decoders", decoders),
                           ("likelihoods", likelihoods)):
            if not isinstance(value, dict) or sorted(value) != sorted(names):
                keys = sorted(value) if isinstance(value, dict) else value
                raise ValueError(
                    f"`{arg}` must be a dict with exactly the encoder keys "
                    f"{names}; got keys {keys}."
                )
        if MASK_KEY in names:
            raise ValueError(
                f"{MASK_KEY!r} is reserved for the availability mask; "
                "rename that modality."
            )
        if subset_sampling not in SUBSET_SAMPLING:
            raise ValueError(
                f"`subset_sampling` must be one of {SUBSET_SAMPLING}; got "
                f"{subset_sampling!r}."
            )
        for arg, value in (("beta", 1.0 if beta is None else beta),
                           ("beta_content", beta_content),
                           ("beta_style", beta_style)):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"`{arg}` must be >= 0; got {value}.")
        self.modality_names = names
        self.encoders = {n: encoders[n] for n in names}
        self.decoders = {n: decoders[n] for n in names}
        self.likelihoods = {
            n: likelihoods_lib.get(likelihoods[n]) for n in names
        }
        # "balanced" is resolved in `build`, from the input shapes.
        self.balanced_reconstruction = reconstruction_weights == "balanced"
        self.reconstruction_weights = None if \
            self.balanced_reconstruction else self._per_modality(
                reconstruction_weights, "reconstruction_weights")
        self.style_betas = self._per_modality(style_betas, "style_betas")
        self.fusion_spec = fusion
        if isinstance(fusion, str):
            if fusion not in PRESETS:
                raise ValueError(
                    f"Unknown fusion {fusion!r}; use a preset "
                    f"{sorted(PRESETS)} or a `mm.BarycenterFusion` layer."
                )
            self.fusion = BarycenterFusion.from_preset(
                fusion, modality_names=names, name="fusion"
            )
            preset_defaults = PRESETS[fusion][1]
        elif isinstance(fusion, BarycenterFusion):
            self.fusion = fusion
            preset_defaults = {}
        else:
            raise ValueError(
                "`fusion` must be a preset name or a `mm.BarycenterFusion`; "
                f"got {fusion!r}."
            )
        given = dict(beta=beta, unimodal_elbos=unimodal_elbos,
                     cross_modal_style=cross_modal_style, objective=objective,
                     distribution=distribution, learn_prior=learn_prior,
                     learn_private_prior=learn_private_prior)
        resolved = {key: preset_defaults.get(key, default)
                    if given[key] is None else given[key]
                    for key, default in PRESET_ARGUMENTS.items()}
        self.unimodal_elbos = bool(resolved["unimodal_elbos"])
        cross_modal_style = resolved["cross_modal_style"]
        self.distribution = distributions.check_distribution(
            resolved["distribution"])
        self.learn_prior = bool(resolved["learn_prior"])
        self.learn_private_prior = bool(resolved["learn_private_prior"])
        if reconstruction_option not in RECONSTRUCTION_OPTIONS:
            raise ValueError(
                "`reconstruction_option` must be one of "
                f"{RECONSTRUCTION_OPTIONS}; got {reconstruction_option!r}.")
        self.reconstruction_option = reconstruction_option
        if self.distribution == "laplace" and self.fusion.mode != "moe":
            raise ValueError(
                'distribution="laplace" needs the "moe" fusion (or a preset '
                'built on it, such as "mmvae"): PoE and W2 barycenters are '
                "defined here for Gaussian experts only. Use "
                'distribution="normal" with this fusion.')
        self.joint_encoder = joint_encoder
        self.latent_dim = latent_dim
        self.beta = float(resolved["beta"])
        if isinstance(kl_warmup_steps, bool) or int(kl_warmup_steps) != \
                kl_warmup_steps or kl_warmup_steps < 0:
            raise ValueError(
                "`kl_warmup_steps` must be a non-negative int; got "
                f"{kl_warmup_steps!r}."
            )
        self.kl_warmup_steps = int(kl_warmup_steps)
        if cross_modal_style not in CROSS_MODAL_STYLES:
            raise ValueError(
                f"`cross_modal_style` must be one of {CROSS_MODAL_STYLES}; "
                f"got {cross_modal_style!r}."
            )
        self.cross_modal_style = cross_modal_style
        if self.kl_warmup_steps:
            # Training steps taken, counted in `call` (a model variable, so
            # it is saved with the model and works in every backend's
            # stateless step).
            self.kl_warmup_step = self.add_weight(
                shape=(), initializer="zeros", trainable=False,
                dtype="float32", name="kl_warmup_step")
        self.beta_content = float(beta_content)
        self.beta_style = float(beta_style)
        self.subset_sampling = subset_sampling
        self.seed = seed
        self.seed_generator = ReplicaSeedGenerator(seed)
        self.style_dims = None
        self.input_shapes = None
        self.reconstruction_tracker = keras.metrics.Mean(
            name="reconstruction_loss"
        )
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.clip_tracker = keras.metrics.Mean(name="log_var_clipped")
        self.modality_trackers = [
            keras.metrics.Mean(name=f"reconstruction_loss_{n}") for n in names
        ]
        self.objective = objectives.get(resolved["objective"])
        if isinstance(self.objective, objectives.ELBO) and (
                self.distribution != "normal" or self.learn_prior
                or self.learn_private_prior):
            # The ELBO's KLs and samples are those of Gaussian posteriors
            # and the fixed prior N(0, I): it would silently ignore these.
            raise ValueError(
                f"distribution={self.distribution!r}, "
                f"learn_prior={self.learn_prior} and learn_private_prior="
                f"{self.learn_private_prior} need an importance-weighted "
                "objective: pass objective=\"dreg\" or \"iwae\" (the "
                "\"mmvae\" presets' default), or keep objective=\"elbo\" "
                "with distribution=\"normal\", learn_prior=False and "
                "learn_private_prior=False.")
        self.objective.validate(self)

    def _per_modality(self, values, arg):
        if values is None:
            return {n: 1.0 for n in self.modality_names}
        if not isinstance(values, dict) or set(values) - set(
            self.modality_names
        ):
            raise ValueError(
                f"`{arg}` must be a dict keyed by modality names "
                f"{self.modality_names}; got {values!r}."
            )
        return {n: float(values.get(n, 1.0)) for n in self.modality_names}

    # ------------------------------------------------------------------ build
    @property
    def num_modalities(self):
        return len(self.modality_names)

    @property
    def uses_style(self):
        return bool(self.style_dims) and any(self.style_dims.values())

    def build(self, input_shape):
        if not isinstance(input_shape, dict):
            raise ValueError(
                "Build a MultimodalVAE with a dict {modality name: shape}; "
                f"got {input_shape!r}."
            )
        missing = [n for n in self.modality_names if n not in input_shape]
        if missing:
            raise ValueError(
                f"Cannot build: no input shape for modalities {missing}."
            )
        self.input_shapes = {
            n: [None] + list(input_shape[n])[1:] for n in self.modality_names
        }
        latent_dims, self.style_dims = {}, {}
        for name in self.modality_names:
            validation.check_network_shapes(
                name, self.input_shapes[name],
                validation.declared_input_shape(self.encoders[name]), None)
            symbolic = keras.KerasTensor(tuple(self.input_shapes[name]))
            out = self.encoders[name](symbolic)
            if not isinstance(out, (tuple, list)) or len(out) not in (2, 4):
                raise ValueError(
                    f"Encoder {name!r} must return (mean, log_var) or (mean, "
                    "log_var, style_mean, style_log_var); got "
                    f"{type(out).__name__} of length "
                    f"{len(out) if isinstance(out, (tuple, list)) else 1}."
                )
            latent_dims[name] = out[0].shape[-1]
            self.style_dims[name] = out[2].shape[-1] if len(out) == 4 else 0
        if len(set(latent_dims.values())) != 1:
            raise ValueError(
                "All encoders must give the same latent size; got "
                f"{latent_dims}."
            )
        dim = next(iter(latent_dims.values()))
        if self.latent_dim is not None and self.latent_dim != dim:
            raise ValueError(
                f"`latent_dim={self.latent_dim}` but the encoders give "
                f"{dim}-dimensional means."
            )
        self.latent_dim = int(dim)
        scored = {}
        for name in self.modality_names:
            width = self.style_dims[name] + self.latent_dim
            params = self.decoders[name](keras.KerasTensor((None, width)))
            if isinstance(self.likelihoods[name],
                          ELEMENTWISE_LIKELIHOODS) and hasattr(params, "shape"):
                validation.check_network_shapes(
                    name, self.input_shapes[name], None, params.shape)
            scored[name] = self._scored_size(name, params)
        if self.balanced_reconstruction:
            largest = max(scored.values())
            self.reconstruction_weights = {
                n: largest / scored[n] for n in self.modality_names}
        if not self.fusion.built:
            self.fusion.build((None, self.num_modalities, self.latent_dim))
        if self.joint_encoder is not None:
            self.joint_encoder({n: keras.KerasTensor(
                tuple(self.input_shapes[n])) for n in self.modality_names})
        self._build_priors()
        self.objective.build(self)
        self.built = True

    def _build_priors(self):
        """The learned prior scales (zeros: unit scale for either family)."""
        if self.learn_prior:
            self.prior_log_var = self.add_weight(
                shape=(self.latent_dim,), initializer="zeros",
                name="prior_log_var")
        self.private_prior_log_vars = {}
        if self.learn_private_prior:
            if not self.uses_style:
                raise ValueError(
                    "`learn_private_prior=True` needs private (style) "
                    "latents: encoders returning (mean, log_var, style_mean, "
                    "style_log_var).")
            for name in self.modality_names:
                if self.style_dims[name]:
                    self.private_prior_log_vars[name] = self.add_weight(
                        shape=(self.style_dims[name],), initializer="zeros",
                        name=f"private_prior_log_var_{name}")

    def prior_scale(self, dtype="float32"):
        """`(D,)` scale of the shared prior `p(z)`: unit (in the head's
        parameterisation) unless learned."""
        log_var = self.prior_log_var if self.learn_prior else ops.zeros(
            (self.latent_dim,))
        return distributions.latent_scale(self.distribution,
                                          ops.cast(log_var, dtype))

    def shared_prior_private_scale(self, name, dtype="float32"):
        """`(Dw,)` scale of `p` on modality `name`'s private latent."""
        return distributions.latent_scale(
            self.distribution, ops.zeros((self.style_dims[name],), dtype))

    def private_prior_scale(self, name, dtype="float32"):
        """`(Dw,)` scale of modality `name`'s auxiliary prior `r_m`."""
        if name not in self.private_prior_log_vars:
            return self.shared_prior_private_scale(name, dtype)
        return distributions.latent_scale(
            self.distribution,
            ops.cast(self.private_prior_log_vars[name], dtype))

    def _prior_sample(self, shape, scale, dtype, seed=None):
        """Prior draws from `seed` (default: the model's generator);
        `N(0, I)` exactly as before when nothing is learned."""
        seed = self.seed_generator if seed is None else seed
        if self.distribution == "normal" and not (
                self.learn_prior or self.learn_private_prior):
            return keras.random.normal(shape, dtype=dtype, seed=seed)
        return distributions.standard_noise(
            self.distribution, shape, dtype, seed=seed) * scale

    def _scored_size(self, name, params):
        """Elements of one example that modality `name`'s likelihood scores."""
        if isinstance(self.likelihoods[name], likelihoods_lib.Categorical):
            return int(np.prod(params.shape[1:-1]))  # one per position
        return int(np.prod(self.input_shapes[name][1:]))

    def get_build_config(self):
        return {"input_shape": self.input_shapes}

    def build_from_config(self, config):
        if config and config.get("input_shape"):
            self.build(config["input_shape"])

    def _ensure_built(self, inputs):
        if not self.built:
            self.build({n: tuple(ops.shape(v)) for n, v in inputs.items()})

    # ------------------------------------------------------------ components
    def encode_experts(self, inputs, training=False):
        """Runs every encoder: `(mean, log_var)` `(B, M, D)` and styles.

        Returns:
            `(mean, log_var, styles)` where `styles` is a dict name →
            `(style_mean, style_log_var)` (empty without style latents).
        """
        means, log_vars, styles = [], [], {}
        for name in self.modality_names:
            out = self.encoders[name](inputs[name], training=training)
            out = [at_least_float32(tensor) for tensor in out]
            means.append(out[0])
            log_vars.append(out[1])
            if len(out) == 4:
                clip = self.fusion.log_var_clip
                styles[name] = (out[2], ops.clip(out[3], *clip))
        return ops.stack(means, axis=1), ops.stack(log_vars, axis=1), styles

    def decode(self, z, styles=None, training=False, seed=None):
        """Decodes `z` `(B, D)` into every modality's likelihood parameters.

        `styles`: dict name → `(B, style_dim)` style samples (required when
        the model has style latents; `None`, or a modality left out, draws
        them from their prior, in modality order, with `seed`: a
        `keras.random.SeedGenerator` or int, default the model's
        `seed_generator`).
        """
        outputs = {}
        for name in self.modality_names:
            outputs[name] = self.decoders[name](
                self.decoder_input(name, z, styles, seed=seed),
                training=training,
            )
        return outputs

    def decoder_input(self, name, z, styles, seed=None):
        """Decoder `name`'s input: `concat[style, z]` with style latents
        (a prior sample drawn with `seed` where `styles` has none), else
        `z`."""
        dim = self.style_dims.get(name, 0) if self.style_dims else 0
        if not dim:
            return z
        if styles is None or name not in styles:
            scale = (self.private_prior_scale(name, z.dtype)
                     if self.reconstruction_option == "single_prior"
                     else self.shared_prior_private_scale(name, z.dtype))
            style = self._prior_sample((ops.shape(z)[0], dim), scale,
                                       z.dtype, seed=seed)
        else:
            style = styles[name]
        return ops.concatenate([style, z], axis=-1)

    # ------------------------------------------------------------ forward
    def call(self, inputs, training=False):
        validation.check_structure(inputs, self.modality_names,
                                   self.input_shapes)
        return self.objective.forward(self, inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                     training=True):
        # The batch size that `objectives.base.track` weighs the logged
        # parts by, as Keras's trainer weighs `loss`.
        self._tracked_batch_size = validation.batch_size_of(x)
        try:
            return share_of_global_mean(
                self.objective.loss(self, x, y_pred, sample_weight))
        finally:
            self._tracked_batch_size = None

    # ------------------------------------------------------------ fit & co.
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None,
                metrics=None, weighted_metrics=None, **kwargs):
        """`keras.Model.compile` without `loss` and `metrics`.

        The objective is the model's own (the negative ELBO of its fusion,
        set by `beta`, `reconstruction_weights` and the likelihoods), and
        `fit`/`evaluate` already log its parts (`reconstruction_loss_<m>`,
        `kl_loss`); the multimodal metrics are `mm.evaluation`'s
        (`EvaluationCallback`). Passing `loss`, `loss_weights`, `metrics`
        or `weighted_metrics` raises a `ValueError` instead of being
        ignored.
        """
        if loss is not None or loss_weights is not None:
            raise ValueError(
                "MultimodalVAE trains its own objective (the negative ELBO); "
                f"compile(loss={loss!r}, loss_weights={loss_weights!r}) "
                "would be ignored. Remove `loss`/`loss_weights`; weigh the "
                "objective with the model's `beta` and "
                "`reconstruction_weights` instead.")
        if metrics is not None or weighted_metrics is not None:
            raise ValueError(
                "compile(metrics=...) is not supported by MultimodalVAE: "
                "there is no single prediction to compare with a target. "
                "fit/evaluate log `reconstruction_loss_<modality>` and "
                "`kl_loss`; for coherence, latent probes and log-likelihoods "
                "pass `mm.evaluation.EvaluationCallback(...)` to `fit`.")
        super().compile(optimizer=optimizer, **kwargs)
        # The `keras.distribution` (JAX) of a model compiled in its scope:
        # `fit` builds the model under it, as `tf.distribute` builds under
        # the strategy the model was created in.
        self._compile_distribution = keras.distribution.distribution()

    def get_compile_config(self):
        config = dict(super().get_compile_config() or {})
        if config:
            # `jit_compile` means XLA on JAX/TF but torch.compile on torch:
            # a loading backend honours it only if it saved it.
            config[JIT_COMPILE_BACKEND_KEY] = keras.backend.backend()
        return config

    def compile_from_config(self, config):
        # Keras skips this for models that override `compile`: restore the
        # optimizer (and its state) of a saved model ourselves, on the
        # backend that loads it (files are backend-independent).
        config = dict(config)
        saved_on = config.pop(JIT_COMPILE_BACKEND_KEY, None)
        optimizer = config.get("optimizer")
        module = optimizer.get("module") if isinstance(optimizer, dict) else None
        if saved_on is None and isinstance(module, str) and module.startswith(
                _BACKEND_OPTIMIZER_MODULE):  # an older file, saved on torch
            saved_on = module[len(_BACKEND_OPTIMIZER_MODULE):].split(".")[0]
        backend = keras.backend.backend()
        if "jit_compile" in config and (
                (saved_on is not None and saved_on != backend) or
                # Older files: `True` is JAX's default, never torch's.
                (saved_on is None and backend == "torch"
                 and config["jit_compile"] is True)):
            config["jit_compile"] = "auto"  # this backend's own default
        config = _portable_optimizers(config)
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _build_scope(self):
        """Where `fit` builds an unbuilt model: in the scope of the
        distribution it was set up in (created, on TF, or compiled, with
        `keras.distribution`), so that the keras.io pattern, "build and
        compile in `strategy.scope()`, `fit` outside", creates the
        variables where the training step expects them."""
        import contextlib

        if keras.backend.backend() == "tensorflow":
            return self.distribute_strategy.scope()
        distribution = getattr(self, "_compile_distribution", None)
        if distribution is not None and (
                keras.distribution.distribution() is None):
            return distribution.scope()
        return contextlib.nullcontext()

    def _built_input_shapes(self):
        return self.input_shapes if self.built else None

    def fit(self, x=None, y=None, *args, **kwargs):
        x = validation.checked_data(
            x, self.modality_names, self._built_input_shapes,
            needs_labels=kwargs.get("class_weight") is not None and y is None)
        if not self.built:
            with self._build_scope():
                x = validation.build_from_data(self, x)
        y = validation.target_for_sample_weight(x, y, kwargs)
        if kwargs.get("validation_data") is not None:
            kwargs["validation_data"] = validation.checked_validation_data(
                kwargs["validation_data"], self.modality_names,
                self._built_input_shapes)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        x = validation.checked_data(x, self.modality_names,
                                    self._built_input_shapes)
        y = validation.target_for_sample_weight(x, y, kwargs)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        x = validation.checked_data(x, self.modality_names,
                                    self._built_input_shapes)
        return super().predict(x, *args, **kwargs)

    # ------------------------------------------------------------ inference
    def encode(self, inputs, mask=None, moe_posterior="component"):
        """Posterior `(mean, log_var)` `(B, D)` given the available modalities.

        For subset mixtures this is the fused component of exactly the
        available set `A` (the MoPoE convention). For `"moe"`, by default
        one available expert per example, chosen by its position in the
        batch as MoPoE's evaluation does (`moe_posterior="component"`), or
        the moment-matched Gaussian of the mixture of the available experts
        (`moe_posterior="moment_matched"`); see
        `mm.BarycenterFusion.posterior`. Modalities left out of `inputs`
        count as absent.

        Args:
            inputs: Dict name → array (a subset of the modalities is fine).
            mask: Optional `(B, M)` availability; overrides `inputs["mask"]`.
            moe_posterior: `"component"` or `"moment_matched"` (`"moe"`
                fusion only).
        """
        full = validation.completed_inputs(self, inputs, mask)
        mean, log_var, _ = self.encode_experts(full)
        return self.fusion.posterior(mean, log_var, mask=full[MASK_KEY],
                                     moe_posterior=moe_posterior)

    def generate(self, num_samples, seed=None):
        """Decoded means of every modality for `z` drawn from the prior.

        The prior is `N(0, I)`, or the Laplace / learned-scale prior of
        `distribution` and `learn_prior`. Style latents, if any, are drawn
        from their prior too (see `reconstruction_option`).

        Args:
            num_samples: Number of samples.
            seed: A `keras.random.SeedGenerator` or int for the draws
                (default: the model's `seed_generator`).

        Returns:
            Dict name → array with `num_samples` rows.
        """
        if not self.built:
            raise ValueError("Build or train the model before `generate`.")
        return self.prior_decode_means(int(num_samples), seed=seed)

    def conditional_generate(self, inputs, mask=None, seed=None):
        """Decoded means of every modality from one posterior sample.

        The posterior is that of the available modalities (see `encode`);
        for `"moe"` one available expert is drawn per example. Style latents
        are drawn from their prior. The inputs are checked and completed
        (absent modalities filled in), then `conditional_decode_means`
        runs.

        Args:
            inputs: Dict name → array (a subset of the modalities is fine).
            mask: Optional `(B, M)` availability; overrides `inputs["mask"]`.
            seed: A `keras.random.SeedGenerator` or int for the draws
                (default: the model's `seed_generator`).
        """
        full = validation.completed_inputs(self, inputs, mask)
        return self.conditional_decode_means(full, full[MASK_KEY], seed=seed)

    def decode_means(self, z, seed=None):
        """Likelihood means of every modality for codes `z` `(B, D)`.

        Style latents, if any, are drawn from their prior with `seed`
        (default: the model's `seed_generator`). Traceable: usable inside
        a compiled function.
        """
        outputs = self.decode(z, styles=None, seed=seed)
        return {
            n: self.likelihoods[n].mean(outputs[n])
            for n in self.modality_names
        }

    def prior_decode_means(self, batch_size, seed=None):
        """Decoded means of `batch_size` draws `z` from the prior.

        The computation of `generate` without its checks: traceable, for
        compiled functions (the evaluation's steps); `batch_size` may be a
        traced batch dimension. Draws `z`, then the styles, with `seed`
        (default: the model's `seed_generator`).
        """
        z = self._prior_sample((batch_size, self.latent_dim),
                               self.prior_scale(), keras.config.floatx(),
                               seed=seed)
        return self.decode_means(z, seed=seed)

    def posterior_draw(self, mean, log_var, mask=None, seed=None):
        """One `z` `(B, D)` of the posterior of the available experts.

        `fusion.posterior_sample` (for `"moe"` one available expert drawn
        per example); with `distribution="laplace"` the drawn expert's
        Laplace. Draws with `seed` (default: the model's `seed_generator`).
        """
        seed = self.seed_generator if seed is None else seed
        if self.distribution != "laplace":
            z, _ = self.fusion.posterior_sample(mean, log_var, mask=mask,
                                                seed=seed)
            return z
        # One available Laplace expert per example ("moe" only).
        fused = self.fusion(mean, log_var, mask=mask)
        component = sample_components(fused["weight"], seed=seed)
        loc, logits = select_components(fused, component)
        return loc + distributions.latent_scale("laplace", logits) * \
            distributions.standard_noise("laplace", ops.shape(loc),
                                         loc.dtype, seed=seed)

    def conditional_decode_means(self, inputs, mask, seed=None):
        """Decoded means from one posterior sample given `mask`.

        The computation of `conditional_generate` without its checks:
        traceable, for compiled functions (the evaluation's steps, the
        serving endpoint). `inputs` must hold every modality (absent ones
        any finite placeholder); the encoders run on all of them and
        `mask` `(B, M)` selects the available ones. Draws `z` (see
        `posterior_draw`), then the styles, with `seed` (default: the
        model's `seed_generator`).
        """
        mean, log_var, _ = self.encode_experts(
            {n: inputs[n] for n in self.modality_names})
        z = self.posterior_draw(mean, log_var, mask=mask, seed=seed)
        return self.decode_means(z, seed=seed)

    def export(self, filepath, format="tf_saved_model", verbose=None,
               **kwargs):
        """Writes a SavedModel with the `encode`, `decode` and
        `conditional_generate` endpoints (`mm.models.export_for_serving`).

        `call` returns nested training quantities, so Keras's generic
        export of `call` does not apply; other formats are not supported.
        """
        if format != "tf_saved_model":
            raise ValueError(
                f"Only format='tf_saved_model' is supported; got {format!r}. "
                "See `mm.models.export_for_serving`."
            )
        return serving.export_for_serving(self, filepath,
                                          verbose=bool(verbose), **kwargs)

    # ------------------------------------------------------------ config
    # Keras does not save `SeedGenerator` states; the model saves its own so
    # that a reloaded model continues the run's random draws (exact resume).
    SEED_STATE = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self.SEED_STATE] = self.seed_generator.state

    def load_own_variables(self, store):
        keys = list(store.keys())
        own = {k: store[k] for k in keys if k != self.SEED_STATE}
        super().load_own_variables(own)
        if self.SEED_STATE in keys:  # absent in older files: keep the seed
            self.seed_generator.state.assign(
                np.asarray(store[self.SEED_STATE]))

    def get_config(self):
        fusion = self.fusion_spec
        if not isinstance(fusion, str):
            fusion = keras.layers.serialize(self.fusion)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoders": {n: keras.layers.serialize(layer)
                         for n, layer in self.encoders.items()},
            "decoders": {n: keras.layers.serialize(layer)
                         for n, layer in self.decoders.items()},
            "likelihoods": {
                n: keras.saving.serialize_keras_object(lik)
                for n, lik in self.likelihoods.items()
            },
            "fusion": fusion,
            "latent_dim": self.latent_dim,
            "beta": self.beta,
            "reconstruction_weights": "balanced"
            if self.balanced_reconstruction
            else dict(self.reconstruction_weights),
            "subset_sampling": self.subset_sampling,
            "unimodal_elbos": self.unimodal_elbos,
            "beta_content": self.beta_content,
            "beta_style": self.beta_style,
            "style_betas": dict(self.style_betas),
            "seed": self.seed,
            "kl_warmup_steps": self.kl_warmup_steps,
            "cross_modal_style": self.cross_modal_style,
            "objective": self.objective.get_config(),
            "distribution": self.distribution,
            "learn_prior": self.learn_prior,
            "learn_private_prior": self.learn_private_prior,
            "reconstruction_option": self.reconstruction_option,
            "joint_encoder": None if self.joint_encoder is None
            else keras.layers.serialize(self.joint_encoder),
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoders", "decoders"):
            config[key] = {n: keras.layers.deserialize(c)
                           for n, c in config[key].items()}
        config["likelihoods"] = {
            n: keras.saving.deserialize_keras_object(c)
            for n, c in config["likelihoods"].items()
        }
        if isinstance(config["fusion"], dict):
            config["fusion"] = keras.layers.deserialize(config["fusion"])
        if config.get("joint_encoder") is not None:
            config["joint_encoder"] = keras.layers.deserialize(
                config["joint_encoder"])
        return cls(**config)
