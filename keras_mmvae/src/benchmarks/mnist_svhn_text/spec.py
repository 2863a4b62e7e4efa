"""MNIST-SVHN-Text: label-matched digits and the digit's word
(MoPoE `job_mnistsvhntext`)."""

from keras_mmvae.src.benchmarks.common.spec import BenchmarkSpec
from keras_mmvae.src.datasets.alphabet import ALPHABET_SIZE

MNIST_SHAPE = (28, 28, 1)
SVHN_SHAPE = (32, 32, 3)
TEXT_LENGTH = 8

SPEC = BenchmarkSpec(
    name="mnist_svhn_text",
    modalities={"mnist": MNIST_SHAPE, "svhn": SVHN_SHAPE,
                "text": (TEXT_LENGTH, ALPHABET_SIZE)},
    likelihoods={"mnist": "laplace", "svhn": "laplace",
                 "text": "categorical"},
    likelihood_scale=0.75,
    # MoPoE: numel(SVHN) / numel(x_m); text counts characters.
    reconstruction_weights={"mnist": 3072 / 784, "svhn": 1.0,
                            "text": 3072 / TEXT_LENGTH},
    hyperparameters={
        "latent_dim": 20, "beta": 2.5, "learning_rate": 1e-3,
        "batch_size": 256, "epochs": 200, "eval_every": 1,
    },
    splits=("train", "test"),
    test_split="test",
    layout=(
        "<data-dir>/MNIST/ (idx files or mnist.npz) and "
        "<data-dir>/SVHN/{train,test}_32x32.mat  (SVHN: "
        "http://ufldl.stanford.edu/housenumbers/)"
    ),
    model_settings={
        "mmvae": {"beta": 1.0},
        # JMVAE (Suzuki et al. 2016; MultiVae's default β = 1).
        "jmvae": {"beta": 1.0},
        # MMVAE+ was not published on this benchmark: private latents as
        # large as the shared one (20 + 20), the MoPoE β.
        **{name: {"style_dim": 20} for name in ("mmvae+", "mopoe+", "mwb+")},
    },
)
