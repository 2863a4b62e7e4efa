"""The record that describes one benchmark, read by its data, models and CLI."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class BenchmarkSpec:
    """What a benchmark is, in one place.

    Attributes:
        name: The benchmark's name (`"polymnist"`, ...).
        modalities: Modality name → shape of one example, in model order.
        likelihoods: Modality name → likelihood name (`"laplace"`,
            `"categorical"`).
        likelihood_scale: Scale of the fixed-scale image likelihoods.
        reconstruction_weights: Modality name → weight of its NLL.
        hyperparameters: Reference model and training settings (MoPoE job
            scripts; `keras_mmvae.models.HYPERPARAMETERS` lists them all).
        splits: The data splits the loader reads.
        test_split: The split the reference evaluates on.
        layout: The expected data folder, shown when it is missing.
        model_settings: Preset name → the settings in which that model was
            published on this benchmark where they differ from
            `hyperparameters` (the factories' `model=` argument applies
            them).
    """

    name: str
    modalities: dict
    likelihoods: dict
    likelihood_scale: float
    reconstruction_weights: dict
    hyperparameters: dict
    splits: tuple
    test_split: str
    layout: str
    model_settings: dict = dataclasses.field(default_factory=dict)

    def settings(self, preset=None):
        """`hyperparameters` with preset `preset`'s published settings."""
        return {**self.hyperparameters,
                **self.model_settings.get(preset, {})}

    @property
    def modality_names(self):
        return tuple(self.modalities)
