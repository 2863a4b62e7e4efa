"""Learning parity with MultiVae: per training step, do our models learn as
MultiVae's do?

Trains one of our presets and MultiVae's corresponding model on the same
data with the same networks, the same initial weights, the same batches
(same examples in the same order), optimizer and number of steps, and
writes both learning curves to `<out>/<model>-seed<s>.json` and a figure
(`--figure-dir`): every `--eval-every` steps

* `coherence_1`: one-input conditional coherence, the mean over the
  (input, target ≠ input) pairs of the accuracy of OUR digit classifiers
  on the decoded means generated from one posterior sample given that
  input alone;
* `probe_image`: the linear probe (our `LogisticRegression` protocol, 1000
  training examples) on the posterior mean of one image modality, the mean
  over the three images (`probe/<m>` per modality, the text too);
* `loss`: the training loss (per example), averaged over the steps since
  the previous evaluation.

Both sides' numbers come from the same code here: MultiVae's side dumps
its posterior means and its generations for the fixed evaluation set and
the fixed evaluation noise, and this process scores them with our
classifiers and probe, exactly as it scores ours.

Data: the demo's (`keras_mmvae.src.cli.demo.build_data`: three
PolyMNIST-style image modalities `m0..m2` and the digit's name as text,
with the demo's cached digit classifiers). Networks: the demo's
(`PolyMNISTEncoder`/`PolyMNISTDecoder` with `DEMO_MODEL` sizes, the
MNIST-SVHN-Text text networks); on MultiVae's side PyTorch modules of the
same architecture, written here, loaded with our initial weights.
Likelihoods Laplace(0.75) for the images and categorical for the text with
the demo's "balanced" weights (text 2352 / 8 = 294; MultiVae
`rescale_factors`).

| `--models` | ours | MultiVae |
|---|---|---|
| `mopoe` | `fusion="mopoe"`, β 2.5 | `MoPoE`, β 2.5 |
| `mmvae` | `fusion="mmvae"` (DReG, K), β 1 | `MMVAE` (`dreg_looser`, K; MultiVae's MMVAE has no β) |
| `mmvae+` | `fusion="mmvae+"` (DReG, K), β 2.5, private latents | `MMVAEPlus` (`dreg_looser`, K), β 2.5 |
| `mvtcae` | `fusion="mvtcae"` (PoE of the unimodal experts), α 0.1, β 2.5 | `MVTCAE`, α 0.1, β 2.5 |
| `jmvae` | `fusion="jmvae"`, α 0.1, β 1, joint encoder (below) | `JMVAE`, α 0.1, β 1, the same joint encoder |

MoPoE, MVTCAE and JMVAE have Normal posteriors (latent 64, one sample);
MMVAE and MMVAE+ Laplace ones with K importance samples. JMVAE's joint
encoder is the demo's: `JointMLPEncoder(64, hidden_dims=(256,))` on the
concatenated `(mean, log_var)` of one feature encoder per modality, each
of the unimodal encoders' architecture with weights of its own; on
MultiVae's side a PyTorch module of the same architecture loaded with our
initial weights (its mean and log-variance on the evaluation set are part
of the step-0 check). KL warm-up is off on both sides: MultiVae's JMVAE
anneals its regularisation by `epoch / warmup` (a staircase over epochs,
1/warmup in the first one), ours by a linear ramp over `kl_warmup_steps`
(0 at the first step), and the two never agree step by step; so MultiVae
gets `warmup=0` (factor 1 from the first step) and ours
`kl_warmup_steps=0`.

    python -m benchmarks.learning_parity \\
        --models mopoe mmvae mmvae+ mvtcae jmvae \\
        --steps 300 --batch 64 --eval-every 50 --k 4 --seeds 0

Each library draws its own training noise (`--noise-seed` varies it alone,
with the same weights and batches). `--same-noise` (JMVAE, MoPoE: one
standard normal draw per step) gives both sides the same draws, from
NumPy, so that the two runs differ only by floating-point rounding: the
test that separates an implementation difference from the noise.

MultiVae runs in its own virtual environment (see
`benchmarks/multivae_baseline.py`; created on first use): this file
re-executes itself there with `--in-venv`, and imports only the standard
library at the top.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

MODELS = ("mopoe", "mmvae", "mmvae+", "mvtcae", "jmvae")
MULTIVAE_CLASS = {"mopoe": "MoPoE", "mmvae": "MMVAE", "mmvae+": "MMVAEPlus",
                  "mvtcae": "MVTCAE", "jmvae": "JMVAE"}
IMAGES = ("m0", "m1", "m2")
NAMES = IMAGES + ("text",)
ENCODER_FILTERS, HIDDEN, DECODER_FILTERS = (16, 32, 64), 256, (64, 32, 16)
TEXT_FILTERS, SYMBOLS, TEXT_LENGTH = 128, 71, 8
SCALE = 0.75


def settings_for(model, args):
    """The per-model settings both sides use."""
    plus = model == "mmvae+"
    iwae = model in ("mmvae", "mmvae+")
    return {
        "model": model,
        "latent_dim": args.plus_latent_dim if plus else args.latent_dim,
        "style_dim": args.plus_style_dim if plus else 0,
        "beta": {"mopoe": 2.5, "mmvae": 1.0, "mmvae+": 2.5, "mvtcae": 2.5,
                 "jmvae": 1.0}[model],
        "alpha": {"mvtcae": 0.1, "jmvae": 0.1}.get(model),
        "K": args.k if iwae else None,
        "loss": "dreg_looser" if iwae else "elbo" if model == "mopoe"
        else model,
        "latent_distribution": "laplace" if iwae else "normal",
        "kl_warmup": "off: MultiVae warmup=0, ours kl_warmup_steps=0"
        if model == "jmvae" else None,
        "batch_size": args.batch, "learning_rate": args.learning_rate,
        "adam_epsilon": args.adam_epsilon,
        "training_noise": "the same draws on both sides" if args.same_noise
        else "each library its own" + (
            "" if args.noise_seed is None else
            f", noise seed {args.noise_seed}"),
        "steps": args.steps, "eval_every": args.eval_every,
    }


# ====================================================== MultiVae's side
def torch_side(job_path):
    """Runs in MultiVae's venv: trains, dumps evaluations to npz files."""
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from pythae.data.datasets import DatasetOutput
    from pythae.models.base.base_utils import ModelOutput

    import multivae.models as mv
    from multivae.models.nn.base_architectures import BaseDecoder
    from multivae.models.nn.base_architectures import BaseEncoder
    from multivae.models.nn.base_architectures import BaseJointEncoder
    from multivae.models.nn.base_architectures import BaseMultilatentEncoder

    job = np.load(job_path)
    cfg = json.loads(str(job["config"]))
    torch.manual_seed(cfg["noise_seed"])
    torch.set_num_threads(cfg.get("threads") or torch.get_num_threads())
    latent, style = cfg["latent_dim"], cfg["style_dim"]

    def heads(module, n_in):
        module.mean = nn.Linear(n_in, latent)
        module.log_var = nn.Linear(n_in, latent)
        if style:
            module.style_mean = nn.Linear(n_in, style)
            module.style_log_var = nn.Linear(n_in, style)

    def head_output(module, h):
        out = {"embedding": module.mean(h),
               "log_covariance": module.log_var(h)}
        if style:
            out.update(style_embedding=module.style_mean(h),
                       style_log_covariance=module.style_log_var(h))
        return ModelOutput(**out)

    encoder_base = BaseMultilatentEncoder if style else BaseEncoder

    class ImageEncoder(encoder_base):
        """PolyMNISTEncoder on NHWC images (flattened in Keras's order)."""

        def __init__(self):
            encoder_base.__init__(self)
            self.latent_dim = latent
            f = ENCODER_FILTERS
            self.conv_0 = nn.Conv2d(3, f[0], 3, 2, 1)
            self.conv_1 = nn.Conv2d(f[0], f[1], 3, 2, 1)
            self.conv_2 = nn.Conv2d(f[1], f[2], 3, 2, 1)
            self.dense = nn.Linear(16 * f[2], HIDDEN)
            heads(self, HIDDEN)

        def forward(self, x):
            h = x.permute(0, 3, 1, 2)
            for conv in (self.conv_0, self.conv_1, self.conv_2):
                h = F.relu(conv(h))
            h = F.relu(self.dense(h.permute(0, 2, 3, 1).flatten(1)))
            return head_output(self, h)

    class TextEncoder(encoder_base):
        """DigitTextEncoder on (B, 8, 71) one-hot text."""

        def __init__(self):
            encoder_base.__init__(self)
            self.latent_dim = latent
            self.conv_0 = nn.Conv1d(SYMBOLS, TEXT_FILTERS, 1)
            self.conv_1 = nn.Conv1d(TEXT_FILTERS, TEXT_FILTERS, 4, 2, 1)
            self.conv_2 = nn.Conv1d(TEXT_FILTERS, TEXT_FILTERS, 4, 2, 0)
            heads(self, TEXT_FILTERS)

        def forward(self, x):
            h = x.permute(0, 2, 1)
            for conv in (self.conv_0, self.conv_1, self.conv_2):
                h = F.relu(conv(h))
            return head_output(self, h.flatten(1))

    def unimodal_encoders():
        encoders = {n: ImageEncoder() for n in IMAGES}
        encoders["text"] = TextEncoder()
        return encoders

    class JointEncoder(BaseJointEncoder):
        """JointMLPEncoder: one feature encoder per modality, their
        concatenated (mean, log_var), a ReLU Dense, Gaussian heads."""

        def __init__(self):
            BaseJointEncoder.__init__(self)
            self.latent_dim = latent
            self.extractors = nn.ModuleDict(unimodal_encoders())
            self.dense_0 = nn.Linear(2 * latent * len(NAMES), HIDDEN)
            heads(self, HIDDEN)

        def forward(self, x):
            parts = []
            for n in NAMES:
                features = self.extractors[n](x[n])
                parts += [features.embedding, features.log_covariance]
            return head_output(
                self, F.relu(self.dense_0(torch.cat(parts, dim=-1))))

    def ours_first(z):
        # MultiVae decodes [u, w]; our decoders (and the ported weights)
        # take [w, u].
        if not style:
            return z
        return torch.cat([z[:, latent:], z[:, :latent]], dim=-1)

    class ImageDecoder(BaseDecoder):
        """PolyMNISTDecoder returning NHWC Laplace locations."""

        def __init__(self):
            BaseDecoder.__init__(self)
            f = DECODER_FILTERS
            self.dense = nn.Linear(latent + style, 16 * f[0])
            self.deconv_0 = nn.ConvTranspose2d(f[0], f[1], 3, 2, 1, 0)
            self.deconv_1 = nn.ConvTranspose2d(f[1], f[2], 3, 2, 1, 1)
            self.deconv_2 = nn.ConvTranspose2d(f[2], 3, 3, 2, 1, 1)

        def forward(self, z):
            h = F.relu(self.dense(ours_first(z)))
            h = h.view(-1, 4, 4, DECODER_FILTERS[0]).permute(0, 3, 1, 2)
            h = F.relu(self.deconv_0(h))
            h = F.relu(self.deconv_1(h))
            h = self.deconv_2(h).permute(0, 2, 3, 1)
            return ModelOutput(reconstruction=h)

    class TextDecoder(BaseDecoder):
        """DigitTextDecoder returning (B, 8, 71) logits."""

        def __init__(self):
            BaseDecoder.__init__(self)
            t = TEXT_FILTERS
            self.dense = nn.Linear(latent + style, t)
            self.deconv_0 = nn.ConvTranspose1d(t, t, 4, 1, 0)
            self.deconv_1 = nn.ConvTranspose1d(t, t, 4, 2, 1)
            self.logits = nn.Conv1d(t, SYMBOLS, 1)

        def forward(self, z):
            h = self.dense(ours_first(z))[:, :, None]
            h = F.relu(self.deconv_0(h))
            h = F.relu(self.deconv_1(h))
            return ModelOutput(
                reconstruction=self.logits(h).permute(0, 2, 1))

    encoders = unimodal_encoders()
    decoders = {n: ImageDecoder() for n in IMAGES}
    decoders["text"] = TextDecoder()
    joint = JointEncoder() if cfg["model"] == "jmvae" else None

    # Our initial weights, Keras layout -> PyTorch layout.
    layouts = {nn.Linear: (1, 0), nn.Conv2d: (3, 2, 0, 1),
               nn.ConvTranspose2d: (3, 2, 0, 1), nn.Conv1d: (2, 1, 0),
               nn.ConvTranspose1d: (2, 1, 0)}
    nets = [(f"w/{side}/{name}", net)
            for side, group in (("enc", encoders), ("dec", decoders))
            for name, net in group.items()]
    if joint is not None:
        nets += [(f"w/joint/{name}", net)
                 for name, net in joint.extractors.items()]
        nets.append(("w/joint", joint))
    ported = 0
    for prefix, net in nets:
        for layer_name, layer in net.named_children():
            if type(layer) not in layouts:  # the joint encoder's extractors
                continue
            key = f"{prefix}/{layer_name}"
            kernel = job[f"{key}/kernel"].transpose(layouts[type(layer)])
            with torch.no_grad():
                layer.weight.copy_(torch.as_tensor(kernel.copy()))
                layer.bias.copy_(torch.as_tensor(job[f"{key}/bias"]))
            ported += 2

    common = dict(
        n_modalities=len(NAMES), latent_dim=latent,
        input_dims={**{n: (28, 28, 3) for n in IMAGES},
                    "text": (TEXT_LENGTH, SYMBOLS)},
        uses_likelihood_rescaling=True,
        rescale_factors={**{n: 1.0 for n in IMAGES},
                         "text": cfg["text_weight"]},
        decoders_dist={**{n: "laplace" for n in IMAGES},
                       "text": "categorical"},
        decoder_dist_params={n: {"scale": SCALE} for n in IMAGES})
    name = MULTIVAE_CLASS[cfg["model"]]
    if name == "MoPoE":
        config = mv.MoPoEConfig(beta=cfg["beta"], **common)
        model = mv.MoPoE(config, encoders=encoders, decoders=decoders)
    elif name == "MVTCAE":
        config = mv.MVTCAEConfig(alpha=cfg["alpha"], beta=cfg["beta"],
                                 **common)
        model = mv.MVTCAE(config, encoders=encoders, decoders=decoders)
    elif name == "JMVAE":
        # warmup=0: annealing factor 1 from the first step (epoch >= 0).
        config = mv.JMVAEConfig(alpha=cfg["alpha"], beta=cfg["beta"],
                                warmup=0, **common)
        model = mv.JMVAE(config, encoders=encoders, decoders=decoders,
                         joint_encoder=joint)
    elif name == "MMVAE":
        config = mv.MMVAEConfig(K=cfg["K"], loss="dreg_looser",
                                prior_and_posterior_dist="laplace_with_softmax",
                                learn_prior=True, beta=cfg["beta"], **common)
        model = mv.MMVAE(config, encoders=encoders, decoders=decoders)
    else:
        config = mv.MMVAEPlusConfig(
            K=cfg["K"], loss="dreg_looser",
            prior_and_posterior_dist="laplace_with_softmax",
            learn_shared_prior=False, learn_modality_prior=True,
            beta=cfg["beta"], modalities_specific_dim=style, **common)
        model = mv.MMVAEPlus(config, encoders=encoders, decoders=decoders)
    # MoPoE, MVTCAE and JMVAE return the batch mean, MMVAE(+) the sum.
    reduction_sum = name in ("MMVAE", "MMVAEPlus")
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["learning_rate"],
                                 eps=cfg["adam_epsilon"])

    train = {n: job[f"train/{n}"] for n in NAMES}
    order = job["order"]  # (steps, B) training rows
    evaluation = {n: job[f"eval/{n}"] for n in NAMES}
    probe = {n: job[f"probe/{n}"] for n in NAMES}

    def tensor(rows, arrays):
        out = {}
        for n in NAMES:
            x = arrays[n][rows].astype("float32")
            out[n] = torch.as_tensor(x / 255.0 if n in IMAGES else x)
        return out

    def scale_of(log_var):
        if cfg["latent_distribution"] == "normal":
            return torch.exp(0.5 * log_var)
        return F.softmax(log_var, dim=-1) * log_var.shape[-1] + 1e-6

    @torch.no_grad()
    def evaluate(step):
        model.eval()
        out = {}
        for split, arrays in (("probe", probe), ("eval", evaluation)):
            n_rows = len(arrays["text"])
            for n in NAMES:
                means = []
                for s in range(0, n_rows, 250):
                    x = tensor(np.arange(s, min(s + 250, n_rows)), arrays)
                    means.append(model.encoders[n](x[n]).embedding)
                out[f"mean/{split}/{n}"] = torch.cat(means).numpy()
        n_rows = len(evaluation["text"])
        if joint is not None:
            parts = [joint(tensor(np.arange(s, min(s + 250, n_rows)),
                                  evaluation)) for s in range(0, n_rows, 250)]
            out["mean/eval/joint"] = torch.cat(
                [p.embedding for p in parts]).numpy()
            out["log_var/eval/joint"] = torch.cat(
                [p.log_covariance for p in parts]).numpy()
        for m in NAMES:
            gens = {r: [] for r in NAMES if r != m}
            for s in range(0, n_rows, 250):
                rows = np.arange(s, min(s + 250, n_rows))
                x = tensor(rows, evaluation)
                enc = model.encoders[m](x[m])
                eps = torch.as_tensor(job[f"eps/shared/{m}"][rows])
                u = enc.embedding + scale_of(enc.log_covariance) * eps
                for r in gens:
                    z = u
                    if style:
                        prior = scale_of(model.logvars_priors[r])
                        w = torch.as_tensor(
                            job[f"eps/private/{m}/{r}"][rows]) * prior
                        z = torch.cat([u, w], dim=-1)  # MultiVae's order
                    params = model.decoders[r](z).reconstruction
                    if r == "text":
                        params = F.softmax(params, dim=-1)
                    gens[r].append(params)
            for r, parts in gens.items():
                out[f"gen/{m}/{r}"] = torch.cat(parts).numpy().astype(
                    "float16")
        np.savez(pathlib.Path(cfg["dump_dir"]) / f"eval-{step:06d}.npz",
                 **out)
        model.train()

    if "train_eps" in job.files:  # the step's only draw: Normal.rsample()
        def rsample(self, sample_shape=torch.Size()):
            return self.loc + self.scale * torch.as_tensor(
                job["train_eps"][step - 1])
        torch.distributions.Normal.rsample = rsample

    losses = []
    start = time.monotonic()
    evaluate(0)
    for step in range(1, len(order) + 1):
        batch = DatasetOutput(data=tensor(order[step - 1], train))
        output = model(batch, epoch=1)
        loss = output.loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        losses.append(value / len(order[step - 1]) if reduction_sum
                      else value)
        if step % cfg["eval_every"] == 0 or step == len(order):
            evaluate(step)
            np.save(pathlib.Path(cfg["dump_dir"]) / "losses.npy",
                    np.asarray(losses))
            print(f"multivae {name} step {step} loss "
                  f"{np.mean(losses[-cfg['eval_every']:]):.1f} "
                  f"({time.monotonic() - start:.0f} s)", flush=True)
    np.save(pathlib.Path(cfg["dump_dir"]) / "losses.npy",
            np.asarray(losses))
    print(json.dumps({"ported_arrays": ported,
                      "train_seconds": round(time.monotonic() - start, 1)}))


