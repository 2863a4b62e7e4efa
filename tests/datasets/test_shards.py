"""Data-parallel shards of `MultimodalDataset`: disjoint, covering, seeded."""

import numpy as np
import pytest

from keras_mmvae.datasets import polymnist

pytestmark = pytest.mark.one_backend

N, SHARDS = 43, 3  # N mod K = 1 row left out per epoch


def write_npz(root, n=N):
    rng = np.random.default_rng(0)
    arrays = {f"m{k}": rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8)
              for k in range(5)}
    np.savez(root / "train.npz", labels=np.arange(n) % 10, **arrays)


def load(root, **kwargs):
    return polymnist.load(root, batch_size=4, seed=7, progress=False,
                          drop_last=False, **kwargs)


def test_shards_are_disjoint_cover_the_epoch_and_are_reproducible(tmp_path):
    write_npz(tmp_path)
    whole = load(tmp_path)
    shards = [load(tmp_path, num_shards=SHARDS, shard_index=k)
              for k in range(SHARDS)]
    again = load(tmp_path, num_shards=SHARDS, shard_index=1)
    for epoch in (0, 1):
        full = whole.order(epoch)
        orders = [s.order(epoch) for s in shards]
        covered = N - N % SHARDS
        for k, order in enumerate(orders):
            np.testing.assert_array_equal(order, full[k:covered:SHARDS])
        joined = np.concatenate(orders)
        assert len(set(joined.tolist())) == len(joined) == covered
        np.testing.assert_array_equal(again.order(epoch), orders[1])
    assert not np.array_equal(shards[0].order(0), shards[0].order(1))
    for shard in shards:
        assert shard.shard_size == N // SHARDS
        assert len(shard) == 4  # ceil(14 / 4): every worker, same steps
        pixels = np.concatenate([shard[i][0]["m1"][:, 5, 5, 0]
                                 for i in range(len(shard))])
        np.testing.assert_array_equal(
            np.round(pixels * 255),
            shard.images["m1"][shard.order(), 5, 5, 0])


def test_one_shard_is_the_whole_epoch(tmp_path):
    write_npz(tmp_path)
    np.testing.assert_array_equal(load(tmp_path).order(3),
                                  load(tmp_path, num_shards=1).order(3))


@pytest.mark.parametrize("num_shards, shard_index", [(2, 2), (2, -1),
                                                     (0, 0), (2.0, 0)])
def test_bad_shards_are_refused(tmp_path, num_shards, shard_index):
    write_npz(tmp_path)
    with pytest.raises(ValueError, match="shard"):
        load(tmp_path, num_shards=num_shards, shard_index=shard_index)
