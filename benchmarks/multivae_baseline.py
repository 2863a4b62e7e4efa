"""Training throughput of the PyTorch library MultiVae on the PolyMNIST
reference model: the baseline `train_step --versus-multivae` compares to.

MultiVae's own PolyMNIST networks (`EncoderConvMMNIST`,
`DecoderConvMMNIST`: the conv encoder with a Dense(512) layer and two
linear heads, and the conv-transpose decoder of MoPoE), five 3×28×28
modalities, latent 512, Laplace(0.75) likelihoods, Adam(5e-4), random
data, CPU: the same model `mm.models.polymnist()` builds. `--encoder
adapted` uses MultiVae's variant with convolutional heads instead. Prints
one JSON line per model: `{"library": "multivae", "model": ...,
"batch": ..., "samples_per_s": ..., "median_step_s": ...}`.

The models, with the settings of our presets of the same name:
`MoPoE` (β 2.5), `MVAE`, `MMVAE` (`--loss dreg_looser` with `--k` importance
samples, Laplace posteriors, learned prior scale), `MMVAEPlus` (the same,
with `--style-dim` private dimensions and learned auxiliary priors, β 2.5),
`MVTCAE` (α 0.1, β 2.5), `CRMVAE` (β 2.5) and `JMVAE` (α 0.1, β 1, with
the joint encoder of `mm.models.polymnist(model="jmvae")`: one feature
encoder per modality, their concatenated means and log-variances, a ReLU
Dense(512), Gaussian heads). Where the latent size differs from 512 or
there is a private latent, the encoder is the same architecture with a
Dense(512) of its own (MultiVae's ties its width to the latent size).

MultiVae needs PyTorch and its own pinned dependencies, so it runs in a
virtual environment of its own: `$MULTIVAE_VENV`, by default
`~/.cache/keras_mmvae/multivae-venv`. The first run creates it (about
6 GB from the package index; a minute or two) with

    pip install torch==2.14.1 torchvision==0.29.1 multivae==1.0.3

and every run then re-executes this file with that environment's Python.

    python -m benchmarks.multivae_baseline [--models MoPoE MVAE] \\
        [--batch 256] [--steps 12]

This file imports only the standard library at the top: the part that
measures runs inside MultiVae's environment, where keras_mmvae is not
installed.
"""

import argparse
import contextlib
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

REQUIREMENTS = ("torch==2.14.1", "torchvision==0.29.1", "multivae==1.0.3")
DEFAULT_VENV = pathlib.Path.home() / ".cache" / "keras_mmvae" / "multivae-venv"
MODELS = ("MoPoE", "MVAE", "MMVAE", "MMVAEPlus", "MVTCAE", "CRMVAE",
          "JMVAE")


# ------------------------------------------------- the environment (driver)
def venv_dir():
    return pathlib.Path(os.environ.get("MULTIVAE_VENV", DEFAULT_VENV))


def venv_python():
    return venv_dir() / "bin" / "python"


def _has_multivae(python):
    return python.exists() and subprocess.run(
        [str(python), "-c", "import multivae"], capture_output=True
    ).returncode == 0


@contextlib.contextmanager
def _install_lock(venv):
    """An exclusive lock next to the environment, so that two runs never
    install into it at the same time (the second waits, then finds it)."""
    import fcntl

    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_venv(quiet=False):
    """The Python of MultiVae's environment, created on first use."""
    venv, python = venv_dir(), venv_python()
    if _has_multivae(python):
        return python
    with _install_lock(venv):
        if _has_multivae(python):  # installed while we waited
            return python
        out = subprocess.DEVNULL if quiet else None
        print(f"Installing MultiVae into {venv} (once; about 6 GB)",
              file=sys.stderr, flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True,
                       stdout=out)
        pip = [str(python), "-m", "pip", "install", "-q",
               "--disable-pip-version-check"]
        subprocess.run(pip + ["-U", "pip"], check=True, stdout=out)
        subprocess.run(pip + list(REQUIREMENTS), check=True, stdout=out)
    if not _has_multivae(python):
        raise SystemExit(f"MultiVae does not import in {venv}.")
    return python