# =========================================================== our side
def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["mopoe", "mmvae"],
                   choices=MODELS)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--k", type=int, default=4,
                   help="importance samples (MMVAE, MMVAE+)")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--adam-epsilon", type=float, default=1e-8,
                   help="Adam's epsilon on both sides. Keras adds it to "
                   "sqrt(v) before the bias correction, PyTorch after: "
                   "with gradients near epsilon the two differ early in "
                   "training (1e-12 makes it negligible on both)")
    p.add_argument("--latent-dim", type=int, default=64)
    p.add_argument("--plus-latent-dim", type=int, default=32,
                   help="MMVAE+'s shared latent")
    p.add_argument("--plus-style-dim", type=int, default=32,
                   help="MMVAE+'s private latent per modality")
    p.add_argument("--num-train", type=int, default=10000)
    p.add_argument("--num-eval", type=int, default=1000)
    p.add_argument("--num-probe", type=int, default=1000)
    p.add_argument("--classifier-epochs", type=int, default=4)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--noise-seed", type=int, default=None,
                   help="seed of each side's own training noise (PyTorch's "
                   "and the model's SeedGenerator; default: the seed): vary "
                   "it to see the spread the noise alone gives")
    p.add_argument("--same-noise", action="store_true",
                   help="JMVAE and MoPoE: both sides use the same training "
                   "noise (the one standard normal draw of each step, from "
                   "NumPy), so that the runs differ only by floating-point "
                   "rounding")
    p.add_argument("--threads", type=int, default=None,
                   help="PyTorch threads on MultiVae's side")
    p.add_argument("--out", default="runs/parity")
    p.add_argument("--figure-dir", default=None,
                   help="where the JSON and PNG per model go (default: "
                   "--out)")
    p.add_argument("--in-venv", default=None, help=argparse.SUPPRESS)
    return p.parse_args()


