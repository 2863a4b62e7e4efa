"""MultiVae (PyTorch) side of the oracle comparisons.

Runs under the MultiVae virtualenv's python (``multivae==1.0.3``, torch),
NEVER under pytest (no ``test_`` prefix; tests/oracles/conftest.py also
excludes it from collection)::

    python multivae_side.py IN.npz OUT.npz [IN2.npz OUT2.npz ...]

(several pairs share one start-up: importing torch + MultiVae takes ~5-10 s,
one case well under a second).
It builds the MultiVae model named in the config with small MLP networks,
loads the given (Keras-layout) weights, replaces every reparameterised draw
by the given standard noise, runs ONE ``model(inputs)`` forward (the
training loss) and ``loss.backward()``, and writes the loss and the
gradient of every given weight (Keras layout again). The full contract
(keys, shapes, reductions, draws) is in tests/oracles/README.md; the
summary:

IN.npz
    ``config``  0-d JSON string: ``model`` (MMVAE | MMVAEPlus | MVTCAE |
        JMVAE | CRMVAE), ``modalities`` (ordered names), ``latent_dim`` D,
        ``style_dim`` Dw (MMVAEPlus), ``hidden_dims``, ``input_dims``
        {mod: n}, ``likelihoods`` {mod: {"dist": normal|laplace|bernoulli,
        "scale": s}}, optional ``dtype`` ("float32" default | "float64"),
        optional ``epoch`` (JMVAE only, see below); every OTHER key is passed
        unchanged to MultiVae's config class (``K``, ``loss``,
        ``prior_and_posterior_dist``, ``learn_prior``,
        ``learn_shared_prior``, ``learn_modality_prior``, ``beta``,
        ``alpha``, ``warmup``, ``reconstruction_option``,
        ``uses_likelihood_rescaling``, ``rescale_factors`` ...).
    ``x/<mod>`` (B, n) data; optional ``mask/<mod>`` (B,) 0/1.
    Weights (Keras layout: kernel (in, out), bias (out,)):
        ``enc/<mod>/<i>/{kernel,bias}`` hidden ReLU layers i = 0, 1, ...
        ``enc/<mod>/{mean,log_var}/{kernel,bias}`` the Gaussian heads (D)
        ``enc/<mod>/{style_mean,style_log_var}/{kernel,bias}`` (MMVAEPlus, Dw)
        ``dec/<mod>/<i>/{kernel,bias}`` hidden ReLU layers,
        ``dec/<mod>/out/{kernel,bias}`` linear output (n)
        ``joint/<i>/...``, ``joint/{mean,log_var}/...`` (JMVAE joint encoder
            on concat[x_m for m in modalities])
        MMVAEPlus decoders take concat[w (Dw), u (D)] (OUR order, private
        first); MultiVae feeds [u, w], so the rows of the first decoder
        kernel are permuted here (and the gradient permuted back).
    Learned priors (optional; zeros = MultiVae's init when absent):
        ``prior/log_var`` (D,)            MMVAE ``prior_log_var``
        ``prior/shared_log_var`` (Dw+D,)  MMVAEPlus ``logvars_priors["shared"]``
            laid out [w (Dw), u (D)] like our decoder inputs (permuted here)
        ``prior/private_log_var/<mod>`` (Dw,)  MMVAEPlus ``logvars_priors[mod]``
    Standard noise, eps (the draw is ``loc + scale * eps``):
        MMVAE      ``eps/shared/<c>`` (K, B, D) for every conditioning c
        MMVAEPlus  ``eps/shared/<c>`` (K, B, D), ``eps/private/<c>``
                   (K, B, Dw), ``eps/auxiliary/<c>/<r>`` (K, B, Dw) for
                   r != c (the draw from the prior r_r used in the
                   cross reconstruction c -> r)
        MVTCAE     ``eps/joint`` (B, D)
        JMVAE      ``eps/joint`` (B, D)
        CRMVAE     ``eps/joint`` (B, D), ``eps/unimodal/<m>`` (B, D)
        Modalities missing from the WHOLE batch (all-zero mask) are dropped
        by MMVAE/MMVAEPlus (``drop_unused_modalities``): give no eps for them
        there (MVTCAE and CRMVAE keep them: give their eps).
        Laplace noise (``laplace_with_softmax``) is standard Laplace(0, 1).

OUT.npz
    ``loss`` (MultiVae's ``output.loss``, its own reduction), ``reduction``
    ("sum" over the batch for MMVAE, MMVAEPlus, CRMVAE; "mean" for MVTCAE,
    JMVAE), ``batch_size``, ``loss_mean`` (= loss / B for "sum", else loss),
    ``grad/<key>`` d loss / d weight for every weight/prior key given (the
    gradient of ``loss`` as returned, NOT of ``loss_mean``; zeros where
    MultiVae's graph does not reach the weight), ``draw_order`` (JSON list of
    the eps keys in the order MultiVae drew them).

Every eps key given must be drawn exactly once with the given shape, and
every draw must have a key, else this script fails; during the forward any
other random call (torch.randn, Tensor.uniform_, ...) raises.

JMVAE: ``forward`` anneals the regularisation by ``epoch / warmup`` while
``epoch < warmup``; MultiVae's trainer passes the 1-based epoch and
``forward`` defaults to epoch=1 (annealing 1/warmup!). This script passes
``epoch`` from the config, default ``max(warmup, 1)`` (no annealing).
"""

