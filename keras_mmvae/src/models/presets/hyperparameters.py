"""Reference training settings of the benchmarks (MoPoE job scripts)."""

from keras_mmvae.src.api_export import keras_mmvae_export

HYPERPARAMETERS = {
    "polymnist": {
        "latent_dim": 512, "beta": 2.5, "learning_rate": 5e-4,
        "batch_size": 256, "epochs": 300, "eval_every": 25,
    },
    "mnist_svhn_text": {
        "latent_dim": 20, "beta": 2.5, "learning_rate": 1e-3,
        "batch_size": 256, "epochs": 200, "eval_every": 1,
    },
    "celeba": {
        "latent_dim": 20, "style_dim": 32, "beta": 2.5,
        "beta_content": 1.0, "beta_style": 2.0,
        "style_betas": {"image": 1.0, "text": 5.0}, "learning_rate": 5e-4,
        "batch_size": 256, "epochs": 250, "eval_every": 25,
    },
}
"""Per benchmark: model settings (also the factory defaults) and the
training protocol (Adam(β1=0.9, β2=0.999), `learning_rate`, `batch_size`
with full batches only, `epochs`, evaluation every `eval_every` epochs)."""
keras_mmvae_export("keras_mmvae.models.HYPERPARAMETERS")(HYPERPARAMETERS)
