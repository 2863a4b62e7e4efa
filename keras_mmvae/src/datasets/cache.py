"""Decode-once caches: `.npy` arrays plus a JSON signature, memory-mapped.

A cache entry `<cache_dir>/<key>.json` records a signature of the source
files (names, sizes, modification times) and the preprocessing parameters;
the arrays live beside it as `<key>.<name>.npy` and are opened with
`mmap_mode="r"`, so data sets larger than memory still work and several
processes share the page cache. `.npy` rather than `.npz` because only
`.npy` files can be memory-mapped. The JSON is written last, so an
interrupted build never looks valid. Delete the folder to force a rebuild.
"""

import hashlib
import json
import os
import warnings

import numpy as np

CACHE_VERSION = 1
DEFAULT_DIR_NAME = "keras_mmvae_cache"


def file_signature(paths):
    """A short hash of file names, sizes and modification times."""
    digest = hashlib.sha1()
    for path in paths:
        st = os.stat(path)
        digest.update(
            f"{os.path.basename(path)}|{st.st_size}|{st.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()


def names_signature(entries):
    """A short hash of `(name, size, mtime_ns)` tuples (already stat-ed)."""
    digest = hashlib.sha1()
    for entry in entries:
        digest.update(("|".join(str(e) for e in entry) + "\n").encode())
    return digest.hexdigest()


def entry_key(name, source, cache_dir):
    """`name`, plus a hash of `source` when the cache folder is shared.

    The default cache lives inside the data folder (one data set per
    folder); an explicit `cache_dir` may serve several data sets.
    """
    if cache_dir is None:
        return name
    digest = hashlib.sha1(os.path.realpath(source).encode()).hexdigest()
    return f"{name}_{digest[:10]}"


def _paths(cache_dir, key, names):
    return {n: os.path.join(cache_dir, f"{key}.{n}.npy") for n in names}


def _read(cache_dir, key, signature, mmap):
    meta_path = os.path.join(cache_dir, f"{key}.json")
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    if (meta.get("version") != CACHE_VERSION
            or meta.get("signature") != signature):
        return None
    arrays = {}
    try:
        for name, path in _paths(cache_dir, key, meta["arrays"]).items():
            arr = np.load(path, mmap_mode="r" if mmap else None,
                          allow_pickle=False)
            spec = meta["arrays"][name]
            if (list(arr.shape) != spec["shape"]
                    or str(arr.dtype) != spec["dtype"]):
                return None
            arrays[name] = arr
    except (OSError, ValueError, KeyError):
        return None
    return arrays


def write_atomically(path, write):
    """Calls `write(tmp)` on a temporary name beside `path`, then renames it
    onto `path`; if anything fails, the temporary file is removed (a failed
    write leaves nothing behind). `tmp` keeps `path`'s extension, so
    `np.save`/`np.savez` do not append another."""
    stem, extension = os.path.splitext(os.fspath(path))
    tmp = f"{stem}.tmp{os.getpid()}{extension}"
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _write(cache_dir, key, signature, arrays):
    os.makedirs(cache_dir, exist_ok=True)
    paths = _paths(cache_dir, key, arrays)
    meta_path = os.path.join(cache_dir, f"{key}.json")
    meta = {
        "version": CACHE_VERSION,
        "signature": signature,
        "arrays": {n: {"shape": list(a.shape), "dtype": str(a.dtype)}
                   for n, a in arrays.items()},
    }

    def write_meta(tmp):
        with open(tmp, "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)

    _remove(meta_path)  # an old entry must not vouch for new arrays
    try:
        for name, path in paths.items():
            write_atomically(path, lambda tmp, a=arrays[name]: np.save(
                tmp, np.ascontiguousarray(a)))
        write_atomically(meta_path, write_meta)
    except BaseException:
        for path in paths.values():
            _remove(path)
        raise


def cached(build, cache_dir, key, signature, enabled=True, mmap=True):
    """Returns `build()`'s dict of arrays, from the cache when it is valid.

    Args:
        build: Zero-argument function returning `{name: np.ndarray}`.
        cache_dir: Folder of the cache (created on demand).
        key: Entry name (e.g. `"polymnist_train"`).
        signature: JSON-serialisable description of the sources and
            parameters; the entry is rebuilt when it changes.
        enabled: `False` builds in memory and touches no file.
        mmap: Open cached arrays memory-mapped (read-only).
    """
    signature = json.loads(json.dumps(signature, sort_keys=True))
    if enabled:
        arrays = _read(cache_dir, key, signature, mmap)
        if arrays is not None:
            return arrays
    arrays = build()
    if enabled:
        try:
            _write(cache_dir, key, signature, arrays)
        except OSError as e:
            warnings.warn(
                f"Could not write the decode cache to {cache_dir!r} ({e}); "
                "the data will be decoded again next time. Pass `cache_dir=` "
                "a writable folder to avoid that.",
                stacklevel=3,
            )
            return arrays
        reread = _read(cache_dir, key, signature, mmap)
        if reread is not None:
            return reread
    return arrays