def our_model(s, seed):
    import keras

    from keras_mmvae import layers
    from keras_mmvae import likelihoods
    from keras_mmvae import models
    from keras_mmvae.src.models.multimodal_vae import MultimodalVAE

    latent, style = s["latent_dim"], s["style_dim"]

    def make_encoders(prefix):
        encoders = {n: models.PolyMNISTEncoder(
            latent, ENCODER_FILTERS, HIDDEN, style_dim=style,
            name=f"{prefix}_{n}") for n in IMAGES}
        encoders["text"] = models.DigitTextEncoder(
            latent, TEXT_FILTERS, style_dim=style, name=f"{prefix}_text")
        return encoders

    decoders = {n: models.PolyMNISTDecoder(3, DECODER_FILTERS,
                                           name=f"decoder_{n}")
                for n in IMAGES}
    decoders["text"] = models.DigitTextDecoder(TEXT_FILTERS,
                                               name="decoder_text")
    extra = {}
    if s["K"]:
        extra["objective"] = {"name": "dreg", "num_samples": s["K"]}
    if s["alpha"] is not None:
        extra["objective"] = {"name": s["model"], "alpha": s["alpha"]}
    if s["model"] == "jmvae":
        # The demo's joint encoder (no KL warm-up: kl_warmup_steps=0).
        extra["joint_encoder"] = layers.JointMLPEncoder(
            latent, hidden_dims=(HIDDEN,), name="joint_encoder",
            extractors=make_encoders("joint_features"))
    model = MultimodalVAE(
        make_encoders("encoder"), decoders,
        likelihoods={**{n: likelihoods.Laplace(SCALE) for n in IMAGES},
                     "text": "categorical"},
        fusion=s["model"], latent_dim=latent, beta=s["beta"],
        reconstruction_weights="balanced", seed=seed, **extra)
    model.build({**{n: (None, 28, 28, 3) for n in IMAGES},
                 "text": (None, TEXT_LENGTH, SYMBOLS)})
    model.compile(optimizer=keras.optimizers.Adam(
        s["learning_rate"], epsilon=s["adam_epsilon"]))
    return model


