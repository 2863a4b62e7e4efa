"""Training objectives of `MultimodalVAE`, and their registry.

`MultimodalVAE(objective=name)` takes a name of `OBJECTIVES` (or an
`Objective` instance). A new objective is a module here with an
`Objective` subclass, and its name in `OBJECTIVES`.
"""

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.objectives.base import Objective
from keras_mmvae.src.objectives.crmvae import CRMVAE
from keras_mmvae.src.objectives.elbo import ELBO
from keras_mmvae.src.objectives.importance import IWAE
from keras_mmvae.src.objectives.importance import DReG
from keras_mmvae.src.objectives.importance import ImportanceWeighted
from keras_mmvae.src.objectives.jmvae import JMVAE
from keras_mmvae.src.objectives.mmjsd import MMJSD
from keras_mmvae.src.objectives.mvtcae import MVTCAE

OBJECTIVES = {
    "elbo": ELBO,
    "iwae": IWAE,
    "dreg": DReG,
    "mvtcae": MVTCAE,
    "crmvae": CRMVAE,
    "jmvae": JMVAE,
    "mmjsd": MMJSD,
}
"""Objective name → class; `MultimodalVAE(objective=...)` reads it."""

for _cls in (Objective, ImportanceWeighted, *OBJECTIVES.values()):
    keras_mmvae_export(f"keras_mmvae.objectives.{_cls.__name__}")(_cls)
keras_mmvae_export("keras_mmvae.objectives.OBJECTIVES")(OBJECTIVES)


@keras_mmvae_export("keras_mmvae.objectives.get")
def get(objective):
    """The `Objective` for a name of `OBJECTIVES`, a config dict
    `{"name": ..., **options}` or an instance."""
    if isinstance(objective, Objective):
        return objective
    options = {}
    if isinstance(objective, dict):
        options = dict(objective)
        objective = options.pop("name", None)
    if objective not in OBJECTIVES:
        raise ValueError(
            f"Unknown objective {objective!r}; use one of "
            f"{sorted(OBJECTIVES)}, a dict {{'name': ..., **options}} or an "
            "`Objective` instance.")
    try:
        return OBJECTIVES[objective](**options)
    except TypeError as error:
        raise ValueError(
            f"Bad options {options} for objective {objective!r}: {error}."
        ) from None
