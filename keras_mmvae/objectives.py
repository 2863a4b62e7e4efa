"""Training objectives of `MultimodalVAE`: the ELBO, importance-weighted
bounds (IWAE, DReG) and the joint-posterior family (MVTCAE, JMVAE, CRMVAE,
mmJSD). Pick one with `MultimodalVAE(objective=name)` or a preset."""

from keras_mmvae.src.objectives import CRMVAE
from keras_mmvae.src.objectives import ELBO
from keras_mmvae.src.objectives import IWAE
from keras_mmvae.src.objectives import JMVAE
from keras_mmvae.src.objectives import MMJSD
from keras_mmvae.src.objectives import MVTCAE
from keras_mmvae.src.objectives import OBJECTIVES
from keras_mmvae.src.objectives import DReG
from keras_mmvae.src.objectives import ImportanceWeighted
from keras_mmvae.src.objectives import Objective
from keras_mmvae.src.objectives import get

__all__ = [
    "CRMVAE",
    "DReG",
    "ELBO",
    "IWAE",
    "ImportanceWeighted",
    "JMVAE",
    "MMJSD",
    "MVTCAE",
    "OBJECTIVES",
    "Objective",
    "get",
]