def network_weights(model):
    """`w/{enc,dec}/<modality>/<layer>/{kernel,bias}` in Keras layout; with
    a joint encoder also `w/joint/<modality>/<layer>/...` (its feature
    encoders) and `w/joint/{dense_0,mean,log_var}/...`."""
    layers = [(f"w/{side}/{name}", nets[name].network.layers)
              for side, nets in (("enc", model.encoders),
                                 ("dec", model.decoders))
              for name in NAMES]
    joint = model.joint_encoder
    if joint is not None:
        layers += [(f"w/joint/{name}", joint.extractors[name].network.layers)
                   for name in NAMES]
        layers.append(("w/joint", joint.hidden + [joint.head.mean_dense,
                                                  joint.head.log_var_dense]))
    out = {}
    for prefix, group in layers:
        for layer in group:
            if layer.weights:
                kernel, bias = layer.get_weights()
                out[f"{prefix}/{layer.name}/kernel"] = kernel
                out[f"{prefix}/{layer.name}/bias"] = bias
    return out


def our_dump(model, s, probe_x, eval_x, eps):
    """The same quantities MultiVae's side dumps, from our model."""
    import numpy as np
    from keras import ops

    from keras_mmvae.src.ops import distributions

    dist = model.distribution
    out = {}
    for split, arrays in (("probe", probe_x), ("eval", eval_x)):
        for n in NAMES:
            means = [ops.convert_to_numpy(
                model.encoders[n](arrays[n][i:i + 250])[0])
                for i in range(0, len(arrays[n]), 250)]
            out[f"mean/{split}/{n}"] = np.concatenate(means)
    if model.joint_encoder is not None:
        parts = [model.joint_encoder({n: eval_x[n][i:i + 250] for n in NAMES})
                 for i in range(0, len(eval_x["text"]), 250)]
        for i, key in enumerate(("mean/eval/joint", "log_var/eval/joint")):
            out[key] = np.concatenate([ops.convert_to_numpy(p[i])
                                       for p in parts])
    for m in NAMES:
        gens = {r: [] for r in NAMES if r != m}
        for i in range(0, len(eval_x[m]), 250):
            enc = model.encoders[m](eval_x[m][i:i + 250])
            u = enc[0] + distributions.latent_scale(dist, enc[1]) * \
                eps[f"eps/shared/{m}"][i:i + 250]
            for r in gens:
                z = u
                if s["style_dim"]:
                    w = eps[f"eps/private/{m}/{r}"][i:i + 250] * \
                        model.private_prior_scale(r)
                    z = ops.concatenate([w, u], axis=-1)  # our order
                params = model.decoders[r](z)
                gens[r].append(ops.convert_to_numpy(
                    model.likelihoods[r].mean(params)))
        for r, parts in gens.items():
            out[f"gen/{m}/{r}"] = np.concatenate(parts).astype("float16")
    return out


