"""What the command line needs to know about each benchmark."""

import dataclasses

from keras_mmvae import datasets
from keras_mmvae import models


@dataclasses.dataclass(frozen=True)
class Benchmark:
    name: str
    dataset: object  # the `keras_mmvae.datasets.<name>` module
    factory: object  # `keras_mmvae.models.<name>`
    modalities: tuple
    test_split: str
    layout: str  # shown when the data folder is missing

    @property
    def hyperparameters(self):
        return models.HYPERPARAMETERS[self.name]


BENCHMARKS = {
    "polymnist": Benchmark(
        "polymnist", datasets.polymnist, models.polymnist,
        tuple(f"m{i}" for i in range(5)), "test",
        "<data-dir>/{train,test}/m0..m4/<index>.<label>.png  (PolyMNIST: "
        "https://zenodo.org/record/4899160/files/PolyMNIST.zip, or make one "
        "from MNIST with `keras_mmvae.datasets.polymnist.make`)",
    ),
    "mnist_svhn_text": Benchmark(
        "mnist_svhn_text", datasets.mnist_svhn_text, models.mnist_svhn_text,
        ("mnist", "svhn", "text"), "test",
        "<data-dir>/MNIST/ (idx files or mnist.npz) and "
        "<data-dir>/SVHN/{train,test}_32x32.mat  (SVHN: "
        "http://ufldl.stanford.edu/housenumbers/)",
    ),
    "celeba": Benchmark(
        "celeba", datasets.celeba, models.celeba, ("image", "text"), "valid",
        "<data-dir>/img_align_celeba/*.jpg, list_attr_celeba.txt, "
        "list_eval_partition.txt  (CelebA: "
        "http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html)",
    ),
}


def get(name):
    if name not in BENCHMARKS:
        raise ValueError(
            f"Unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)}."
        )
    return BENCHMARKS[name]


def infer(modality_names):
    """The benchmark whose modalities a trained model has."""
    for benchmark in BENCHMARKS.values():
        if tuple(modality_names) == benchmark.modalities:
            return benchmark
    raise ValueError(
        f"Cannot tell the benchmark of a model with modalities "
        f"{list(modality_names)}; pass --benchmark."
    )
