"""Building blocks: decode cache, worker pool, procedural textures."""

import os

import numpy as np
import pytest

from keras_mmvae.src.benchmarks.polymnist import textures
from keras_mmvae.src.datasets import cache
from keras_mmvae.src.datasets import parallel

pytestmark = pytest.mark.one_backend


def test_cache_round_trip_signature_and_unwritable_folder(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return {"x": np.arange(12, dtype="uint8").reshape(3, 4),
                "y": np.array([b"a", b"bc"])}

    first = cache.cached(build, tmp_path, "k", {"v": 1})
    second = cache.cached(build, tmp_path, "k", {"v": 1})
    assert len(calls) == 1 and isinstance(second["x"], np.memmap)
    np.testing.assert_array_equal(first["x"], second["x"])
    np.testing.assert_array_equal(second["y"], [b"a", b"bc"])
    cache.cached(build, tmp_path, "k", {"v": 2})  # new signature: rebuild
    assert len(calls) == 2
    os.remove(tmp_path / "k.x.npy")  # damaged entry: rebuild
    cache.cached(build, tmp_path, "k", {"v": 2})
    assert len(calls) == 3
    cache.cached(build, tmp_path, "k", {"v": 2}, enabled=False)
    assert len(calls) == 4
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.warns(UserWarning, match="cache_dir"):
        out = cache.cached(build, blocker / "sub", "k", {"v": 1})
    np.testing.assert_array_equal(out["x"], first["x"])


def test_pool_keeps_order_inline_and_in_processes():
    jobs = [(([i, i + 1],), 2) for i in range(7)]
    for workers in (1, 2):
        bar = parallel.progress_bar(14, "test", enabled=False)
        with parallel.Pool(workers) as pool:
            # `sum` is a builtin, so the workers import nothing heavy.
            out = pool.map_chunks(sum, iter(jobs), bar)
        assert out == [2 * i + 1 for i in range(7)]
    with pytest.raises(ValueError, match="positive int"):
        parallel.Pool(0)


def test_textures_are_seeded_and_distinct():
    a = textures.procedural_backgrounds(6, size=64, seed=0)
    b = textures.procedural_backgrounds(6, size=64, seed=0)
    c = textures.procedural_backgrounds(6, size=64, seed=1)
    assert all(x.shape == (64, 64, 3) and x.dtype == np.uint8 for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    means = np.stack([x.reshape(-1, 3).mean(0) for x in a[:5]])
    gaps = np.linalg.norm(means[:, None] - means[None], axis=-1)
    assert gaps[~np.eye(5, dtype=bool)].min() > 25
    assert not np.array_equal(a[5], a[0])  # the sixth reuses style 0
    with pytest.raises(ValueError, match="29"):
        textures.procedural_background(0, size=20)
