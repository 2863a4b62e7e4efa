"""Importance-weighted bounds with K samples: IWAE and DReG (MMVAE, MMVAE+).

For a mixture posterior `q(z | X) = Σ_s π_s q_s(z | X_s)` the "looser"
stratified bound of MMVAE (Shi et al., NeurIPS 2019) averages one
K-sample IWAE bound per component:

    L(X) = Σ_s π_s log (1/K) Σ_k w_sk,   z_sk ~ q_s,
    log w_sk = Σ_m λ_m log p(x_m | z_sk) + β (log p(z_sk) − log q(z_sk | X))

with `q(z | X)` the whole mixture. Every modality is decoded from every
sample: the cross-reconstructions. With private latents `w_m` (MMVAE+,
Palumbo et al., ICLR 2023) decoder `m` gets `[w_m, u]`: its own posterior
sample where `m` belongs to the component, else a sample of its auxiliary
prior `r_m`, and the own private latents add
`β (log p(w_m) − log q(w_m | x_m))` to `log w`.

DReG (Tucker et al., 2019) keeps the loss value of the weighted bound,
`−Σ_s π_s Σ_k w̃_sk log w_sk` with `w̃` the normalised weights (constants),
evaluates `q` with stopped parameters, and scales the encoders' gradient
through each sample by `w̃_sk` once more: the doubly reparameterised
gradient, unbiased for IWAE's with lower variance. Here that scaling is a
second, gradient-free pass of the decoders that gives `w̃` before the
sample enters the graph (`z' = sg(z) + w̃ (z − sg(z))`: the value of `z`,
the gradient scaled), so a DReG step costs about one extra forward pass
of the decoders over IWAE's. Both cost K× an ELBO step (|S| K× with
`components="all"`).
"""

from keras import ops

from keras_mmvae.src.objectives import base
from keras_mmvae.src.ops import distributions
from keras_mmvae.src.ops.subsets import choose_components

COMPONENTS = ("auto", "all", "sampled")