def run(models=("MoPoE",), batch=256, steps=12, threads=None,
        encoder="reference", latent_dim=512, style_dim=0, k=10,
        loss="dreg_looser"):
    """Measures `models` in MultiVae's environment (set up if needed):
    one result dict per model."""
    command = [str(ensure_venv(quiet=True)), os.path.abspath(__file__),
               "--in-venv", "--models", *models, "--batch", str(batch),
               "--steps", str(steps), "--encoder", encoder,
               "--latent-dim", str(latent_dim), "--style-dim",
               str(style_dim), "--k", str(k), "--loss", loss]
    if threads:
        command += ["--threads", str(threads)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"MultiVae baseline failed:\n{result.stderr[-3000:]}")
    return [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith("{")]


# ------------------------------------ the measurement (MultiVae's venv)
def measure(name, batch, steps, threads, encoder, latent_dim=512,
            style_dim=0, k=10, loss="dreg_looser"):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import multivae.models as mv
    from multivae.data.datasets import MultimodalBaseDataset
    from multivae.models.nn.base_architectures import BaseJointEncoder
    from multivae.models.nn.base_architectures import BaseMultilatentEncoder
    from multivae.models.nn.mmnist import DecoderConvMMNIST
    from multivae.models.nn.mmnist import EncoderConvMMNIST
    from multivae.models.nn.mmnist import EncoderConvMMNIST_adapted
    from pythae.models.base.base_config import BaseAEConfig
    from pythae.models.base.base_utils import ModelOutput

    hidden = 512
    mixture = {"K": k, "loss": loss,
               "prior_and_posterior_dist": "laplace_with_softmax"}
    classes = {
        "MoPoE": (mv.MoPoE, mv.MoPoEConfig, {"beta": 2.5}),
        "MVAE": (mv.MVAE, mv.MVAEConfig, {}),
        "MMVAE": (mv.MMVAE, mv.MMVAEConfig, {**mixture, "learn_prior": True}),
        "MMVAEPlus": (mv.MMVAEPlus, mv.MMVAEPlusConfig, {
            **mixture, "beta": 2.5, "modalities_specific_dim": style_dim,
            "learn_shared_prior": False, "learn_modality_prior": True}),
        "MVTCAE": (mv.MVTCAE, mv.MVTCAEConfig, {"alpha": 0.1, "beta": 2.5}),
        "CRMVAE": (mv.CRMVAE, mv.CRMVAEConfig, {"beta": 2.5}),
        "JMVAE": (mv.JMVAE, mv.JMVAEConfig, {"alpha": 0.1, "beta": 1.0,
                                              "warmup": 0}),
    }
    torch.manual_seed(0)
    if threads:
        torch.set_num_threads(threads)
    names = [f"m{i}" for i in range(5)]
    shape = (3, 28, 28)
    n = batch * steps
    data = MultimodalBaseDataset(
        data={m: torch.rand(n, *shape) for m in names},
        labels=torch.randint(0, 10, (n,)))
    model_class, config_class, extra = classes[name]
    config = config_class(
        n_modalities=5, latent_dim=latent_dim,
        input_dims={m: shape for m in names},
        decoders_dist={m: "laplace" for m in names},
        decoder_dist_params={m: {"scale": 0.75} for m in names}, **extra)

    class ConvEncoder(BaseMultilatentEncoder):
        """EncoderConvMMNIST with a Dense(512) of its own and, with
        `style_dim`, private heads."""

        def __init__(self):
            super().__init__()
            self.latent_dim = latent_dim
            self.trunk = nn.Sequential(
                nn.Conv2d(3, 32, 3, 2, 1), nn.ReLU(),
                nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                nn.Conv2d(64, 128, 3, 2, 1), nn.ReLU(),
                nn.Flatten(), nn.Linear(2048, hidden), nn.ReLU())
            self.heads = nn.Linear(hidden, 2 * (latent_dim + style_dim))

        def forward(self, x):
            mean, log_var, *style = self.heads(self.trunk(x)).split(
                [latent_dim, latent_dim] + [style_dim] * 2 * (style_dim > 0),
                dim=-1)
            out = ModelOutput(embedding=mean, log_covariance=log_var)
            if style_dim:
                out.update(style_embedding=style[0],
                           style_log_covariance=style[1])
            return out

    class JointEncoder(BaseJointEncoder):
        def __init__(self):
            super().__init__()
            self.latent_dim = latent_dim
            self.extractors = nn.ModuleDict(
                {m: ConvEncoder() for m in names})
            self.dense = nn.Linear(2 * latent_dim * len(names), hidden)
            self.heads = nn.Linear(hidden, 2 * latent_dim)

        def forward(self, x):
            parts = []
            for m in names:
                out = self.extractors[m](x[m])
                parts += [out.embedding, out.log_covariance]
            mean, log_var = self.heads(F.relu(self.dense(
                torch.cat(parts, dim=-1)))).chunk(2, dim=-1)
            return ModelOutput(embedding=mean, log_covariance=log_var)

    arch = BaseAEConfig(input_dim=shape, latent_dim=latent_dim)
    if latent_dim == hidden and not style_dim:
        encoder_class = (EncoderConvMMNIST if encoder == "reference"
                         else EncoderConvMMNIST_adapted)
        make_encoder = lambda: encoder_class(arch)  # noqa: E731
    elif encoder == "reference":
        make_encoder = ConvEncoder
    else:
        raise SystemExit("--encoder adapted: MultiVae's encoders for latent "
                         "512 without a private latent only; got latent "
                         f"{latent_dim}, private {style_dim}.")
    decoder_arch = BaseAEConfig(input_dim=shape,
                                latent_dim=latent_dim + style_dim)
    networks = {"encoders": {m: make_encoder() for m in names},
                "decoders": {m: DecoderConvMMNIST(decoder_arch)
                             for m in names}}
    if name == "JMVAE":
        networks["joint_encoder"] = JointEncoder()
    model = model_class(config, **networks)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    model.train()
    times = []
    for inputs in torch.utils.data.DataLoader(data, batch_size=batch,
                                              shuffle=True):
        start = time.perf_counter()
        loss = model(inputs, epoch=1).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    # The first two steps include PyTorch's one-off set-up.
    steady = sorted(times[2:]) or sorted(times)
    median = steady[len(steady) // 2]
    return {"library": "multivae", "model": name, "encoder": encoder,
            "latent_dim": latent_dim, "style_dim": style_dim,
            "K": extra.get("K"), "loss": extra.get("loss"), "batch": batch,
            "threads": torch.get_num_threads(),
            "steps": len(times),
            "params": sum(p.numel() for p in model.parameters()),
            "median_step_s": round(median, 4),
            "samples_per_s": round(batch / median, 1),
            "peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["MoPoE", "MVAE"],
                        choices=MODELS)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=12,
                        help="training steps, the first two untimed")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch threads (default: PyTorch's choice)")
    parser.add_argument("--encoder", choices=("reference", "adapted"),
                        default="reference")
    parser.add_argument("--latent-dim", type=int, default=512)
    parser.add_argument("--style-dim", type=int, default=0,
                        help="private latent size (MMVAEPlus)")
    parser.add_argument("--k", type=int, default=10,
                        help="importance samples (MMVAE, MMVAEPlus)")
    parser.add_argument("--loss", default="dreg_looser",
                        choices=("dreg_looser", "iwae_looser"),
                        help="bound of MMVAE and MMVAEPlus")
    parser.add_argument("--in-venv", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_venv:
        for name in args.models:
            print(json.dumps(measure(name, args.batch, args.steps,
                                     args.threads, args.encoder,
                                     args.latent_dim, args.style_dim,
                                     args.k, args.loss)),
                  flush=True)
        return
    for row in run(args.models, args.batch, args.steps, args.threads,
                   args.encoder, args.latent_dim, args.style_dim, args.k,
                   args.loss):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