import json
import math
import sys

import numpy as np
import torch
import torch.distributions as tdist
import torch.nn as nn
import torch.nn.functional as F
from pythae.data.datasets import DatasetOutput
from pythae.models.base.base_utils import ModelOutput

import multivae.models as mv
from multivae.models.nn.base_architectures import BaseDecoder
from multivae.models.nn.base_architectures import BaseEncoder
from multivae.models.nn.base_architectures import BaseJointEncoder
from multivae.models.nn.base_architectures import BaseMultilatentEncoder

OWN_KEYS = {"model", "modalities", "latent_dim", "style_dim", "hidden_dims",
            "likelihoods", "input_dims", "dtype", "epoch"}
REDUCTION = {"MMVAE": "sum", "MMVAEPlus": "sum", "CRMVAE": "sum",
             "MVTCAE": "mean", "JMVAE": "mean"}


class MLP(nn.Module):
    """Hidden ReLU Linear layers followed by named linear heads."""

    def __init__(self, n_in, hidden, heads):
        super().__init__()
        self.hidden = nn.ModuleList()
        for units in hidden:
            self.hidden.append(nn.Linear(n_in, units))
            n_in = units
        self.heads = nn.ModuleDict({k: nn.Linear(n_in, v)
                                    for k, v in heads.items()})

    def forward(self, x):
        for layer in self.hidden:
            x = F.relu(layer(x))
        return {k: head(x) for k, head in self.heads.items()}


class Encoder(BaseEncoder):
    def __init__(self, n, hidden, latent_dim):
        BaseEncoder.__init__(self)
        self.latent_dim = latent_dim
        self.net = MLP(n, hidden, {"mean": latent_dim, "log_var": latent_dim})

    def forward(self, x):
        o = self.net(x)
        return ModelOutput(embedding=o["mean"], log_covariance=o["log_var"])


class StyleEncoder(BaseMultilatentEncoder):
    def __init__(self, n, hidden, latent_dim, style_dim):
        BaseMultilatentEncoder.__init__(self)
        self.latent_dim, self.style_dim = latent_dim, style_dim
        self.net = MLP(n, hidden, {
            "mean": latent_dim, "log_var": latent_dim,
            "style_mean": style_dim, "style_log_var": style_dim})

    def forward(self, x):
        o = self.net(x)
        return ModelOutput(embedding=o["mean"], log_covariance=o["log_var"],
                           style_embedding=o["style_mean"],
                           style_log_covariance=o["style_log_var"])


class JointEncoder(BaseJointEncoder):
    """MLP on concat[x_m for m in modalities] (all modalities, fixed order)."""

    def __init__(self, modalities, n_in, hidden, latent_dim):
        BaseJointEncoder.__init__(self)
        self.modalities = list(modalities)
        self.latent_dim = latent_dim
        self.net = MLP(n_in, hidden, {"mean": latent_dim,
                                      "log_var": latent_dim})

    def forward(self, x):
        o = self.net(torch.cat([x[m] for m in self.modalities], dim=-1))
        return ModelOutput(embedding=o["mean"], log_covariance=o["log_var"])


