"""IWAE log-likelihood estimates (MoPoE `eval_metrics/likelihood.py`)."""

import keras
import numpy as np
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.evaluation import common
from keras_mmvae.src.evaluation import data as data_lib
from keras_mmvae.src.evaluation.data import EvaluationData
from keras_mmvae.src.models.multimodal_vae import MultimodalVAE
from keras_mmvae.src.ops.gaussian import gaussian_log_prob

JOINT = "joint"
# K is processed in chunks: about this many input floats are decoded at once
# (the last chunk is completed and its surplus samples dropped, so one
# compiled step serves every chunk).
CHUNK_FLOATS = 1 << 22


def _repeat(x, k):
    """`(B, ...)` → `(k·B, ...)`, sample-major (row `i·B + b` is example b)."""
    reps = [k] + [1] * (len(x.shape) - 1)
    return ops.tile(x, reps)


def _standard_normal_log_prob(z):
    return gaussian_log_prob(z, ops.zeros_like(z), ops.zeros_like(z))


def _style_proposals(model, styles, mask, k, seed_generator, dtype):
    """Style samples and `log p(z_s) − log q(z_s)` per modality, `(k·B, ·)`.

    The proposal of `z_style_m` is its encoder posterior where `m` is in the
    subset (and available), the prior otherwise (log ratio 0 there).
    """
    samples, log_ratios = {}, {}
    for i, name in enumerate(model.modality_names):
        if name not in styles:
            continue
        s_mean, s_log_var = styles[name]
        s_mean, s_log_var = _repeat(s_mean, k), _repeat(s_log_var, k)
        eps = keras.random.normal(ops.shape(s_mean), dtype=dtype,
                                  seed=seed_generator)
        use = _repeat(mask[:, i:i + 1], k) > 0
        sample = ops.where(use, s_mean + ops.exp(0.5 * s_log_var) * eps, eps)
        ratio = (_standard_normal_log_prob(sample)
                 - gaussian_log_prob(sample, s_mean, s_log_var))
        samples[name] = sample
        log_ratios[name] = ops.where(use[:, 0], ratio, ops.zeros_like(ratio))
    return samples, log_ratios


def _log_weights_step(num_samples):
    """Runner step: `(B, k)` log weights of the joint and every modality."""

    def step(runner, inputs):
        vae = runner.vae
        k = num_samples
        mean, log_var, styles = vae.encode_experts(
            common.model_inputs(vae, inputs))
        mask = inputs[common.SUBSET_MASK]
        # Proposal q_A: the subset's fused posterior, or for "moe" the
        # mixture of the available experts (its density, not a Gaussian).
        z, log_q = vae.fusion.posterior_sample(
            mean, log_var, mask=mask, seed=runner.seed_generator,
            num_samples=k)
        prior_ratio = _standard_normal_log_prob(z) - log_q
        style_samples, style_ratios = _style_proposals(
            vae, styles, mask, k, runner.seed_generator, mean.dtype
        )
        params = vae.decode(z, styles=style_samples)
        joint = prior_ratio
        outputs = {}
        for name in vae.modality_names:
            x = _repeat(inputs[name], k)
            log_px = vae.likelihoods[name].log_prob(params[name], x)
            term = log_px + style_ratios.get(name, 0.0)
            joint = joint + term
            outputs[name] = prior_ratio + term
        outputs[JOINT] = joint
        # (k·B,) sample-major → (B, k), batch first for the runner.
        return {key: ops.transpose(ops.reshape(value, (k, -1)))
                for key, value in outputs.items()}

    return step


def _chunk_size(inputs, names, num_samples):
    rows = len(inputs[names[0]])
    row_size = sum(int(np.prod(np.shape(inputs[n])[1:])) for n in names)
    per_chunk = CHUNK_FLOATS // max(row_size * rows, 1)
    return max(1, min(int(num_samples), per_chunk))


def _weights(runner, model, inputs, mask, num_samples, chunk):
    """`(B, K)` NumPy log weights per key, in chunks of `chunk` samples."""
    pieces = {}
    done = 0
    while done < num_samples:
        outputs = runner.run(common.runner_inputs(model, inputs, mask))
        for key, value in outputs.items():
            pieces.setdefault(key, []).append(value)
        done += chunk
    return {key: np.concatenate(value, axis=1)[:, :num_samples]
            for key, value in pieces.items()}


