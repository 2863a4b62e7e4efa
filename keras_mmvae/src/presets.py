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
    # MMVAE as published (Shi et al. 2019; MultiVae's defaults): the
    # stratified DReG bound with K = 10, Laplace posteriors and a Laplace
    # prior with a learned scale.
    "mmvae": (dict(mode="moe", subsets="joint"),
              dict(objective={"name": "dreg", "num_samples": 10},
                   distribution="laplace", learn_prior=True)),
    # MMVAE+ (Palumbo et al. 2023): MMVAE with private latents (encoders
    # with style heads) whose auxiliary priors r_m have learned scales and
    # replace them in cross-modal reconstructions.
    "mmvae+": (dict(mode="moe", subsets="joint"),
               dict(objective={"name": "dreg", "num_samples": 10},
                    distribution="laplace", learn_private_prior=True,
                    cross_modal_style="prior")),
    # The MMVAE+ treatment of the barycentric mixtures: private latents
    # with learned auxiliary priors and the DReG bound (one component per
    # example, K = 10).
    "mopoe+": (dict(mode="poe", subsets="all", prior_expert="full"),
               dict(objective={"name": "dreg", "num_samples": 10},
                    learn_private_prior=True, cross_modal_style="prior")),
    "mwb+": (dict(mode="w2", subsets="all"),
             dict(objective={"name": "dreg", "num_samples": 10},
                  learn_private_prior=True, cross_modal_style="prior")),
    # MVTCAE (Hwang et al. 2021; MultiVae's defaults α = 0.1, β = 2.5): PoE
    # of the unimodal experts only (no prior expert).
    "mvtcae": (dict(mode="poe", subsets="joint"),
               dict(objective={"name": "mvtcae", "alpha": 0.1},
                    beta=2.5)),
    # CRMVAE (Suzuki & Matsuo 2023; MultiVae's default beta = 2.5): PoE of
    # the unimodal experts, plus each one's own reconstruction.
    "crmvae": (dict(mode="poe", subsets="joint"),
               dict(objective="crmvae", beta=2.5)),
    # JMVAE-kl (Suzuki et al. 2016; MultiVae's alpha = 0.1, beta = 1): needs
    # a joint encoder; subsets are inferred with the PoE of the unimodal
    # experts. MultiVae's warmup=10 epochs is kl_warmup_steps=10*steps/epoch.
    "jmvae": (dict(mode="poe", subsets="joint"),
              dict(objective={"name": "jmvae", "alpha": 0.1})),
    # mmJSD (Sutter et al. 2020): MoE posterior, JS divergence to the
    # dynamic prior (geometric mean of the unimodal posteriors and N(0, I)).
    "mmjsd": (dict(mode="moe", subsets="joint"),
              dict(objective="mmjsd")),
}


def needs_private_latents(preset):
    """Whether preset `preset` trains private (style) latents."""
    if preset not in PRESETS:
        return False
    return bool(PRESETS[preset][1].get("learn_private_prior"))


def needs_joint_encoder(preset):
    """Whether preset `preset` trains a joint encoder over all modalities."""
    if preset not in PRESETS:
        return False
    objective = PRESETS[preset][1].get("objective")
    if isinstance(objective, dict):
        objective = objective.get("name")
    return objective == "jmvae"