class ImportanceWeighted(base.Objective):
    """The stratified K-sample bound of a mixture posterior.

    Args:
        num_samples: K, importance samples per component and example.
            `K = 1` with `estimator="iwae"` is the ELBO of the same
            components (with a Monte Carlo KL).
        components: `"all"`: every component of every example is sampled
            (MMVAE/MultiVae; |S| K decodes per example), `"sampled"`: one
            component per example, chosen as the ELBO chooses it
            (stratified blocks, or a draw with a mask; an unbiased estimate
            of the same bound, K decodes per example), `"auto"`: `"all"`
            for `"moe"` (|S| = M), `"sampled"` for subset mixtures.
    """

    estimator = None

    def __init__(self, num_samples: int = 10, components: str = "auto"):
        try:
            valid = not isinstance(num_samples, bool) and \
                int(num_samples) == num_samples and num_samples >= 1
        except (TypeError, ValueError):  # None, "ten", a list, ...
            valid = False
        if not valid:
            raise ValueError(
                f"`num_samples` must be an int >= 1; got {num_samples!r}.")
        if components not in COMPONENTS:
            raise ValueError(
                f"`components` must be one of {COMPONENTS}; got "
                f"{components!r}.")
        self.num_samples = int(num_samples)
        self.components = components

    def get_config(self):
        return {"name": self.name, "num_samples": self.num_samples,
                "components": self.components}

    def validate(self, model):
        fusion = model.fusion
        if not fusion.is_mixture:
            raise ValueError(
                f"objective={self.name!r} is the stratified bound of a "
                "mixture posterior; the fusion "
                f"(mode={fusion.mode!r}, subsets={fusion.subsets!r}) is a "
                "joint one. Use a mixture fusion (\"moe\", \"mopoe\", "
                "\"mwb\", or a preset built on one such as \"mmvae\") or "
                "objective=\"elbo\".")
        if model.unimodal_elbos:
            raise ValueError(
                f"objective={self.name!r} does not add unimodal ELBOs; "
                "pass unimodal_elbos=False.")

    def build(self, model):
        if model.learn_prior and model.uses_style:
            raise ValueError(
                "learn_prior=True with private (style) latents is not "
                "supported: the prior of the private latents is fixed "
                "(MMVAE+'s default); learn their auxiliary priors with "
                "learn_private_prior=True instead.")

    def uses_all_components(self, model):
        if self.components == "auto":
            return model.fusion.mode == "moe" and \
                model.fusion.subsets == "joint"
        return self.components == "all"

    def noise(self, model, kind, shape, dtype):
        """Standard noise of the model's latent family for one kind of
        draw: `"shared"` `(S', K, B, D)`, `"private"` `(M, K, B, Dw)`,
        `"auxiliary"` `(S', M, K, B, Dw)`. Tests override it to inject
        another library's draws."""
        return distributions.standard_noise(model.distribution, shape, dtype,
                                            seed=model.seed_generator)

    # ------------------------------------------------------------ forward
    def forward(self, model, inputs, training=False):
        base.count_warmup_step(model, training)
        mean, log_var, styles = model.encode_experts(inputs, training)
        dtype = mean.dtype
        mask = base.batch_mask(inputs, dtype)
        batch = ops.shape(mean)[0]
        k = self.num_samples
        beta = base.current_beta(model, dtype)
        components = self._components(model, mean, log_var, mask)
        # Sampled components `(S', B, D)`, their weights π `(S', B)` and
        # their modalities `(S', B, M)`.
        chosen_mean, chosen_scale, chosen_pi, members = self._chosen(
            model, components, mask)
        num_chosen = ops.shape(chosen_mean)[0]
        eps = self.noise(model, "shared", (num_chosen, k, batch,
                                           model.latent_dim), dtype)
        u = chosen_mean[:, None] + chosen_scale[:, None] * eps
        own, private = None, {}
        if styles:
            if model.cross_modal_style == "posterior":
                members = ops.ones_like(members)
            own = members if mask is None else members * mask[None]
            private = self._private_samples(model, styles, num_chosen,
                                            batch, dtype)
        inputs_u, inputs_w = u, private
        if self.estimator == "dreg":
            # A gradient-free pass for the normalised weights w̃.
            log_prior_q = self._log_prior_minus_q(
                model, components, u, own, private, styles, stop=True)
            log_px = self._log_likelihoods(
                model, inputs, mask, ops.stop_gradient(u),
                {n: [ops.stop_gradient(t) for t in v]
                 for n, v in private.items()}, own, training)
            weight = ops.stop_gradient(ops.softmax(
                self._log_weight(model, log_px, log_prior_q, beta), axis=1))
            inputs_u = _scaled_gradient(u, weight)
            inputs_w = {n: (_scaled_gradient(v[0], weight), v[1])
                        for n, v in private.items()}
        log_prior_q = self._log_prior_minus_q(
            model, components, inputs_u, own, inputs_w, styles,
            stop=self.estimator == "dreg")
        log_px = self._log_likelihoods(model, inputs, mask, inputs_u,
                                       inputs_w, own, training)
        return {"log_px": log_px, "log_prior_q": log_prior_q,
                "pi": chosen_pi, "z": u[0, 0],
                "log_var_clipped": base.clipped_fraction(model, log_var,
                                                         mask)}

    def _components(self, model, mean, log_var, mask):
        """Every component's `(B, S, D)` location and scale, weights
        `(B, S)` and modalities `(S, M)`."""
        fusion = model.fusion
        if fusion.mode == "moe" and fusion.subsets == "joint":
            # The experts themselves (a Laplace head's logits are no log
            # variance, so they do not go through the Gaussian fusion).
            if model.distribution == "normal":
                log_var = ops.clip(log_var, *fusion.log_var_clip)
            weight = fusion(mean, log_var, mask=mask)["weight"]
            membership = ops.eye(model.num_modalities, dtype=mean.dtype)
        else:
            fused = fusion(mean, log_var, mask=mask)
            mean, log_var, weight = (fused["mean"], fused["log_var"],
                                     fused["weight"])
            membership = ops.convert_to_tensor(fusion.membership,
                                               dtype=mean.dtype)
        scale = distributions.latent_scale(model.distribution, log_var)
        return {"mean": mean, "scale": scale, "weight": weight,
                "membership": membership}

    def _chosen(self, model, components, mask):
        mean, scale, weight = (components["mean"], components["scale"],
                               components["weight"])
        membership = components["membership"]
        batch = ops.shape(mean)[0]
        if self.uses_all_components(model):
            members = ops.broadcast_to(
                membership[:, None, :],
                (ops.shape(membership)[0], batch, model.num_modalities))
            return (ops.transpose(mean, (1, 0, 2)),
                    ops.transpose(scale, (1, 0, 2)),
                    ops.transpose(weight), members)
        selection = model.fusion.subset_selection(model.subset_sampling,
                                                  mask is not None)
        component = choose_components(weight, selection,
                                      seed=model.seed_generator)
        one_hot = ops.one_hot(component, ops.shape(weight)[-1],
                              dtype=mean.dtype)
        chosen_mean = ops.einsum("bs,bsd->bd", one_hot, mean)
        chosen_scale = ops.einsum("bs,bsd->bd", one_hot, scale)
        members = ops.matmul(one_hot, membership)
        return (chosen_mean[None], chosen_scale[None],
                ops.ones((1, batch), dtype=mean.dtype), members[None])

    def _private_samples(self, model, styles, num_chosen, batch, dtype):
        """Per modality with a private latent: its posterior samples and its
        auxiliary prior samples, each `(S', K, B, Dw)` (one posterior draw
        shared by the components)."""
        names = [n for n in model.modality_names if n in styles]
        dims = {model.style_dims[n] for n in names}
        if len(dims) != 1:
            raise ValueError(
                "Importance-weighted objectives need private latents of one "
                f"size for every modality; got {model.style_dims}.")
        dim = dims.pop()
        k = self.num_samples
        eps = self.noise(model, "private", (len(names), k, batch, dim), dtype)
        aux = self.noise(model, "auxiliary",
                         (num_chosen, len(names), k, batch, dim), dtype)
        samples = {}
        for j, name in enumerate(names):
            s_mean, s_log_var = styles[name]
            s_scale = distributions.latent_scale(model.distribution,
                                                 s_log_var)
            own = s_mean[None] + s_scale[None] * eps[j]
            prior = aux[:, j] * model.private_prior_scale(name, dtype)
            own = ops.broadcast_to(own[None], ops.shape(prior))
            samples[name] = (own, prior)
        return samples

    def _log_prior_minus_q(self, model, components, u, own, private,
                           styles, stop):
        """`log p − log q` of every sample `(S', K, B)`: the shared latent
        under the whole mixture, plus each own private latent."""
        dist = model.distribution
        mean, scale, weight = (components["mean"], components["scale"],
                               components["weight"])
        if stop:
            mean, scale = ops.stop_gradient(mean), ops.stop_gradient(scale)
        # log q_s(u) for every sample and component: (S', K, B, S).
        log_q = distributions.latent_log_prob(
            dist, u[..., None, :], mean[None, None], scale[None, None])
        log_pi = ops.where(weight > 0, ops.log(ops.maximum(weight, 1e-30)),
                           -1e30)
        log_mixture = ops.logsumexp(log_q + log_pi[None, None], axis=-1)
        total = distributions.latent_log_prob(
            dist, u, 0.0, model.prior_scale(u.dtype)) - log_mixture
        for i, name in enumerate(model.modality_names):
            if name not in private:
                continue
            s_mean, s_log_var = styles[name]
            s_scale = distributions.latent_scale(dist, s_log_var)
            if stop:
                s_mean = ops.stop_gradient(s_mean)
                s_scale = ops.stop_gradient(s_scale)
            w = private[name][0]
            term = distributions.latent_log_prob(
                dist, w, 0.0, model.shared_prior_private_scale(
                    name, w.dtype)) - distributions.latent_log_prob(
                dist, w, s_mean[None, None], s_scale[None, None])
            total = total + own[:, None, :, i] * term
        return total

    def _log_likelihoods(self, model, inputs, mask, u, private, own,
                         training):
        """`Σ_m λ_m log p(x_m | ·)` of every sample `(S', K, B)`, absent
        modalities excluded; and the per-modality terms."""
        shape = ops.shape(u)
        rows = shape[0] * shape[1] * shape[2]
        per_modality = []
        for i, name in enumerate(model.modality_names):
            z = u
            if name in private:
                w = ops.where(own[:, None, :, i:i + 1] > 0,
                              private[name][0], private[name][1])
                z = ops.concatenate([w, u], axis=-1)
            params = model.decoders[name](
                ops.reshape(z, (rows, ops.shape(z)[-1])), training=training)
            x = inputs[name]
            tiled = ops.reshape(
                ops.broadcast_to(x[None], (shape[0] * shape[1],
                                           *ops.shape(x))),
                (rows, *ops.shape(x)[1:]))
            log_p = ops.reshape(
                model.likelihoods[name].log_prob(params, tiled), shape[:3])
            if mask is not None:
                log_p = log_p * mask[None, None, :, i]
            per_modality.append(log_p)
        return ops.stack(per_modality, axis=-1)

    @staticmethod
    def _log_weight(model, log_px, log_prior_q, beta):
        weights = ops.convert_to_tensor(
            [model.reconstruction_weights[n] for n in model.modality_names],
            dtype=log_px.dtype)
        return ops.sum(log_px * weights, axis=-1) + beta * log_prior_q

    # ------------------------------------------------------------ loss
    def loss(self, model, inputs, outputs, sample_weight=None):
        log_px, log_prior_q = outputs["log_px"], outputs["log_prior_q"]
        pi = outputs["pi"]
        dtype = log_px.dtype
        mask = base.batch_mask(inputs, pi.dtype)
        if mask is not None:
            # An example without any available modality has no posterior
            # (its components would be the encodings of placeholders): it
            # contributes nothing, as to the ELBO.
            pi = pi * ops.cast(ops.max(mask, axis=-1) > 0, pi.dtype)[None]
        beta = base.current_beta(model, dtype)
        log_w = self._log_weight(model, log_px, log_prior_q, beta)
        k = self.num_samples
        if self.estimator == "dreg":
            weight = ops.stop_gradient(ops.softmax(log_w, axis=1))
            bound = ops.sum(weight * log_w, axis=1)
        else:
            bound = ops.logsumexp(log_w, axis=1) - ops.log(
                ops.cast(k, dtype))
        # Components with π = 0 (unavailable) contribute nothing.
        per_example = -ops.sum(ops.where(pi > 0, pi * bound, 0.0), axis=0)
        batch_mean = base.weighted_batch_mean(sample_weight, dtype)
        # Logged parts: π- and sample-averaged, as the ELBO's.
        average = (lambda t: batch_mean(ops.sum(
            pi * ops.mean(t, axis=1), axis=0)))
        weights = [model.reconstruction_weights[n]
                   for n in model.modality_names]
        per_modality = [average(-log_px[..., i])
                        for i in range(model.num_modalities)]
        reconstruction = sum(w * r for w, r in zip(weights, per_modality))
        base.track(model, reconstruction, average(-log_prior_q),
                   ops.mean(outputs["log_var_clipped"]), per_modality)
        return batch_mean(per_example)


def _scaled_gradient(sample, weight):
    """`sample`'s value with its gradient scaled by `weight` `(S', K, B)`."""
    fixed = ops.stop_gradient(sample)
    return fixed + weight[..., None] * (sample - fixed)


class IWAE(ImportanceWeighted):
    """The stratified IWAE bound ("iwae_looser" in MultiVae)."""

    name = "iwae"
    estimator = "iwae"


class DReG(ImportanceWeighted):
    """The stratified bound with doubly reparameterised gradients
    ("dreg_looser" in MultiVae, MMVAE's and MMVAE+'s default)."""

    name = "dreg"
    estimator = "dreg"
