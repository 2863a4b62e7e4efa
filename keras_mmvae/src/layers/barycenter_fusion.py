"""The `BarycenterFusion` layer: PoE, MoE, W2 and their subset mixtures."""

import keras
import numpy as np
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.ops.dtypes import HALF_DTYPES
from keras_mmvae.src.ops.dtypes import at_least_float32
from keras_mmvae.src.ops.dtypes import availability
from keras_mmvae.src.ops.fusion import mixture_log_prob
from keras_mmvae.src.ops.fusion import moment_match
from keras_mmvae.src.ops.fusion import product_of_experts
from keras_mmvae.src.ops.fusion import w2_barycenter
from keras_mmvae.src.ops.fusion import w2_barycenter_kl
from keras_mmvae.src.ops.gaussian import gaussian_log_prob
from keras_mmvae.src.ops.gaussian import kl_to_standard_normal
from keras_mmvae.src.ops.gaussian import reparameterize
from keras_mmvae.src.ops.subsets import choose_components
from keras_mmvae.src.ops.subsets import choose_subsets
from keras_mmvae.src.ops.subsets import modality_subsets
from keras_mmvae.src.ops.subsets import sample_components
from keras_mmvae.src.ops.subsets import select_components
from keras_mmvae.src.ops.subsets import stratified_selection
from keras_mmvae.src.ops.subsets import subset_matrix
from keras_mmvae.src.presets import PRESETS

MODES = ("poe", "moe", "w2")
MOE_POSTERIORS = ("component", "moment_matched")
SUBSET_SAMPLING = ("auto", "stratified", "random", None)


