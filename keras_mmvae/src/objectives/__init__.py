"""Training objectives of `MultimodalVAE`, and their registry.

`MultimodalVAE(objective=name)` takes a name of `OBJECTIVES` (or an
`Objective` instance). A new objective is a module here with an
`Objective` subclass, and its name in `OBJECTIVES`.
"""

from keras_mmvae.src.objectives.base import Objective
from keras_mmvae.src.objectives.elbo import ELBO
from keras_mmvae.src.objectives.mvtcae import MVTCAE

OBJECTIVES = {
    "elbo": ELBO,
    "mvtcae": MVTCAE,
}


def get(objective):
    """The `Objective` for a name of `OBJECTIVES` or an instance."""
    if isinstance(objective, Objective):
        return objective
    if objective not in OBJECTIVES:
        raise ValueError(
            f"Unknown objective {objective!r}; use one of "
            f"{sorted(OBJECTIVES)} or an `Objective` instance.")
    return OBJECTIVES[objective]()