class Decoder(BaseDecoder):
    def __init__(self, n_in, hidden, n):
        BaseDecoder.__init__(self)
        self.net = MLP(n_in, hidden, {"out": n})

    def forward(self, z):
        return ModelOutput(reconstruction=self.net(z)["out"])


def _linears(prefix, net):
    """Keras key prefix -> torch Linear, for every layer of an MLP."""
    out = {f"{prefix}/{i}": layer for i, layer in enumerate(net.hidden)}
    out.update({f"{prefix}/{k}": head for k, head in net.heads.items()})
    return out


class Noise:
    """Replaces Normal/Laplace.rsample by `loc + scale * eps[key]`.

    `schedule` lists (key, sample_shape) in the order the model draws.
    """

    def __init__(self, eps, schedule, dtype):
        missing = [k for k, _ in schedule if k not in eps]
        extra = sorted(set(eps) - {k for k, _ in schedule})
        if missing or extra:
            raise ValueError(f"eps keys: missing {missing}, unexpected {extra}"
                             f" (expected draws: {[k for k, _ in schedule]})")
        self.eps = {k: torch.as_tensor(v, dtype=dtype) for k, v in eps.items()}
        self.schedule = list(schedule)
        self.order = []

    def rsample(self, dist, sample_shape=torch.Size()):
        if not self.schedule:
            raise RuntimeError(f"unexpected extra draw from {dist!r}")
        key, expected_sample_shape = self.schedule.pop(0)
        shape = dist._extended_shape(torch.Size(sample_shape))
        eps = self.eps[key]
        want = torch.Size(expected_sample_shape) + dist.batch_shape
        if tuple(sample_shape) != tuple(expected_sample_shape) or \
                shape != want or eps.shape != shape:
            raise RuntimeError(
                f"draw {key!r}: model asks sample_shape {tuple(sample_shape)}"
                f" of {type(dist).__name__} batch {tuple(dist.batch_shape)};"
                f" expected sample_shape {tuple(expected_sample_shape)}, "
                f"eps has {tuple(eps.shape)}")
        self.order.append(key)
        return dist.loc + dist.scale * eps

    def install(self):
        """Patches torch; returns a function that undoes every patch."""
        noise = self
        saved = []

        def patch(owner, name, value):
            saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)

        def rsample(dist, sample_shape=torch.Size()):
            return noise.rsample(dist, sample_shape)

        patch(tdist.Normal, "rsample", rsample)
        patch(tdist.Laplace, "rsample", rsample)

        def forbidden(name):
            def f(*args, **kwargs):
                raise RuntimeError(f"un-injected random call {name} during "
                                   "the forward pass")
            return f

        for name in ("randn", "randn_like", "rand", "rand_like", "normal",
                     "randint", "bernoulli", "multinomial"):
            patch(torch, name, forbidden(f"torch.{name}"))
        for name in ("uniform_", "normal_", "exponential_", "bernoulli_",
                     "random_", "cauchy_", "log_normal_", "geometric_"):
            patch(torch.Tensor, name, forbidden(f"Tensor.{name}"))
        patch(tdist.utils, "_standard_normal", forbidden("_standard_normal"))

        def undo():
            for owner, name, value in reversed(saved):
                setattr(owner, name, value)
        return undo

    def check_done(self):
        if self.schedule:
            raise RuntimeError(
                f"eps never drawn: {[k for k, _ in self.schedule]}")


def schedule_for(cfg, present):
    """(eps key, sample_shape) per reparameterised draw, in MultiVae order."""
    model = cfg["model"]
    if model in ("MMVAE", "MMVAEPlus"):
        k = [int(cfg.get("K", 10))]
        out = []
        for c in present:
            out.append((f"shared/{c}", k))
            if model == "MMVAEPlus":
                out.append((f"private/{c}", k))
                out += [(f"auxiliary/{c}/{r}", k) for r in present if r != c]
        return out
    if model in ("MVTCAE", "JMVAE"):
        return [("joint", [])]
    if model == "CRMVAE":
        return [("joint", [])] + [(f"unimodal/{m}", []) for m in present]
    raise ValueError(f"unknown model {model!r}")