def score(dump, classifiers, probe_y, eval_y):
    """Coherence and probe from a dump, the same code for both sides."""
    import numpy as np

    from keras_mmvae.src.evaluation import common
    from keras_mmvae.src.evaluation.linear_probe import _fit

    row = {}
    pairs = []
    for m in NAMES:
        values = []
        for r in NAMES:
            if r == m:
                continue
            x = dump[f"gen/{m}/{r}"].astype("float32")
            logits = np.concatenate([common.classify(classifiers[r],
                                                     x[i:i + 500])
                                     for i in range(0, len(x), 500)])
            values.append(float(np.mean(logits.argmax(-1) == eval_y)))
        row[f"coherence/{m}"] = float(np.mean(values))
        pairs += values
    row["coherence_1"] = float(np.mean(pairs))
    for n in NAMES:
        probe = _fit(dump[f"mean/probe/{n}"], probe_y)
        row[f"probe/{n}"] = float(np.mean(
            probe.predict(dump[f"mean/eval/{n}"]) == eval_y))
    row["probe_image"] = float(np.mean([row[f"probe/{n}"] for n in IMAGES]))
    return row


SAME_NOISE_MODELS = ("jmvae", "mopoe")  # one standard normal draw per step


def inject_noise(model, name, current):
    """Makes the step's one standard normal draw read `current` (a
    variable assigned before every step): JMVAE's joint sample, MoPoE's
    sample of the chosen component."""
    from keras import ops

    if name == "jmvae":
        model.objective.noise = lambda *_: current.value
    else:
        from keras_mmvae.src.layers import barycenter_fusion

        barycenter_fusion.reparameterize = lambda mean, log_var, seed=None: \
            mean + ops.exp(0.5 * log_var) * current.value


