"""What the command line needs to know about each benchmark."""

import dataclasses

from keras_mmvae import datasets
from keras_mmvae import models
from keras_mmvae.src.benchmarks.common.spec import BenchmarkSpec
from keras_mmvae.src.benchmarks.registry import SPECS


@dataclasses.dataclass(frozen=True)
class Benchmark:
    spec: BenchmarkSpec
    dataset: object  # the `keras_mmvae.datasets.<name>` module
    factory: object  # `keras_mmvae.models.<name>`

    @property
    def name(self):
        return self.spec.name

    @property
    def modalities(self):
        return self.spec.modality_names

    @property
    def test_split(self):
        return self.spec.test_split

    @property
    def layout(self):
        """Shown when the data folder is missing."""
        return self.spec.layout

    @property
    def hyperparameters(self):
        return self.spec.hyperparameters


BENCHMARKS = {
    name: Benchmark(spec, getattr(datasets, name), getattr(models, name))
    for name, spec in SPECS.items()
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