def build(cfg):
    mods = list(cfg["modalities"])
    D = int(cfg["latent_dim"])
    Dw = int(cfg.get("style_dim") or 0)
    hidden = [int(h) for h in cfg["hidden_dims"]]
    dims = {m: int(cfg["input_dims"][m]) for m in mods}
    name = cfg["model"]
    kw = {k: v for k, v in cfg.items() if k not in OWN_KEYS}
    lik = cfg["likelihoods"]
    kw.update(
        n_modalities=len(mods), latent_dim=D,
        input_dims={m: (dims[m],) for m in mods},
        decoders_dist={m: lik[m]["dist"] for m in mods},
        decoder_dist_params={m: {"scale": float(lik[m].get("scale", 1.0))}
                             for m in mods if lik[m]["dist"] != "bernoulli"},
    )
    if name == "MMVAEPlus":
        kw["modalities_specific_dim"] = Dw
    config = getattr(mv, name + "Config")(**kw)
    if name == "MMVAEPlus":
        encoders = {m: StyleEncoder(dims[m], hidden, D, Dw) for m in mods}
        decoders = {m: Decoder(D + Dw, hidden, dims[m]) for m in mods}
    else:
        encoders = {m: Encoder(dims[m], hidden, D) for m in mods}
        decoders = {m: Decoder(D, hidden, dims[m]) for m in mods}
    extra = {}
    if name == "JMVAE":
        extra["joint_encoder"] = JointEncoder(
            mods, sum(dims.values()), hidden, D)
    model = getattr(mv, name)(config, encoders=encoders, decoders=decoders,
                              **extra)
    linears = {}
    for m in mods:
        linears.update(_linears(f"enc/{m}", model.encoders[m].net))
        linears.update(_linears(f"dec/{m}", model.decoders[m].net))
    if name == "JMVAE":
        linears.update(_linears("joint", model.joint_encoder.net))
    return model, linears


def _first_dec_layer(key, cfg):
    """Is this Linear the first layer of an MMVAEPlus decoder?"""
    parts = key.split("/")
    first = "0" if cfg["hidden_dims"] else "out"
    return cfg["model"] == "MMVAEPlus" and parts[0] == "dec" and \
        parts[2] == first


def to_torch_weight(kernel, permute, Dw):
    """Keras kernel (in, out) -> torch weight (out, in); rows [w,u]->[u,w]."""
    if permute:
        kernel = np.concatenate([kernel[Dw:], kernel[:Dw]], axis=0)
    return kernel.T


def to_keras_kernel(weight, permute, D):
    """torch weight (out, in) -> Keras kernel; rows [u,w]->[w,u]."""
    kernel = weight.T
    if permute:
        kernel = np.concatenate([kernel[D:], kernel[:D]], axis=0)
    return kernel


