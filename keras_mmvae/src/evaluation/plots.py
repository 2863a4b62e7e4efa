"""Plots: generation grids and coherence vs number of input modalities.

Figures are built with Matplotlib's object-oriented API on the Agg canvas
(`matplotlib.figure.Figure`), so nothing touches `pyplot` or the global
backend and plotting works headless.
"""

import os

import numpy as np
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.evaluation.coherence import coherence_by_size


def _figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def _decode_text(probabilities):
    from keras_mmvae.src.datasets.alphabet import ALPHABET

    return "".join(ALPHABET[i] for i in np.argmax(probabilities, axis=-1))


def _draw(ax, value):
    """One cell: image `(H, W[, C])`, text `(L, 71)` or a vector."""
    from keras_mmvae.src.datasets.alphabet import ALPHABET

    value = np.asarray(value, dtype="float32")
    ax.set_xticks([])
    ax.set_yticks([])
    if value.ndim == 2 and value.shape[-1] != len(ALPHABET):
        value = value[..., None]  # a grey image without channel axis
    if value.ndim == 3 and value.shape[-1] in (1, 3, 4):
        image = np.clip(value, 0.0, 1.0)
        if image.shape[-1] == 1:
            ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
        else:
            ax.imshow(image)
        return
    if value.ndim == 2:
        text = _decode_text(value)
        short = len(text) <= 64
        if not short:  # CelebA attribute text: drop the `*` padding
            text = text.replace("*", "").strip()[:144]
        width = 16 if short else 24
        ax.text(0.5, 0.5, "\n".join(text[i:i + width]
                                    for i in range(0, len(text), width)),
                ha="center", va="center", family="monospace",
                fontsize=7 if short else 4, transform=ax.transAxes)
        return
    ax.imshow(value.reshape(1, -1), aspect="auto", cmap="viridis")


@keras_mmvae_export("keras_mmvae.evaluation.plot_generations")
def plot_generations(
    outputs: dict,
    inputs: dict | None = None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    max_samples: int = 16,
):
    """A grid of generated samples: one row per modality, one column each.

    Images are shown as images (grey for one channel or no channel axis),
    `(L, 71)` one-hot/probability sequences as text decoded over the
    71-symbol alphabet (arg-max per position), anything else as a heat
    strip. With `inputs` (conditional generation) the conditioning
    modalities come first, labelled `input: <name>`.

    Args:
        outputs: Dict name → `(N, ...)` generated means (e.g.
            `model.generate(8)`).
        inputs: Optional dict name → `(N, ...)` conditioning inputs.
        path: If given, the figure is saved there (PNG by extension).
        title: Optional figure title.
        max_samples: At most this many columns.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    rows = []
    for name, values in (inputs or {}).items():
        rows.append((f"input: {name}", values))
    for name, values in outputs.items():
        rows.append((name, values))
    if not rows:
        raise ValueError("Nothing to plot: `outputs` is empty.")
    rows = [(label, np.asarray(ops.convert_to_numpy(v))[:max_samples])
            for label, v in rows]
    cols = max(len(v) for _, v in rows)
    fig = _figure(1.0 + 1.1 * cols, 0.4 + 1.1 * len(rows))
    axes = fig.subplots(len(rows), cols, squeeze=False)
    for r, (label, values) in enumerate(rows):
        for c in range(cols):
            ax = axes[r][c]
            if c < len(values):
                _draw(ax, values[c])
            else:
                ax.axis("off")
        axes[r][0].set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    if path is not None:
        fig.savefig(path)
    return fig


def _summary(result):
    keys = list(result)
    if keys and all(isinstance(k, (int, np.integer)) for k in keys):
        return {int(k): float(v) for k, v in result.items()}
    return coherence_by_size(result)


@keras_mmvae_export("keras_mmvae.evaluation.plot_coherence_by_size")
def plot_coherence_by_size(
    results: dict,
    path: str | os.PathLike | None = None,
    title: str | None = None,
    ylabel: str = "conditional coherence",
):
    """Coherence vs number of input modalities, one line per model.

    Args:
        results: Dict model label → either a `coherence` result (the full
            matrix, summarised with `coherence_by_size`) or an already
            summarised dict size → value. A value may also be a list of such
            dicts (one per seed): the line is then the mean with a ±std band.
        path: If given, the figure is saved there.
        title: Optional title.
        ylabel: Y-axis label.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    if not results:
        raise ValueError("Nothing to plot: `results` is empty.")
    fig = _figure(4.5, 3.2)
    ax = fig.subplots()
    sizes_seen = set()
    for label, result in results.items():
        runs = result if isinstance(result, (list, tuple)) else [result]
        summaries = [_summary(r) for r in runs]
        sizes = sorted(set().union(*summaries))
        values = np.array([[s.get(k, np.nan) for k in sizes]
                           for s in summaries])
        mean = np.nanmean(values, axis=0)
        ax.plot(sizes, mean, marker="o", label=str(label))
        if len(runs) > 1:
            std = np.nanstd(values, axis=0)
            ax.fill_between(sizes, mean - std, mean + std, alpha=0.2)
        sizes_seen.update(sizes)
    ax.set_xticks(sorted(sizes_seen))
    ax.set_xlabel("number of input modalities")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig


