"""PolyMNIST: five 28×28×3 modalities sharing a digit
(MoPoE `job_polymnist`)."""

from keras_mmvae.src.benchmarks.common.spec import BenchmarkSpec

IMAGE_SHAPE = (28, 28, 3)
NUM_MODALITIES = 5
_NAMES = tuple(f"m{i}" for i in range(NUM_MODALITIES))

SPEC = BenchmarkSpec(
    name="polymnist",
    modalities={n: IMAGE_SHAPE for n in _NAMES},
    likelihoods={n: "laplace" for n in _NAMES},
    likelihood_scale=0.75,
    reconstruction_weights={n: 1.0 for n in _NAMES},
    hyperparameters={
        "latent_dim": 512, "beta": 2.5, "learning_rate": 5e-4,
        "batch_size": 256, "epochs": 300, "eval_every": 25,
    },
    splits=("train", "test"),
    test_split="test",
    layout=(
        "<data-dir>/{train,test}/m0..m4/<index>.<label>.png  (PolyMNIST: "
        "https://zenodo.org/record/4899160/files/PolyMNIST.zip, or make one "
        "from MNIST with `keras_mmvae.datasets.polymnist.make`)"
    ),
    model_settings={
        # Shi et al. 2019 weigh the log-ratio by 1 (MultiVae has no β).
        "mmvae": {"beta": 1.0},
        # JMVAE (Suzuki et al. 2016; MultiVae's default β = 1).
        "jmvae": {"beta": 1.0},
        # Palumbo et al. 2023 (MMVAE+), PolyMNIST: shared 32 + private 32,
        # β 2.5, batch 128, 250 epochs; the "+" mixtures share them so
        # that the comparison changes the fusion only.
        **{name: {"latent_dim": 32, "style_dim": 32, "beta": 2.5,
                  "batch_size": 128, "epochs": 250}
           for name in ("mmvae+", "mopoe+", "mwb+")},
    },
)
