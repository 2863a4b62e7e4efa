"""PolyMNIST on disk: PNG folders, an `.npz` conversion, the `.pt` tensors.

- PNG (MoPoE `MMNIST/`, MMVAE+ `PolyMNIST/`):
  `<root>/{train,test}/m{k}/{i}.{label}.png`, 28×28 RGB; `i` numbers the
  examples of one class, so tuples are matched by the whole file name
  (index *and* label) and sorted numerically by `(label, i)`.
- npz (keras_mmvae's one-time conversion of the tensor layout):
  `<root>/{train,test}.npz` with `m0` … `m{K-1}` (`(N, 3, 28, 28)` float in
  [0, 1] like the `.pt` files, or `(N, 28, 28, 3)` uint8) and `labels`
  `(N,)`.
- tensor (MultiVae, MVTCAE, GeBiD): `<root>/{train,test}/m{k}.pt` +
  `labels.pt`; needs PyTorch, so it is refused with conversion instructions.
"""

import os
import re

import numpy as np

from keras_mmvae.src.datasets import errors

LAYOUT = """\
  <data_dir>/[MMNIST|PolyMNIST/]train/m0/<i>.<label>.png   (28x28 RGB)
  <data_dir>/[MMNIST|PolyMNIST/]train/m1/...  ...  train/m4/
  <data_dir>/[MMNIST|PolyMNIST/]test/m0/ ...  test/m4/
or <data_dir>/[MMNIST|PolyMNIST/]{train,test}.npz  (arrays m0..m4, labels)"""

FILES_PER_JOB = 2048  # PNG files per worker job, decoding and writing.

_MODALITY_DIR = re.compile(r"^m(\d+)$")


def modality_count(folder, suffix=""):
    """Number of consecutive `m0`, `m1`, ... dirs (or `m{k}{suffix}` files)."""
    k = 0
    while True:
        path = os.path.join(folder, f"m{k}{suffix}")
        if not (os.path.isdir(path) if not suffix else os.path.isfile(path)):
            return k
        k += 1


def find(data_dir, split):
    """Locates a split: `("png"|"npz"|"pt", path)`; raises if absent."""
    data_dir = os.fspath(data_dir)
    if not os.path.isdir(data_dir):
        raise errors.missing_data_error(
            f"the PolyMNIST folder ({split!r} split)", data_dir, LAYOUT,
            errors.POLYMNIST_URLS,
        )
    roots = [data_dir] + [os.path.join(data_dir, d) for d in
                          ("MMNIST", "PolyMNIST", "polymnist")]
    for root in roots:
        split_dir = os.path.join(root, split)
        if os.path.isdir(split_dir) and modality_count(split_dir) > 0:
            return "png", split_dir
        if os.path.isfile(os.path.join(root, f"{split}.npz")):
            return "npz", os.path.join(root, f"{split}.npz")
        if os.path.isdir(split_dir) and modality_count(split_dir, ".pt") > 0:
            return "pt", split_dir
    hint = ""
    if modality_count(data_dir) > 0:
        hint = (
            f"\n{data_dir!r} itself holds m0/, m1/, ...: pass its parent "
            "folder (the one containing train/ and test/)."
        )
    error = errors.missing_data_error(
        f"the PolyMNIST {split!r} split", data_dir, LAYOUT,
        errors.POLYMNIST_URLS,
    )
    raise FileNotFoundError(str(error) + hint)


def torch_layout_error(split_dir):
    """The error for the `.pt` tensor layout, with a conversion recipe."""
    root = os.path.dirname(split_dir)
    count = modality_count(split_dir, ".pt")
    return ValueError(
        f"{split_dir!r} holds PolyMNIST in the PyTorch tensor layout "
        f"(m0.pt ... m{count - 1}.pt, labels.pt), which keras_mmvae does not "
        "read because it would need PyTorch. Convert it once (with PyTorch "
        "installed) to the .npz layout:\n"
        "  import numpy as np, torch\n"
        f"  root = {root!r}\n"
        "  for split in ('train', 'test'):\n"
        "      arrays = {f'm{k}': torch.load(f'{root}/{split}/m{k}.pt').numpy()"
        f" for k in range({count})}}\n"
        "      arrays['labels'] = torch.load(f'{root}/{split}/labels.pt')"
        ".numpy()\n"
        "      np.savez(f'{root}/{split}.npz', **arrays)\n"
        "then pass the same folder again."
    )


def _parse(name, folder):
    stem = name[:-4]
    fields = stem.split(".")
    try:
        if len(fields) < 2:
            raise ValueError
        return int(fields[-1]), int(".".join(fields[:-1]))
    except ValueError:
        raise ValueError(
            f"Unexpected file name {os.path.join(folder, name)!r}: PolyMNIST "
            "files are named '<index>.<label>.png' (e.g. '17.3.png')."
        ) from None