def main(in_path, out_path):
    arrays = dict(np.load(in_path, allow_pickle=False))
    cfg = json.loads(str(arrays.pop("config")))
    dtype = {"float32": torch.float32,
             "float64": torch.float64}[cfg.get("dtype", "float32")]
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    torch.set_default_dtype(dtype)
    torch.manual_seed(0)
    mods = list(cfg["modalities"])
    D = int(cfg["latent_dim"])
    Dw = int(cfg.get("style_dim") or 0)
    name = cfg["model"]

    model, linears = build(cfg)
    model = model.to(dtype)
    model.train()

    # --- weights -----------------------------------------------------------
    used = set()
    params = {}  # Keras key -> (torch parameter, to-Keras function)
    with torch.no_grad():
        for key, lin in linears.items():
            kkey, bkey = f"{key}/kernel", f"{key}/bias"
            if kkey not in arrays or bkey not in arrays:
                raise KeyError(f"missing weights {kkey} / {bkey}")
            permute = _first_dec_layer(key, cfg)
            w = to_torch_weight(arrays[kkey], permute, Dw)
            if tuple(w.shape) != tuple(lin.weight.shape) or \
                    arrays[bkey].shape != tuple(lin.bias.shape):
                raise ValueError(
                    f"{key}: kernel {arrays[kkey].shape} bias "
                    f"{arrays[bkey].shape}; MultiVae wants torch weight "
                    f"{tuple(lin.weight.shape)} (= kernel transposed)")
            lin.weight.copy_(torch.as_tensor(np.ascontiguousarray(w)))
            lin.bias.copy_(torch.as_tensor(arrays[bkey]))
            params[kkey] = (lin.weight, lambda g, p=permute:
                            to_keras_kernel(g, p, D))
            params[bkey] = (lin.bias, lambda g: g)
            used |= {kkey, bkey}

        def set_prior(key, param, fn_in, fn_out):
            if key in arrays:
                param.copy_(torch.as_tensor(fn_in(arrays[key])).reshape(
                    param.shape))
                params[key] = (param, fn_out)
                used.add(key)

        if name == "MMVAE":
            set_prior("prior/log_var", model.prior_log_var,
                      lambda a: a, lambda g: g.reshape(-1))
        if name == "MMVAEPlus":
            set_prior("prior/shared_log_var", model.logvars_priors["shared"],
                      lambda a: np.concatenate([a[Dw:], a[:Dw]]),
                      lambda g: np.concatenate(
                          [g.reshape(-1)[D:], g.reshape(-1)[:D]]))
            for m in mods:
                set_prior(f"prior/private_log_var/{m}",
                          model.logvars_priors[m], lambda a: a,
                          lambda g: g.reshape(-1))

    # --- inputs ------------------------------------------------------------
    data = {m: torch.as_tensor(arrays.pop(f"x/{m}"), dtype=dtype)
            for m in mods}
    B = int(next(iter(data.values())).shape[0])
    mask_keys = [f"mask/{m}" for m in mods if f"mask/{m}" in arrays]
    if mask_keys and len(mask_keys) != len(mods):
        raise ValueError("give mask/<mod> for all modalities or none")
    if mask_keys:
        masks = {m: torch.as_tensor(arrays.pop(f"mask/{m}")).bool()
                 for m in mods}
        inputs = DatasetOutput(data=data, masks=masks)
        # Only MMVAE / MMVAEPlus call drop_unused_modalities.
        present = [m for m in mods if bool(masks[m].any())] \
            if name in ("MMVAE", "MMVAEPlus") else mods
    else:
        inputs = DatasetOutput(data=data)
        present = mods
    eps = {k[len("eps/"):]: arrays.pop(k) for k in list(arrays)
           if k.startswith("eps/")}
    leftover = sorted(set(arrays) - used)
    if leftover:
        raise KeyError(f"unknown input keys {leftover}")

    # --- forward / backward --------------------------------------------------
    noise = Noise(eps, schedule_for(cfg, present), dtype)
    undo = noise.install()
    kwargs = {}
    if name == "JMVAE":
        kwargs["epoch"] = int(cfg.get("epoch", max(int(cfg.get("warmup", 10)),
                                                    1)))
    try:
        output = model(inputs, **kwargs)
        noise.check_done()
        loss = output.loss
        loss.backward()
    finally:
        undo()

    reduction = REDUCTION[name]
    lval = float(loss.detach())
    out = {
        "loss": np.asarray(lval, np_dtype),
        "loss_mean": np.asarray(lval / B if reduction == "sum" else lval,
                                np_dtype),
        "batch_size": np.asarray(B),
        "reduction": np.asarray(reduction),
        "draw_order": np.asarray(json.dumps(noise.order)),
    }
    for key, (param, fn) in params.items():
        g = param.grad
        g = np.zeros(param.shape) if g is None else g.detach().cpu().numpy()
        g = np.asarray(fn(g), np_dtype)
        if not math.isfinite(float(np.sum(np.abs(g)))):
            print(f"warning: non-finite gradient for {key}", file=sys.stderr)
        out[f"grad/{key}"] = g
    np.savez(out_path, **out)


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit("usage: python multivae_side.py IN.npz OUT.npz "
                 "[IN2.npz OUT2.npz ...]")
    for i in range(0, len(args), 2):
        try:
            main(args[i], args[i + 1])
        except Exception as e:
            raise RuntimeError(f"case {i // 2} ({args[i]}) failed") from e
