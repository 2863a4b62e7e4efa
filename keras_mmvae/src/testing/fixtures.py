"""Tiny synthetic data in the real on-disk formats (tests, benchmarks, docs).

Every writer produces files a real download would have (IDX, `mnist.npz`,
SVHN `.mat`, CelebA `.txt`/`.csv` lists with JPEGs), filled with small
random content whose identity can be read back from the pixels:

- MNIST image `i`: pixel `(0, 0)` = `i % 256`, `(0, 1)` = `i // 256`, a
  bright block whose row encodes the label, noise elsewhere;
- SVHN image `i`: the same two-pixel id in channel 0;
- CelebA image `i`: a uniform colour `(i % 256, (7 i) % 256, label-dependent)`
  that survives the crop and resize.
"""

import gzip
import os
import struct

import numpy as np


def idx_bytes(array):
    """Serialises a uint8 array as IDX (magic `0x0000 08 <ndim>`)."""
    array = np.ascontiguousarray(array, dtype="uint8")
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + array.tobytes()


def mnist_like(num, seed=0, offset=0):
    """`num` random 28×28 uint8 digits with their index encoded in pixels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=num).astype("uint8")
    images = (rng.random((num, 28, 28)) * 60).astype("uint8")
    ids = np.arange(offset, offset + num)
    for i, label in enumerate(labels):
        row = 4 + 2 * int(label)
        images[i, row:row + 3, 6:22] = 255
    images[:, 0, 0] = ids % 256
    images[:, 0, 1] = ids // 256
    return images, labels


def write_mnist_idx(folder, num_train=300, num_test=100, gz=False, seed=0):
    """Writes the four MNIST IDX files; returns `((x, y), (x, y))`."""
    os.makedirs(folder, exist_ok=True)
    train = mnist_like(num_train, seed)
    test = mnist_like(num_test, seed + 1)
    for prefix, (x, y) in (("train", train), ("t10k", test)):
        for kind, array, dims in (("images", x, 3), ("labels", y, 1)):
            name = f"{prefix}-{kind}-idx{dims}-ubyte"
            data = idx_bytes(array)
            if gz:
                name += ".gz"
                data = gzip.compress(data)
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
    return train, test


def write_mnist_npz(path, num_train=300, num_test=100, seed=0):
    """Writes a Keras-style `mnist.npz`; returns `((x, y), (x, y))`."""
    train = mnist_like(num_train, seed)
    test = mnist_like(num_test, seed + 1)
    np.savez(path, x_train=train[0], y_train=train[1], x_test=test[0],
             y_test=test[1])
    return train, test


def write_svhn_mat(folder, num_train=400, num_test=200, seed=0):
    """Writes `{train,test}_32x32.mat` (`X` `(32, 32, 3, N)`, `y` `(N, 1)`
    with 10 for the digit 0); returns `{split: (x NHWC, digits)}`."""
    import scipy.io

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed + 100)
    out = {}
    for split, num in (("train", num_train), ("test", num_test)):
        x = rng.integers(0, 256, size=(num, 32, 32, 3), dtype="uint8")
        digits = rng.integers(0, 10, size=num)
        digits[:10] = np.arange(10)  # every class, including label 10
        x[:, 0, 0, 0] = np.arange(num) % 256
        x[:, 0, 1, 0] = np.arange(num) // 256
        y = np.where(digits == 0, 10, digits).reshape(-1, 1).astype("uint8")
        scipy.io.savemat(os.path.join(folder, f"{split}_32x32.mat"),
                         {"X": np.transpose(x, (1, 2, 3, 0)), "y": y})
        out[split] = (x, digits.astype("int64"))
    return out


def celeba_colour(i, attributes):
    """The uniform colour of fixture image `i`."""
    return np.array([i % 256, (7 * i) % 256,
                     40 + 150 * int(attributes[20] > 0)], "uint8")


def write_celeba(folder, num_images=24, layout="txt", seed=0,
                 partitions=None, image_size=(178, 218), text=False):
    """Writes a tiny CelebA: `img_align_celeba/*.jpg` and the lists.

    Args:
        folder: Output folder (the CelebA root).
        num_images: Number of images.
        layout: `"txt"` (official lists) or `"csv"` (MoPoE/Kaggle CSVs).
        seed: Seed of the attributes.
        partitions: Partition per image (default: cycles 0, 0, 1, 2).
        image_size: `(width, height)` of the JPEGs.
        text: Also write a MoPoE text CSV (`layout="csv"` only).

    Returns:
        `(image_ids, attributes ±1 (N, 40), partitions)`.
    """
    from PIL import Image

    from keras_mmvae.src.benchmarks.celeba import data as celeba
    from keras_mmvae.src.benchmarks.celeba import files as celeba_files

    rng = np.random.default_rng(seed)
    names = celeba.ATTRIBUTE_NAMES
    ids = [f"{i + 1:06d}.jpg" for i in range(num_images)]
    attributes = np.where(rng.random((num_images, 40)) < 0.3, 1, -1)
    if partitions is None:
        partitions = [(0, 0, 1, 2)[i % 4] for i in range(num_images)]
    image_dir = os.path.join(folder, "img_align_celeba")
    os.makedirs(image_dir, exist_ok=True)
    for i, image_id in enumerate(ids):
        colour = celeba_colour(i, attributes[i])
        array = np.broadcast_to(colour, (image_size[1], image_size[0], 3))
        Image.fromarray(np.ascontiguousarray(array)).save(
            os.path.join(image_dir, image_id), quality=95)
    if layout == "txt":
        with open(os.path.join(folder, "list_attr_celeba.txt"), "w") as f:
            f.write(f"{num_images}\n" + " ".join(names) + " \n")
            for image_id, row in zip(ids, attributes):
                values = " ".join(f"{v:2d}" for v in row)
                f.write(f"{image_id} {values}\n")
        with open(os.path.join(folder, "list_eval_partition.txt"), "w") as f:
            for image_id, p in zip(ids, partitions):
                f.write(f"{image_id} {p}\n")
    elif layout == "csv":
        with open(os.path.join(folder, "list_attr_celeba.csv"), "w") as f:
            f.write("image_id," + ",".join(names) + "\n")
            for image_id, row in zip(ids, attributes):
                f.write(image_id + "," + ",".join(str(v) for v in row) + "\n")
        with open(os.path.join(folder, "list_eval_partition.csv"), "w") as f:
            f.write("image_id,partition\n")
            for image_id, p in zip(ids, partitions):
                f.write(f"{image_id},{p}\n")
        if text:
            texts = [celeba.attribute_text(row, names, rng)
                     for row in attributes]
            celeba_files.write_text_csv(
                os.path.join(folder, celeba.PUBLISHED_TEXT_FILE), ids, texts)
    else:
        raise ValueError(f"`layout` must be 'txt' or 'csv'; got {layout!r}.")
    return ids, attributes, list(partitions)