def scan_png(split_dir):
    """Lists and matches the PNGs of all modalities of one split.

    Returns:
        `(names, labels, stats)`: file names sorted by `(label, index)`
        (identical in every modality), int64 labels, and per modality a
        list of `(name, size, mtime_ns)` for the cache signature.
    """
    count = modality_count(split_dir)
    per_modality = []
    stats = []
    for k in range(count):
        folder = os.path.join(split_dir, f"m{k}")
        keys = {}
        entries = []
        with os.scandir(folder) as it:
            for entry in it:
                if not entry.name.endswith(".png"):
                    continue
                keys[_parse(entry.name, folder)] = entry.name
                st = entry.stat()
                entries.append((entry.name, st.st_size, st.st_mtime_ns))
        if not keys:
            raise FileNotFoundError(
                f"{folder!r} holds no '<index>.<label>.png' files; the "
                f"PolyMNIST layout is:\n{LAYOUT}\nThe data is published at: "
                f"{errors.POLYMNIST_URLS}."
            )
        per_modality.append(keys)
        stats.append(sorted(entries))
    _check_matching(split_dir, per_modality)
    keys = sorted(per_modality[0])
    names = [per_modality[0][key] for key in keys]
    labels = np.array([key[0] for key in keys], dtype="int64")
    return names, labels, stats


def _check_matching(split_dir, per_modality):
    reference = set(per_modality[0])
    for k, keys in enumerate(per_modality[1:], start=1):
        if set(keys) == reference:
            continue
        only_ref = sorted(reference - set(keys))
        only_k = sorted(set(keys) - reference)
        # Same index, different label: the labels of a tuple disagree.
        by_index = {index: label for label, index in only_k}
        clashes = [
            (f"m0/{per_modality[0][(label, index)]}",
             f"m{k}/{per_modality[k][(by_index[index], index)]}")
            for label, index in only_ref if index in by_index
        ]
        message = (
            f"The modalities of {split_dir!r} do not match: m0 and m{k} hold "
            f"{len(reference)} and {len(keys)} files, "
            f"{len(only_ref)} file(s) of m0 have no counterpart in m{k} "
            f"(e.g. {[per_modality[0][x] for x in only_ref[:5]]}) and "
            f"{len(only_k)} of m{k} none in m0 "
            f"(e.g. {[per_modality[k][x] for x in only_k[:5]]})."
        )
        if clashes:
            message += (
                " Labels disagree for the same index, e.g. "
                f"{clashes[0][0]!r} vs {clashes[0][1]!r}."
            )
        raise ValueError(
            message + " Every tuple needs one '<index>.<label>.png' per "
            "modality; re-extract the archive."
        )


def decode_png_files(paths):
    """Decodes 28×28 PNGs to uint8 `(n, 28, 28, 3)` (RGB); names bad files."""
    from PIL import Image
    from PIL import UnidentifiedImageError

    out = np.empty((len(paths), 28, 28, 3), dtype="uint8")
    for row, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                if image.size != (28, 28):
                    raise errors.corrupt_file_error(
                        path, f"image size {image.size}, expected (28, 28)"
                    )
                out[row] = np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise errors.corrupt_file_error(
                path, f"not a PNG image ({e})"
            ) from e
    return out


def read_npz(path):
    """Reads the `.npz` layout; returns `({m{k}: images}, labels)`.

    Float images in [0, 1] that are exact multiples of 1/255 are stored as
    uint8; other floats stay float32. Channels-first input is transposed.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as e:
        raise errors.corrupt_file_error(path, f"not a valid .npz ({e})") from e
    if "labels" not in arrays:
        raise errors.corrupt_file_error(
            path, f"no 'labels' array (found {sorted(arrays)})"
        )
    labels = np.asarray(arrays.pop("labels")).reshape(-1).astype("int64")
    count = 0
    while f"m{count}" in arrays:
        count += 1
    if count == 0:
        raise errors.corrupt_file_error(
            path, f"no 'm0', 'm1', ... arrays (found {sorted(arrays)})"
        )
    images = {}
    for k in range(count):
        x = np.asarray(arrays[f"m{k}"])
        if x.ndim == 4 and x.shape[1:] == (3, 28, 28):
            x = np.transpose(x, (0, 2, 3, 1))
        if x.ndim != 4 or x.shape[1:] != (28, 28, 3):
            raise errors.corrupt_file_error(
                path, f"'m{k}' has shape {x.shape}; expected (N, 3, 28, 28) "
                "or (N, 28, 28, 3)"
            )
        if len(x) != len(labels):
            raise errors.corrupt_file_error(
                path, f"'m{k}' holds {len(x)} images but 'labels' "
                f"{len(labels)}"
            )
        if x.dtype != np.uint8:
            x = x.astype("float32")
            if x.size and (x.min() < 0 or x.max() > 1):
                raise errors.corrupt_file_error(
                    path, f"'m{k}' float values must lie in [0, 1]"
                )
            as_uint8 = np.round(x * 255.0)
            if np.max(np.abs(as_uint8 / 255.0 - x), initial=0) < 1e-6:
                x = as_uint8.astype("uint8")
        images[f"m{k}"] = np.ascontiguousarray(x)
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise errors.corrupt_file_error(path, "labels must lie in 0..9")
    return images, labels
