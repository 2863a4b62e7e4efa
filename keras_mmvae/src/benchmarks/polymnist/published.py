"""Published PolyMNIST results, shown beside ours by `keras_mmvae table`.

One `Published` record per (model, paper). A metric's value is `None`
until it is transcribed from the paper and checked against it: the table
then prints "not transcribed" with the citation instead of a number, so
that no number appears here that was not read from the source.

Metrics (the keys of `values`), as the table aggregates our runs:
`coherence_by_size` and `probe_by_size` map the number of input modalities
to a fraction in [0, 1]; `unconditional_coherence` is a fraction;
`log_likelihood_by_size` maps the number of modalities of the proposal to
nats.

To add a number: fill `values`, e.g.
`{"coherence_by_size": {1: ..., 2: ..., 3: ..., 4: ...}}`, and name the
table or figure it comes from in `location`.
"""

import dataclasses

NOT_TRANSCRIBED = "not transcribed"


@dataclasses.dataclass(frozen=True)
class Published:
    """One paper's results for one model on the benchmark.

    Attributes:
        model: The preset name (`keras_mmvae.src.presets.PRESETS`).
        citation: Authors, title, venue and year.
        location: Where in the paper the numbers are (table or figure).
        values: Metric → value or `{number of inputs: value}`; `None` (or
            a missing metric) where the paper's number is not transcribed.
        note: What differs from our protocol, or why values are missing.
    """

    model: str
    citation: str
    location: str
    values: dict = dataclasses.field(default_factory=dict)
    note: str = ""

    def value(self, metric, inputs=None):
        """The published number of `metric` (at `inputs` inputs) or None."""
        value = (self.values or {}).get(metric)
        if isinstance(value, dict):
            return value.get(inputs)
        return value if inputs is None else None


MOPOE_PAPER = ("Sutter, Daunhawer & Vogt, \"Generalized Multimodal ELBO\", "
               "ICLR 2021")
MVTCAE_PAPER = ("Hwang et al., \"Multi-View Representation Learning via "
                "Total Correlation Objective\", NeurIPS 2021")
MMVAE_PLUS_PAPER = ("Palumbo, Daunhawer & Vogt, \"MMVAE+: Enhancing the "
                    "Generative Quality of Multimodal VAEs without "
                    "Compromises\", ICLR 2023")

_PENDING = ("Values not transcribed yet: check them against the paper "
            "before filling them in.")

PUBLISHED = (
    Published(
        model="mopoe", citation=MOPOE_PAPER,
        location="PolyMNIST experiments (coherence, latent representation "
        "and log-likelihood by number of input modalities); table or "
        "figure to be named when transcribed",
        values={"coherence_by_size": None, "probe_by_size": None,
                "log_likelihood_by_size": None},
        note=_PENDING),
    Published(
        model="mvtcae", citation=MVTCAE_PAPER,
        location="PolyMNIST experiments (coherence and latent "
        "representation by number of input modalities); table or figure "
        "to be named when transcribed",
        values={"coherence_by_size": None, "probe_by_size": None},
        note=_PENDING),
    Published(
        model="mmvae+", citation=MMVAE_PLUS_PAPER,
        location="PolyMNIST results (conditional coherence); table to be "
        "named when transcribed",
        values={"coherence_by_size": None},
        note=_PENDING + " Check over which input subsets the paper "
        "averages its coherence before comparing."),
)


def for_model(model):
    """The `Published` records of preset `model` (possibly none)."""
    return [record for record in PUBLISHED if record.model == model]
