"""Bimodal CelebA: 64×64×3 faces and 256-character attribute text
(MoPoE `job_celeba`)."""

from keras_mmvae.src.benchmarks.common.spec import BenchmarkSpec
from keras_mmvae.src.datasets.alphabet import ALPHABET_SIZE

IMAGE_SHAPE = (64, 64, 3)
TEXT_LENGTH = 256
NUM_ATTRIBUTES = 40

SPEC = BenchmarkSpec(
    name="celeba",
    modalities={"image": IMAGE_SHAPE, "text": (TEXT_LENGTH, ALPHABET_SIZE)},
    likelihoods={"image": "laplace", "text": "categorical"},
    likelihood_scale=0.75,
    # MoPoE: (numel(img) / 3) / numel(x_m); text counts characters.
    reconstruction_weights={"image": 1.0 / 3.0, "text": 4096 / TEXT_LENGTH},
    hyperparameters={
        "latent_dim": 20, "style_dim": 32, "beta": 2.5,
        "beta_content": 1.0, "beta_style": 2.0,
        "style_betas": {"image": 1.0, "text": 5.0}, "learning_rate": 5e-4,
        "batch_size": 256, "epochs": 250, "eval_every": 25,
    },
    splits=("train", "test", "official_test"),
    test_split="valid",
    layout=(
        "<data-dir>/img_align_celeba/*.jpg, list_attr_celeba.txt, "
        "list_eval_partition.txt  (CelebA: "
        "http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html)"
    ),
)