def _probe_by_size(row):
    sizes = {}
    for key, value in row.items():
        if key.startswith("linear_probe/"):
            size = len(key.split("/", 1)[1].split("+"))
            sizes.setdefault(size, []).append(value)
    return {size: float(np.mean(v)) for size, v in sorted(sizes.items())}


@keras_mmvae_export("keras_mmvae.evaluation.plot_learning_curves")
def plot_learning_curves(
    curves: list[dict],
    path: str | os.PathLike | None = None,
    title: str | None = None,
):
    """Coherence, latent probe and KL against the training step.

    Args:
        curves: One dict per evaluation with a `"step"` key and the logged
            values: `coherence/<k>` (coherence from `k` inputs),
            `linear_probe/<subset>` (averaged here by subset size),
            `unconditional_coherence`, `kl_loss`, `reconstruction_loss`
            (as written to `curves.json` by `python -m keras_mmvae train`).
        path: If given, the figure is saved there.
        title: Optional title.

    Returns:
        The `matplotlib.figure.Figure`: scores in [0, 1] on the left, the
        KL (and reconstruction loss, right axis) on the right.
    """
    rows = [r for r in curves if "step" in r]
    if not rows:
        raise ValueError("Nothing to plot: no row of `curves` has a 'step'.")
    steps = np.array([r["step"] for r in rows], "float64")
    fig = _figure(8.0, 3.2)
    left, right = fig.subplots(1, 2)

    def series(key, fn=None):
        return np.array([(fn(r) if fn else r).get(key, np.nan)
                         for r in rows], "float64")

    keys = sorted({k for r in rows for k in r if k.startswith("coherence/")})
    for key in keys:
        left.plot(steps, series(key), marker=".",
                  label=f"coherence, {key.split('/', 1)[1]} input(s)")
    sizes = sorted({s for r in rows for s in _probe_by_size(r)})
    for size in sizes:
        left.plot(steps, series(size, _probe_by_size), marker=".",
                  linestyle="--", label=f"probe, {size} input(s)")
    if any("unconditional_coherence" in r for r in rows):
        left.plot(steps, series("unconditional_coherence"), marker=".",
                  linestyle=":", label="unconditional coherence")
    left.set_ylim(0.0, 1.0)
    left.set_xlabel("training step")
    left.set_ylabel("score")
    left.grid(alpha=0.3)
    if left.get_lines():
        left.legend(fontsize=7)
    right.plot(steps, series("kl_loss"), color="C3", marker=".", label="KL")
    right.set_xlabel("training step")
    right.set_ylabel("KL (nats)", color="C3")
    right.grid(alpha=0.3)
    if any("reconstruction_loss" in r for r in rows):
        twin = right.twinx()
        twin.plot(steps, series("reconstruction_loss"), color="C0",
                  marker=".")
        twin.set_ylabel("reconstruction loss", color="C0")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path)
    return fig