def run_pair(s, seed, splits, classifiers, args, work):
    import keras
    import numpy as np

    from benchmarks import multivae_baseline

    keras.utils.set_random_seed(seed)
    noise_seed = seed if args.noise_seed is None else args.noise_seed
    model = our_model(s, noise_seed)
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    n_train, steps, batch = len(train_y), s["steps"], s["batch_size"]
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(n_train) for _ in range(
        -(-steps * batch // n_train))])[:steps * batch].reshape(steps, batch)
    eval_rows = np.random.default_rng(1000 + seed).permutation(
        len(test_y))[:args.num_eval]
    probe_rows = np.random.default_rng(2000 + seed).permutation(
        n_train)[:args.num_probe]
    eval_x = {n: v[eval_rows] for n, v in test_x.items()}
    probe_x = {n: v[probe_rows] for n, v in train_x.items()}
    eval_y, probe_y = test_y[eval_rows], train_y[probe_rows]
    noise = np.random.default_rng(3000 + seed)
    draw = noise.standard_normal if s["latent_distribution"] == "normal" \
        else noise.laplace
    eps = {}
    for m in NAMES:
        eps[f"eps/shared/{m}"] = draw(
            size=(len(eval_rows), s["latent_dim"])).astype("float32")
        for r in NAMES:
            if s["style_dim"] and r != m:
                eps[f"eps/private/{m}/{r}"] = draw(
                    size=(len(eval_rows), s["style_dim"])).astype("float32")
    text_weight = float(model.reconstruction_weights["text"])

    dump_dir = work / "multivae-dump"
    dump_dir.mkdir(parents=True, exist_ok=True)
    for old in dump_dir.glob("*.np[yz]"):
        old.unlink()

    def u8(arrays, n):
        return np.rint(arrays[n] * 255).astype("uint8") if n in IMAGES \
            else arrays[n].astype("uint8")

    job = {"config": json.dumps({**s, "seed": seed, "noise_seed": noise_seed,
                                 "text_weight": text_weight,
                                 "dump_dir": str(dump_dir),
                                 "threads": args.threads}),
           "order": order, **network_weights(model), **eps}
    train_eps = None
    if args.same_noise:
        train_eps = np.random.default_rng(4000 + seed).standard_normal(
            (steps, batch, s["latent_dim"])).astype("float32")
        job["train_eps"] = train_eps
        current = keras.Variable(train_eps[0], trainable=False)
        inject_noise(model, s["model"], current)
    for n in NAMES:
        job[f"train/{n}"] = u8(train_x, n)
        job[f"eval/{n}"] = u8(eval_x, n)
        job[f"probe/{n}"] = u8(probe_x, n)
    job_path = work / "job.npz"
    np.savez(job_path, **job)

    # Ours: same batches, evaluated on the same rows with the same noise.
    ours, losses = [], []
    first_dump = None
    start = time.monotonic()
    for step in range(0, steps + 1):
        if step:
            if train_eps is not None:
                current.assign(train_eps[step - 1])
            logs = model.train_on_batch({n: v[order[step - 1]]
                                         for n, v in train_x.items()},
                                        return_dict=True)
            losses.append(float(logs["loss"]))
        if step % s["eval_every"] == 0 or step == steps:
            dump = our_dump(model, s, probe_x, eval_x, eps)
            if step == 0:
                first_dump = dump
            row = {"step": step, **score(dump, classifiers, probe_y,
                                         eval_y)}
            if step:
                row["loss"] = float(np.mean(losses[-s["eval_every"]:]))
            ours.append(row)
            print(f"ours {s['model']} seed {seed} step {step}: "
                  f"coh1 {row['coherence_1']:.3f} probe "
                  f"{row['probe_image']:.3f} loss {row.get('loss', 0):.1f} "
                  f"({time.monotonic() - start:.0f} s)", flush=True)
    ours_seconds = time.monotonic() - start

    python = multivae_baseline.ensure_venv(quiet=True)
    start = time.monotonic()
    result = subprocess.run([str(python), os.path.abspath(__file__),
                             "--in-venv", str(job_path)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    print(result.stdout, flush=True)
    if result.returncode != 0:
        raise SystemExit(f"MultiVae side failed:\n{result.stderr[-4000:]}")
    theirs_seconds = time.monotonic() - start
    their_losses = np.load(dump_dir / "losses.npy")
    theirs = []
    for path in sorted(dump_dir.glob("eval-*.npz")):
        step = int(path.stem.split("-")[1])
        with np.load(path) as f:
            dump = dict(f)
        if step == 0:
            # Same initial weights and noise: the port must agree.
            gap = max(float(np.max(np.abs(
                dump[k].astype("float32") - first_dump[k].astype("float32"))))
                for k in dump)
            print(f"step 0: max |ours - MultiVae| over the dumps {gap:.2e}",
                  flush=True)
        row = {"step": step, **score(dump, classifiers, probe_y, eval_y)}
        if step:
            row["loss"] = float(np.mean(
                their_losses[max(0, step - s["eval_every"]):step]))
        theirs.append(row)
        path.unlink()
    return {"ours": ours, "multivae": theirs, "step0_max_abs_gap": gap,
            "text_weight": text_weight, "train_seconds": {
                "ours": round(ours_seconds, 1),
                "multivae": round(theirs_seconds, 1)}}


PANELS = (("coherence_1", "one-input coherence"),
          ("probe_image", "latent probe, one image"),
          ("loss", "training loss per example"))


def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for ax, (key, title) in zip(axes, PANELS):
        for side, colour, label in (("ours", "tab:blue", "keras_mmvae"),
                                    ("multivae", "tab:orange", "MultiVae")):
            for i, (seed, run) in enumerate(report["runs"].items()):
                rows = [r for r in run[side] if key in r]
                ax.plot([r["step"] for r in rows], [r[key] for r in rows],
                        color=colour, marker="o", markersize=3,
                        alpha=1.0 if i == 0 else 0.55,
                        label=label if i == 0 else None)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("training step")
        if key == "loss":
            ax.set_yscale("symlog")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    s = report["settings"]
    fig.suptitle(
        f"{s['model']} vs MultiVae {MULTIVAE_CLASS[s['model']]}: batch "
        f"{s['batch_size']}, Adam {s['learning_rate']:g}"
        + (f", K {s['K']}" if s["K"] else "")
        + f", seeds {', '.join(report['runs'])}"
        + (f"; noise: {s['training_noise']}" if s.get("training_noise",
           "each library its own") != "each library its own" else ""),
        fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    args = parse_args()
    if args.same_noise and set(args.models) - set(SAME_NOISE_MODELS):
        raise SystemExit(f"--same-noise: models {SAME_NOISE_MODELS} only "
                         f"(one draw per step); got {args.models}.")
    if args.in_venv:
        torch_side(args.in_venv)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_mmvae.src.cli import demo

    work = pathlib.Path(args.out)
    folder = work / f"demo-data-{args.num_train}-{args.data_seed}"
    splits = demo.build_data(folder, args.num_train, 2000, args.data_seed)
    classifiers, scores = demo.get_classifiers(
        folder, splits["train"], splits["test"], args.classifier_epochs)
    figures = pathlib.Path(args.figure_dir or work)
    figures.mkdir(parents=True, exist_ok=True)
    for name in args.models:
        s = settings_for(name, args)
        report = {"settings": s, "data": {
            "source": "the demo's data: 3 PolyMNIST-style images + text",
            "num_train": args.num_train, "num_eval": args.num_eval,
            "num_probe": args.num_probe},
            "classifier_accuracy": scores, "runs": {}}
        for seed in args.seeds:
            report["runs"][str(seed)] = run_pair(s, seed, splits,
                                                 classifiers, args, work)
            stem = name.replace("+", "plus")
            (figures / f"{stem}.json").write_text(
                json.dumps(report, indent=1))
            plot(report, figures / f"{stem}.png")
        print(f"wrote {figures / stem}.json and .png", flush=True)


if __name__ == "__main__":
    main()