def importance_log_weights(
    model: MultimodalVAE,
    inputs: dict,
    mask: np.ndarray,
    num_samples: int,
    seed: int | None = None,
) -> dict[str, np.ndarray]:
    """Log importance weights of the joint and of every single modality.

    With proposal `q_A` (the modalities marked in `mask`):
    `log w_k = log p(X | z_k) + log p(z_k) − log q_A(z_k | X_A)` (+ the
    style terms), `z_k ~ q_A`, for `k = 1..num_samples`.

    Args:
        model: A built `mm.MultimodalVAE`.
        inputs: Dict name → `(B, ...)` arrays of every modality.
        mask: `(B, M)` 0/1 proposal subset (already intersected with the
            availability).
        num_samples: `K`.
        seed: Seed of the draws.

    Returns:
        Dict `"joint"` and modality name → `(K, B)` NumPy log weights.
    """
    names = model.modality_names
    inputs = {n: np.asarray(inputs[n]) for n in names}
    chunk = _chunk_size(inputs, names, num_samples)
    runner = common.EvaluationRunner(model, _log_weights_step(chunk),
                                     seed=seed)
    weights = _weights(runner, model, inputs, mask, int(num_samples), chunk)
    return {key: value.T for key, value in weights.items()}


def _log_mean_exp(x):
    """Row-wise `log mean exp` of `(B, K)` log weights, in float64."""
    x = np.asarray(x, dtype="float64")
    top = np.max(x, axis=1, keepdims=True)
    return top[:, 0] + np.log(np.mean(np.exp(x - top), axis=1))


@keras_mmvae_export("keras_mmvae.evaluation.log_likelihood")
def log_likelihood(
    model: MultimodalVAE,
    data: EvaluationData,
    num_samples: int = 12,
    subsets: str | list[tuple[str, ...]] | None = None,
    batch_size: int = 64,
    marginals: bool = False,
    seed: int | None = None,
) -> dict:
    """IWAE estimates of `log p(X)` with each subset's posterior as proposal.

    For each subset `A` and example `X`:
    `log p(X) ≈ logmeanexp_k [log p(X | z_k) + log p(z_k) − log q_A(z_k |
    X_A)]`, `z_k ~ q_A`, `k = 1..K` (`K = num_samples`). `q_A` is the
    subset's own fused posterior (`model.encode`) for `poe`/`w2`/`mopoe`/
    `mwb`, and the mixture of the available experts (its exact density) for
    `moe`. With style latents the proposal of `z_style_m` is its encoder
    posterior if `m ∈ A`, else the prior. The estimate is a lower bound in
    expectation that tightens as `K` grows (`K = 1` is the ELBO); always
    state `K` (MoPoE: 12, MMVAE/MultiVae: 1000). Results are averaged over
    examples (equal to MoPoE's batch average with full batches). Marginals
    `log p(x_m)` use the same samples with only `x_m` scored. Examples with
    a masked modality are left out of the joint; a marginal needs `x_m` and
    all of `A`.

    Args:
        model: A built `mm.MultimodalVAE`.
        data: `(inputs, labels)` arrays, the `inputs` dict alone, a
            `keras.utils.PyDataset` or an iterable of batches.
        num_samples: `K` importance samples per example.
        subsets: Proposal subsets: `None`/`"all"` (every non-empty subset)
            or a list of tuples of names.
        batch_size: Batch size for in-memory data (MoPoE: 64).
        marginals: Also return per-modality marginals.
        seed: Seed of the evaluation's own `keras.random.SeedGenerator`.

    Returns:
        `{subset: nats}` (joint); with `marginals=True`,
        `{(subset, target): nats}` where `target` is `"joint"` or a
        modality name.
    """
    common.check_built(model)
    names = model.modality_names
    if marginals and JOINT in names:
        raise ValueError(
            f"A modality is named {JOINT!r}; rename it to get marginals."
        )
    if int(num_samples) < 1:
        raise ValueError(f"`num_samples` must be >= 1; got {num_samples}.")
    subsets = common.resolve_subsets(names, subsets)
    targets = [JOINT] + (list(names) if marginals else [])
    sums = {(s, t): 0.0 for s in subsets for t in targets}
    counts = {(s, t): 0 for s in subsets for t in targets}
    runner, chunk = None, None
    for inputs, _ in data_lib.iterate_batches(data, batch_size):
        if runner is None:
            chunk = _chunk_size(inputs, names, num_samples)
            runner = common.EvaluationRunner(
                model, _log_weights_step(chunk), seed=seed
            )
        available = data_lib.batch_availability(inputs, names)
        complete = np.all(available > 0, axis=1)
        for subset in subsets:
            rows = common.subset_rows(names, subset, available)
            if not rows.any():
                continue
            mask = common.subset_mask(names, subset, available)
            weights = _weights(runner, model, inputs, mask,
                               int(num_samples), chunk)
            for target in targets:
                if target == JOINT:
                    valid = rows & complete
                else:
                    valid = rows & (available[:, names.index(target)] > 0)
                if not valid.any():
                    continue
                estimate = _log_mean_exp(weights[target][valid])
                sums[(subset, target)] += float(np.sum(estimate))
                counts[(subset, target)] += int(valid.sum())
    results = {
        key: sums[key] / counts[key] if counts[key] else float("nan")
        for key in sums
    }
    if marginals:
        return results
    return {s: results[(s, JOINT)] for s in subsets}
