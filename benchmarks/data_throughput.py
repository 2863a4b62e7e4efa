"""Throughput of the keras_mmvae data loaders (batches/s at batch 256).

Writes synthetic data in the real on-disk formats to a temporary folder
(PolyMNIST PNGs via `polymnist.make`, MNIST IDX + SVHN `.mat`, CelebA JPEGs
with the official lists), loads each benchmark with its loader and times
`dataset[i]` over whole epochs (what `model.fit` pulls), after the one-time
decode. Nothing is downloaded.

Usage (from the repository root):

    KERAS_BACKEND=jax python -m benchmarks.data_throughput [--batch-size 256]

A PolyMNIST training step of the reference model runs at ≈ 400 samples/s
on a 2-core CPU (docs/benchmarks/performance.md, "Measured"), so a loader
should deliver ≥ 5× that, i.e. ≥ ~8 batches/s of 256.
"""

import argparse
import tempfile
import time
from pathlib import Path

from keras_mmvae.datasets import celeba
from keras_mmvae.datasets import mnist_svhn_text
from keras_mmvae.datasets import polymnist
from keras_mmvae.src.testing import fixtures

TARGET_BATCHES_PER_S = 8.0


def time_epochs(data, min_seconds=2.0, max_epochs=5):
    """Mean batches/s over whole epochs (at least `min_seconds`)."""
    data[0]  # warm-up (page cache, lazy imports)
    batches, start = 0, time.perf_counter()
    for _ in range(max_epochs):
        for i in range(len(data)):
            data[i]
            batches += 1
        data.on_epoch_end()
        if time.perf_counter() - start >= min_seconds:
            break
    return batches / (time.perf_counter() - start)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def bench_polymnist(root, batch_size, num_train):
    mnist = (fixtures.mnist_like(num_train, 0), fixtures.mnist_like(64, 1))
    _, make_s = timed(lambda: polymnist.make(mnist, root / "poly", seed=0,
                                             progress=False))
    _, first_s = timed(lambda: polymnist.load(root / "poly", "train",
                                              batch_size=batch_size,
                                              progress=False))
    data, cached_s = timed(lambda: polymnist.load(
        root / "poly", "train", batch_size=batch_size, seed=0,
        progress=False))
    note = f"make: {num_train * 5 / make_s:,.0f} PNG/s"
    rows = [("PolyMNIST", data, first_s, cached_s, note)]
    masked = polymnist.load(root / "poly", "train", batch_size=batch_size,
                            seed=0, missing_rate=0.3, progress=False)
    rows.append(("PolyMNIST, missing_rate=0.3", masked, None, None, ""))
    return rows


def bench_mnist_svhn_text(root, batch_size, num_mnist, num_svhn):
    fixtures.write_mnist_idx(root / "mst" / "MNIST", num_mnist, 100)
    fixtures.write_svhn_mat(root / "mst" / "SVHN", num_svhn, 100)
    _, first_s = timed(lambda: mnist_svhn_text.load(
        root / "mst", "train", batch_size=batch_size))
    data, cached_s = timed(lambda: mnist_svhn_text.load(
        root / "mst", "train", batch_size=batch_size, seed=0))
    note = f"{data.num_examples:,} triples (dm=20)"
    return [("MNIST-SVHN-Text", data, first_s, cached_s, note)]


def bench_celeba(root, batch_size, num_images):
    fixtures.write_celeba(root / "celeba", num_images, "txt",
                          partitions=[0] * num_images)
    _, first_s = timed(lambda: celeba.load(root / "celeba", "train",
                                           batch_size=batch_size,
                                           progress=False))
    data, cached_s = timed(lambda: celeba.load(
        root / "celeba", "train", batch_size=batch_size, seed=0,
        progress=False))
    note = f"decode: {num_images / first_s:,.0f} JPEG/s"
    return [("CelebA", data, first_s, cached_s, note)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--quick", action="store_true",
                        help="smaller synthetic data sets")
    args = parser.parse_args()
    bs = args.batch_size
    scale = 1 if args.quick else 4
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = []
        rows += bench_polymnist(root, bs, 1024 * scale)
        rows += bench_mnist_svhn_text(root, bs, 1500 * scale, 2000 * scale)
        rows += bench_celeba(root, bs, 512 * scale)
        header = (f"{'loader':<30} {'examples':>9} {'batches/s':>10} "
                  f"{'samples/s':>10} {'1st load':>9} {'reload':>7}  notes")
        print(f"\nbatch size {bs}; target >= {TARGET_BATCHES_PER_S:.0f} "
              "batches/s\n")
        print(header)
        print("-" * len(header))
        for name, data, first_s, cached_s, note in rows:
            rate = time_epochs(data)
            first = "" if first_s is None else f"{first_s:8.2f}s"
            cached = "" if cached_s is None else f"{cached_s:6.2f}s"
            flag = "" if rate >= TARGET_BATCHES_PER_S else "  BELOW TARGET"
            print(f"{name:<30} {data.num_examples:>9,} {rate:>10.1f} "
                  f"{rate * bs:>10,.0f} {first:>9} {cached:>7}  {note}{flag}")


if __name__ == "__main__":
    main()
