"""The one registry of model presets: name → fusion and model defaults.

`BarycenterFusion.from_preset`, `MultimodalVAE(fusion=name)`, the model
factories of `mm.models`, the command line and the demo all read it, so a
new model is one entry here (plus its objective, if it brings one).

Each entry is `(fusion kwargs, MultimodalVAE defaults)`: the
`BarycenterFusion` arguments of the preset's posterior, and the model
arguments that the preset sets unless the user passes them.
"""

PRESETS = {
    # MVAE: PoE with the prior expert, plus one ELBO per modality.
    "poe": (dict(mode="poe", subsets="joint", prior_expert=True),
            dict(unimodal_elbos=True)),
    # MMVAE trained with MoPoE's single-sample ELBO.
    "moe": (dict(mode="moe", subsets="joint"), {}),
    # WB-VAE: the 2-Wasserstein barycenter of the available experts.
    "w2": (dict(mode="w2", subsets="joint"), {}),
    # MoPoE: PoE over every subset, the prior expert in the full set.
    "mopoe": (dict(mode="poe", subsets="all", prior_expert="full"), {}),
    # MWB-VAE: W2 barycenters over every subset.
    "mwb": (dict(mode="w2", subsets="all"), {}),
    # MVTCAE (Hwang et al. 2021; MultiVae's defaults α = 0.1, β = 2.5): PoE
    # of the unimodal experts only (no prior expert).
    "mvtcae": (dict(mode="poe", subsets="joint"),
               dict(objective={"name": "mvtcae", "alpha": 0.1,
                               "beta": 2.5})),
}