@keras_mmvae_export(
    ["keras_mmvae.BarycenterFusion", "keras_mmvae.layers.BarycenterFusion"]
)
class BarycenterFusion(keras.layers.Layer):
    """Fuses unimodal Gaussian posteriors into a (mixture) posterior.

    Each of the `M` encoders gives a diagonal Gaussian expert
    `q_m = N(mean_m, diag exp(log_var_m))`. This layer combines the experts
    that are available in each example into a mixture of `S` Gaussian
    components. Inside one component the experts are fused by `mode`:

    | `mode` | fusion | divergence it minimises |
    |---|---|---|
    | `"poe"` | product of experts (precisions add) | reverse KL |
    | `"moe"` | mixture of the experts (components = singletons) | forward KL |
    | `"w2"` | `mean = Σ λ̄ mean_m`, `std = Σ λ̄ std_m` | squared 2-Wasserstein |

    `subsets` chooses the components: `"joint"` is one component fusing all
    available experts (PoE → MVAE, W2 → WB-VAE); `"all"` is the uniform
    mixture over every non-empty subset of modalities, each fused by `mode`
    (PoE → MoPoE, W2 → MWB-VAE); an explicit list of subsets gives any other
    mixture. Components come ordered by subset size, then in
    `itertools.combinations` order: singletons first, the full set last.

    Masks are per example. A masked expert gets weight 0: its values never
    change the output and it receives exactly zero gradient. A subset
    component is valid only when all its modalities are available; the
    mixture weights are uniform over the valid components. An example with
    no available modality gets the prior `N(0, I)`, with all its weight on
    component 0.

    Besides the fused mixture (`call`), the layer owns every draw of the
    shared latent: `sample` is the training draw (which component or
    modality subset each example uses, `z` and the KL), `posterior` the
    single Gaussian given the available modalities and `posterior_sample`
    a draw from that posterior (for `"moe"`, from the mixture of the
    available experts) with its log density. Callers pass the seed
    generator, so the model and the evaluation metrics draw from theirs.

    Mathematical details:
        PoE: `Λ̃ = [I] + Σ_m w_m r_m Λ_m`, `mean = Λ̃⁻¹ Σ_m w_m r_m Λ_m mean_m`
        (sum of precisions; the MVAE product). With normalised weights
        `λ̄` it is the reverse-KL barycenter `argmin_q Σ λ_m KL(q ‖ q_m)`, the
        precision average. W2: for diagonal Gaussians `W2²` is the squared
        Euclidean distance between `(mean, std)` vectors, so the barycenter
        averages means and standard deviations with `λ̄`. MoE: the mixture
        `Σ λ̄_m q_m` minimises `Σ λ_m KL(q_m ‖ q)` over all densities.
        All sums run in log-sum-exp form on clipped log-variances.

    Args:
        mode: `"poe"`, `"moe"` or `"w2"`.
        subsets: `"joint"`, `"all"` or a list of tuples of modality indices
            or names (names need `modality_names`). `mode="moe"` takes
            `"joint"` only: its components are the singletons.
        prior_expert: For `"poe"`/`"w2"`: `True` adds `N(0, I)` as one more
            expert in every component; `"full"` only in the component that
            fuses all `M` modalities (the MoPoE convention); `False` never.
        weights: `None` (uniform), a list of `M` non-negative floats, or
            `"learned"` (trainable logits, softmax-normalised).
        normalize: Normalise PoE weights over the available experts (the
            reverse-KL barycenter). `None` means: normalise iff `weights` is
            given. W2 and MoE are always normalised.
        modality_names: Optional list of the `M` modality names, used to
            resolve named subsets.
        log_var_clip: `(low, high)` clip applied to expert log-variances
            before fusion (default `(-10, 10)`; docs/concepts/barycenters.md,
            "Numerics"). A clipped
            entry gets no gradient; `fit` logs the share of clipped entries
            as `log_var_clipped`. keras-hub's wider `(-30, 20)` gives NaN
            gradients for `"mopoe"` on JAX when experts sit at both ends
            (`test_extreme_log_variances_stay_finite` with it), so it is not
            the default.
        seed: Accepted and kept in the config for compatibility; the layer
            draws with the generator passed to `sample` and
            `posterior_sample` (the model's or the evaluation's).
        **kwargs: Standard `keras.layers.Layer` arguments.

    Call arguments:
        mean: `(B, M, D)` expert means.
        log_var: `(B, M, D)` expert log-variances.
        mask: Optional `(B, M)` availability (1 = present). Pass it
            explicitly by keyword.

    Returns:
        A dict with `"mean"` and `"log_var"` `(B, S, D)` and `"weight"`
            `(B, S)` (rows sum to 1).

    Example:
    ```python
    import numpy as np
    import keras_mmvae as mm

    fusion = mm.BarycenterFusion(mode="w2", subsets="all")  # MWB
    mean = np.random.normal(size=(4, 3, 8)).astype("float32")
    log_var = np.zeros((4, 3, 8), "float32")
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1], [1, 1, 0]], "float32")
    out = fusion(mean, log_var, mask=mask)
    assert out["mean"].shape == (4, 7, 8) and out["weight"].shape == (4, 7)
    ```

    References:
        Qiu et al., "Multimodal Variational Autoencoder: A Barycentric View",
        AAAI 2025. Wu & Goodman, "Multimodal Generative Models for Scalable
        Weakly-Supervised Learning", NeurIPS 2018 (PoE). Shi et al.,
        "Variational Mixture-of-Experts Autoencoders", NeurIPS 2019 (MoE).
        Sutter et al., "Generalized Multimodal ELBO", ICLR 2021 (MoPoE).
        Agueh & Carlier, "Barycenters in the Wasserstein space", 2011.
    """

    def __init__(
        self,
        mode: str = "w2",
        subsets="joint",
        prior_expert=False,
        weights=None,
        normalize=None,
        modality_names=None,
        log_var_clip=(-10.0, 10.0),
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(
                f"`mode` must be one of {MODES}; got {mode!r}. For the "
                f"presets (e.g. 'mopoe', 'mwb') use "
                f"`BarycenterFusion.from_preset(name)`."
            )
        if prior_expert not in (True, False, "full"):
            raise ValueError(
                "`prior_expert` must be True, False or 'full'; got "
                f"{prior_expert!r}."
            )
        if mode == "moe" and subsets != "joint":
            raise ValueError(
                "`mode='moe'` is already a mixture over the single "
                "modalities; use `subsets='joint'` (got "
                f"{subsets!r}). For a mixture over other subsets use "
                "mode='poe' or 'w2'."
            )
        if mode == "moe" and prior_expert:
            raise ValueError(
                "`prior_expert` applies to mode 'poe' and 'w2', not 'moe'."
            )
        if isinstance(subsets, str):
            if subsets not in ("joint", "all"):
                raise ValueError(
                    "`subsets` must be 'joint', 'all' or a list of tuples "
                    f"of modality indices or names; got {subsets!r}."
                )
        else:
            subsets = [tuple(s) for s in subsets]
            if not subsets or any(len(s) == 0 for s in subsets):
                raise ValueError(
                    "`subsets` must be a non-empty list of non-empty "
                    f"tuples; got {subsets!r}."
                )
        if isinstance(weights, str):
            if weights != "learned":
                raise ValueError(
                    "`weights` must be None, a list of non-negative floats "
                    f"or 'learned'; got {weights!r}."
                )
        elif weights is not None:
            weights = [float(w) for w in weights]
            if any(not np.isfinite(w) or w < 0 for w in weights) or not any(
                weights
            ):
                raise ValueError(
                    "`weights` must be non-negative, finite and not all "
                    f"zero; got {weights}."
                )
        low, high = (float(v) for v in log_var_clip)
        if not -60.0 <= low < high <= 60.0:
            raise ValueError(
                "`log_var_clip` must be (low, high) with "
                f"-60 <= low < high <= 60; got {log_var_clip!r}."
            )
        self.mode = mode
        self.subsets = subsets
        self.prior_expert = prior_expert
        self.weights_spec = weights
        self.normalize = normalize
        self.modality_names = (
            list(modality_names) if modality_names is not None else None
        )
        self.log_var_clip = (low, high)
        self.seed = seed
        self.num_modalities = None
        # `mask` is an availability mask, not a Keras sequence mask: accept
        # it without warnings and attach nothing to the outputs.
        self.supports_masking = True

    def compute_mask(self, inputs, previous_mask=None):
        return None

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Builds the fusion of a preset: `poe`, `moe`, `w2`, `mopoe`, `mwb`.

        `poe` is MVAE (PoE with prior expert), `moe` MMVAE, `w2` WB-VAE,
        `mopoe` MoPoE (PoE over all subsets, prior in the full set) and
        `mwb` MWB-VAE (W2 over all subsets). `kwargs` override the preset.
        """
        if preset not in PRESETS:
            raise ValueError(
                f"Unknown fusion preset {preset!r}; choose one of "
                f"{sorted(PRESETS)}."
            )
        config = dict(PRESETS[preset][0])
        config.update(kwargs)
        return cls(**config)

    @property
    def is_mixture(self):
        """True when the posterior has more than one component."""
        return self.mode == "moe" or self.subsets != "joint"

    def build(self, mean_shape, log_var_shape=None, mask_shape=None):
        if len(mean_shape) != 3:
            raise ValueError(
                "`mean` must have shape (batch, num_modalities, latent_dim); "
                f"got shape {tuple(mean_shape)}."
            )
        self.num_modalities = int(mean_shape[1])
        num = self.num_modalities
        if self.modality_names is not None and len(
            self.modality_names
        ) != num:
            raise ValueError(
                f"`modality_names` has {len(self.modality_names)} names but "
                f"the experts have {num} modalities."
            )
        if isinstance(self.weights_spec, list) and len(
            self.weights_spec
        ) != num:
            raise ValueError(
                f"`weights` has {len(self.weights_spec)} entries but there "
                f"are {num} modalities; give one weight per modality."
            )
        self.components = self._resolve_subsets(num)
        self.membership = subset_matrix(self.components, num)
        if self.weights_spec == "learned":
            self.weight_logits = self.add_weight(
                shape=(num,),
                initializer="zeros",
                name="weight_logits",
                trainable=True,
            )
        super().build(mean_shape)

    def _resolve_subsets(self, num):
        if self.mode == "moe":
            return [(m,) for m in range(num)]
        if self.subsets == "joint":
            return [tuple(range(num))]
        if self.subsets == "all":
            return modality_subsets(num)
        resolved = []
        for subset in self.subsets:
            indices = []
            for item in subset:
                if isinstance(item, str):
                    if self.modality_names is None or (
                        item not in self.modality_names
                    ):
                        raise ValueError(
                            f"Subset {subset!r} names modality {item!r}, "
                            "which is not among `modality_names` "
                            f"{self.modality_names}."
                        )
                    item = self.modality_names.index(item)
                if not 0 <= int(item) < num:
                    raise ValueError(
                        f"Subset {subset!r} has modality index {item}; "
                        f"indices must be in [0, {num})."
                    )
                indices.append(int(item))
            if len(set(indices)) != len(indices):
                raise ValueError(f"Subset {subset!r} repeats a modality.")
            resolved.append(tuple(sorted(indices)))
        return resolved

    @property
    def num_components(self):
        return len(self.components)

    def expert_weights(self, dtype="float32"):
        """Raw barycentric weights `λ` `(M,)` (not normalised)."""
        dtype = keras.backend.standardize_dtype(dtype)
        if self.weights_spec is None:
            return ops.ones((self.num_modalities,), dtype=dtype)
        if self.weights_spec == "learned":
            return ops.cast(ops.softmax(self.weight_logits), dtype)
        return ops.convert_to_tensor(
            np.asarray(self.weights_spec, dtype=dtype)
        )

    def _prepare(self, mean, log_var, mask):
        # The fusion runs in float32 (or float64) even under a mixed
        # precision policy: see `keras_mmvae.src.ops.dtypes`.
        mean = at_least_float32(mean)
        log_var = ops.clip(ops.cast(log_var, mean.dtype), *self.log_var_clip)
        if mask is None:
            mask = ops.ones(ops.shape(mean)[:2], dtype=mean.dtype)
        else:
            mask = availability(mask, mean.dtype)
        return mean, log_var, mask

    def _fuse(self, mean, log_var, mask, membership, any_member):
        """Fuses the experts of each component; `membership` is `(S, M)`.

        `any_member=True` marks a component valid when any member is
        available (the joint posterior of the available experts); otherwise
        all its members must be available.
        """
        weights, prior_weight, valid = self._component_weights(
            mask, membership, any_member)
        if self.mode == "w2":
            fused_mean, fused_log_var = w2_barycenter(
                mean, log_var, weights, prior_weight, mask=mask)
        else:
            normalize = self.normalize
            if normalize is None:
                normalize = self.weights_spec is not None
            fused_mean, fused_log_var = product_of_experts(
                mean, log_var, weights, prior_weight, normalize=normalize,
                mask=mask)
        return fused_mean, fused_log_var, valid

    def _component_weights(self, mask, membership, any_member):
        """`(B, S, M)` expert weights, `(B, S)` prior weights and validity
        of each component (see `_fuse`)."""
        dtype = mask.dtype
        membership = ops.convert_to_tensor(membership, dtype=dtype)
        num = self.num_modalities
        lam = self.expert_weights(dtype)
        # (B, S, M) weights: membership x availability x λ.
        present = membership[None, :, :] * mask[:, None, :]
        weights = present * lam[None, None, :]
        count = ops.sum(present, axis=-1)  # (B, S) available members
        size = ops.sum(membership, axis=-1)[None, :]
        if any_member:
            valid = count > 0
        else:
            valid = ops.equal(count, size)
        if self.prior_expert is True:
            with_prior = ops.ones_like(count)
        elif self.prior_expert == "full":
            with_prior = ops.cast(ops.equal(count, float(num)), dtype)
        else:
            with_prior = ops.zeros_like(count)
        prior_weight = with_prior * ops.mean(lam)
        # Components with no weight at all become the prior N(0, I).
        total = ops.sum(weights, axis=-1) + prior_weight
        prior_weight = prior_weight + ops.cast(total <= 0, dtype)
        return weights, prior_weight, ops.cast(valid, dtype)

    def _mixture_weight(self, valid, dtype):
        if self.mode == "moe":
            valid = valid * self.expert_weights(dtype)[None, :]
        total = ops.sum(valid, axis=-1, keepdims=True)
        first = ops.cast(
            ops.arange(ops.shape(valid)[-1]) == 0, dtype
        )[None, :]
        # No valid component (no modality): all weight on component 0.
        return ops.where(total > 0, valid / ops.maximum(total, 1e-30), first)

    def call(self, mean, log_var, mask=None):
        mean, log_var, mask = self._prepare(mean, log_var, mask)
        if self.mode == "moe":
            # Components are the experts themselves; absent ones -> prior.
            present = mask[..., None] > 0
            fused_mean = ops.where(present, mean, ops.zeros_like(mean))
            fused_log_var = ops.where(present, log_var,
                                      ops.zeros_like(log_var))
            valid = mask
        else:
            fused_mean, fused_log_var, valid = self._fuse(
                mean, log_var, mask, self.membership,
                any_member=self.subsets == "joint",
            )
        return {
            "mean": fused_mean,
            "log_var": fused_log_var,
            "weight": self._mixture_weight(valid, mean.dtype),
        }

    def _available_posterior(self, mean, log_var, mask):
        """`q_A` of the available experts as a mixture dict (`call` format).

        For `"moe"` it is the mixture of the available experts (`S = M`);
        for `"poe"`/`"w2"` (any `subsets`) the one Gaussian fusing exactly
        the available experts (`S = 1`, weight 1): the mixture's own
        component for `A`, the MoPoE convention for conditioning.
        """
        if not self.built:
            self.build(ops.shape(mean))
        mean, log_var, mask = self._prepare(mean, log_var, mask)
        if self.mode == "moe":
            return self.call(mean, log_var, mask=mask)
        joint = np.ones((1, self.num_modalities), dtype="float32")
        fused_mean, fused_log_var, valid = self._fuse(
            mean, log_var, mask, joint, any_member=True
        )
        return {"mean": fused_mean, "log_var": fused_log_var,
                "weight": ops.ones_like(valid)}

    def posterior(self, mean, log_var, mask=None, moe_posterior="component"):
        """The single Gaussian `q_A` given the available modalities `A`.

        For `"poe"`/`"w2"` (any `subsets`) this fuses exactly the available
        experts, which is the mixture's own component for `A` (the MoPoE
        convention for conditioning); `prior_expert="full"` includes the
        prior only when all modalities are available. For `"moe"` the
        mixture of the available experts has no single Gaussian;
        `moe_posterior` picks the convention:

        - `"component"` (default, MoPoE's evaluation protocol): each example
          is represented by one available expert, chosen by its position in
          the batch (`mm.ops.stratified_selection`, MoPoE's
          `mixture_component_selection`);
        - `"moment_matched"`: the Gaussian with the mixture's moments (the
          forward-KL barycenter among Gaussians).

        Args:
            mean: `(B, M, D)` expert means.
            log_var: `(B, M, D)` expert log-variances.
            mask: Optional `(B, M)` availability.
            moe_posterior: `"component"` or `"moment_matched"` (`"moe"`
                only; ignored by the other modes).

        Returns:
            `(mean, log_var)`, each `(B, D)`.
        """
        if moe_posterior not in MOE_POSTERIORS:
            raise ValueError(
                f"`moe_posterior` must be one of {MOE_POSTERIORS}; got "
                f"{moe_posterior!r}."
            )
        q = self._available_posterior(mean, log_var, mask)
        if q["weight"].shape[-1] == 1:
            return q["mean"][:, 0], q["log_var"][:, 0]
        if moe_posterior == "moment_matched":
            return moment_match(q["mean"], q["log_var"], q["weight"])
        # Every row has a valid component (none available: the prior).
        chosen = stratified_selection(q["weight"])
        return select_components(q, ops.argmax(chosen, axis=-1))

    def posterior_sample(self, mean, log_var, mask=None, seed=None,
                         num_samples=1):
        """Draws `z ~ q_A` given the available modalities, with `log q_A(z)`.

        The inference counterpart of `sample`, used by
        `MultimodalVAE.conditional_generate` and the evaluation metrics.
        `q_A` is the Gaussian that `posterior` returns for `"poe"`/`"w2"`;
        for `"moe"` it is the mixture of the available experts itself: a
        component is drawn from its weights, then reparameterised, and
        `log q_A(z)` is the mixture density.

        Args:
            mean: `(B, M, D)` expert means.
            log_var: `(B, M, D)` expert log-variances.
            mask: Optional `(B, M)` availability.
            seed: A `keras.random.SeedGenerator` (or int / None).
            num_samples: `K` draws per example.

        Returns:
            `(z, log_q)`: `(K·B, D)` samples and `(K·B,)` log densities,
            sample-major (row `k·B + b` belongs to example `b`).
        """
        q = self._available_posterior(mean, log_var, mask)
        if num_samples > 1:
            q = {key: ops.tile(value, [num_samples] + [1] * (
                len(value.shape) - 1)) for key, value in q.items()}
        if q["weight"].shape[-1] == 1:
            q_mean, q_log_var = q["mean"][:, 0], q["log_var"][:, 0]
            z = reparameterize(q_mean, q_log_var, seed=seed)
            return z, gaussian_log_prob(z, q_mean, q_log_var)
        component = sample_components(q["weight"], seed=seed)
        z = reparameterize(*select_components(q, component), seed=seed)
        return z, mixture_log_prob(z, q)

    def subset_selection(self, subset_sampling, has_mask):
        """What `sample` does for `subset_sampling` (see `MultimodalVAE`).

        Returns `"stratified"`, `"random"` or `None` (no subset draw: the
        joint fusions' reference objective, all available modalities).
        Stratified selection needs complete data; with a mask it becomes
        `"random"`. Mixtures always draw a component (`None` → `"random"`).
        """
        if subset_sampling not in SUBSET_SAMPLING:
            raise ValueError(
                f"`subset_sampling` must be one of {SUBSET_SAMPLING}; got "
                f"{subset_sampling!r}."
            )
        selection = subset_sampling
        if selection == "auto":
            if not self.is_mixture:
                return None
            selection = "random" if has_mask else "stratified"
        if selection == "stratified" and has_mask:
            selection = "random"
        if selection is None and self.is_mixture:
            selection = "random"
        return selection

    def sample(self, mean, log_var, mask=None, subset_sampling="auto",
               seed=None):
        """The training draw: fuse, choose per example, reparameterise.

        Mixtures choose one component per example (stratified blocks or a
        draw from the weights) and sample `z` from it; the KL is the
        weight-averaged analytic KL of every component (an upper bound of
        the mixture KL). Joint fusions fuse all available experts, or, with
        a subset selection, a chosen non-empty subset of them, and take
        that Gaussian's KL. All draws use `seed` (the model's generator).

        Args:
            mean: `(B, M, D)` expert means.
            log_var: `(B, M, D)` expert log-variances.
            mask: Optional `(B, M)` availability.
            subset_sampling: `"auto"`, `"stratified"`, `"random"` or `None`
                (see `subset_selection`).
            seed: A `keras.random.SeedGenerator` (or int / None).

        Returns:
            A dict with the fused `"mean"`, `"log_var"` `(B, S, D)` and
            `"weight"` `(B, S)`, `"z"` `(B, D)`, `"kl"` `(B,)`, what was
            chosen (`"component"` `(B,)` for mixtures; `"subset"` `(B, M)`
            for joint fusions given a mask or a subset draw) and
            `"members"`, the `(B, M)` modalities of the chosen component or
            subset (`None` when all of them are used).
        """
        selection = self.subset_selection(subset_sampling, mask is not None)
        if not self.is_mixture:
            algorithm = self._sample_joint
        elif self.mode == "w2":
            algorithm = self._sample_mwb
        else:
            algorithm = self._sample_mixture
        return algorithm(mean, log_var, mask, selection, seed)

    def _sample_mixture(self, mean, log_var, mask, selection, seed):
        """Mixtures of PoE or MoE components: fuse all, choose, sample."""
        fused = self(mean, log_var, mask=mask)
        component = choose_components(fused["weight"], selection, seed=seed)
        z = reparameterize(*select_components(fused, component), seed=seed)
        component_kl = kl_to_standard_normal(fused["mean"], fused["log_var"])
        kl = ops.sum(fused["weight"] * component_kl, axis=-1)
        return {"component": component, **fused, "z": z, "kl": kl,
                "members": self._members(component, fused["mean"].dtype)}

    def _sample_mwb(self, mean, log_var, mask, selection, seed):
        """MWB: the chosen component is fused on its own and the KL comes
        from Gram matrices, so the training step needs no component's
        `(B, S, D)` parameters (many modalities); the returned
        `"mean"`/`"log_var"` are pruned when unused."""
        if not self.built:
            self.build(ops.shape(mean))
        mean, log_var, mask = self._prepare(mean, log_var, mask)
        weights, prior_weight, valid = self._component_weights(
            mask, self.membership, any_member=self.subsets == "joint")
        weight = self._mixture_weight(valid, mean.dtype)
        component = choose_components(weight, selection, seed=seed)
        one_hot = ops.one_hot(component, self.num_components,
                              dtype=mean.dtype)
        q_mean, q_log_var = w2_barycenter(
            mean, log_var,
            ops.einsum("bs,bsm->bm", one_hot, weights)[:, None, :],
            ops.sum(one_hot * prior_weight, axis=-1)[:, None], mask=mask)
        z = reparameterize(q_mean[:, 0], q_log_var[:, 0], seed=seed)
        fused_mean, fused_log_var = w2_barycenter(
            mean, log_var, weights, prior_weight, mask=mask)
        component_kl = w2_barycenter_kl(mean, log_var, weights,
                                        prior_weight, mask=mask)
        kl = ops.sum(weight * component_kl, axis=-1)
        return {"component": component, "mean": fused_mean,
                "log_var": fused_log_var, "weight": weight, "z": z,
                "kl": kl, "members": self._members(component, mean.dtype)}

    def _sample_joint(self, mean, log_var, mask, selection, seed):
        """Joint fusions: all available experts, or a drawn subset."""
        used = mask
        if selection is not None:
            available = (ops.ones(ops.shape(mean)[:2], dtype=mean.dtype)
                         if mask is None else mask)
            used = choose_subsets(available, selection, seed=seed)
        fused = self(mean, log_var, mask=used)
        q_mean, q_log_var = fused["mean"][:, 0], fused["log_var"][:, 0]
        z = reparameterize(q_mean, q_log_var, seed=seed)
        kl = kl_to_standard_normal(q_mean, q_log_var)
        chosen = {} if used is None else {"subset": used}
        return {**chosen, **fused, "z": z, "kl": kl, "members": used}

    def _members(self, component, dtype):
        """`(B, M)` modalities of each row's chosen component."""
        return ops.matmul(
            ops.one_hot(component, self.num_components, dtype=dtype),
            ops.convert_to_tensor(self.membership, dtype=dtype))

    def compute_output_spec(self, mean, log_var, mask=None):
        batch, _, dim = mean.shape
        num = len(self._resolve_subsets(mean.shape[1]))
        dtype = keras.backend.standardize_dtype(mean.dtype)
        dtype = "float32" if dtype in HALF_DTYPES else dtype  # see `_prepare`
        return {
            "mean": keras.KerasTensor((batch, num, dim), dtype=dtype),
            "log_var": keras.KerasTensor((batch, num, dim), dtype=dtype),
            "weight": keras.KerasTensor((batch, num), dtype=dtype),
        }

    def compute_output_shape(self, mean_shape, log_var_shape=None,
                             mask_shape=None):
        """Shapes of `call`'s dict (`model.summary()` shows them)."""
        spec = self.compute_output_spec(keras.KerasTensor(mean_shape), None)
        return {key: tensor.shape for key, tensor in spec.items()}

    def get_config(self):
        config = super().get_config()
        subsets = self.subsets
        if not isinstance(subsets, str):
            subsets = [list(s) for s in subsets]
        config.update(
            mode=self.mode,
            subsets=subsets,
            prior_expert=self.prior_expert,
            weights=self.weights_spec,
            normalize=self.normalize,
            modality_names=self.modality_names,
            log_var_clip=list(self.log_var_clip),
            seed=self.seed,
        )
        return config

