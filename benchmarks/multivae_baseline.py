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
import subprocess
import sys
import time

REQUIREMENTS = ("torch==2.14.1", "torchvision==0.29.1", "multivae==1.0.3")
DEFAULT_VENV = pathlib.Path.home() / ".cache" / "keras_mmvae" / "multivae-venv"
MODELS = ("MoPoE", "MVAE", "MMVAE")


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
        encoder="reference"):
    """Measures `models` in MultiVae's environment (set up if needed):
    one result dict per model."""
    command = [str(ensure_venv(quiet=True)), os.path.abspath(__file__),
               "--in-venv", "--models", *models, "--batch", str(batch),
               "--steps", str(steps), "--encoder", encoder]
    if threads:
        command += ["--threads", str(threads)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"MultiVae baseline failed:\n{result.stderr[-3000:]}")
    return [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith("{")]


# ------------------------------------ the measurement (MultiVae's venv)
def measure(name, batch, steps, threads, encoder):
    import torch
    from multivae.data.datasets import MultimodalBaseDataset
    from multivae.models import MMVAE
    from multivae.models import MVAE
    from multivae.models import MMVAEConfig
    from multivae.models import MoPoE
    from multivae.models import MoPoEConfig
    from multivae.models import MVAEConfig
    from multivae.models.nn.mmnist import DecoderConvMMNIST
    from multivae.models.nn.mmnist import EncoderConvMMNIST
    from multivae.models.nn.mmnist import EncoderConvMMNIST_adapted
    from pythae.models.base.base_config import BaseAEConfig

    classes = {"MoPoE": (MoPoE, MoPoEConfig, {"beta": 2.5}),
               "MVAE": (MVAE, MVAEConfig, {}),
               "MMVAE": (MMVAE, MMVAEConfig, {"K": 1})}
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
        n_modalities=5, latent_dim=512,
        input_dims={m: shape for m in names},
        decoders_dist={m: "laplace" for m in names},
        decoder_dist_params={m: {"scale": 0.75} for m in names}, **extra)
    arch = BaseAEConfig(input_dim=shape, latent_dim=512)
    encoder_class = (EncoderConvMMNIST if encoder == "reference"
                     else EncoderConvMMNIST_adapted)
    model = model_class(config,
                        encoders={m: encoder_class(arch) for m in names},
                        decoders={m: DecoderConvMMNIST(arch) for m in names})
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
            "batch": batch, "threads": torch.get_num_threads(),
            "steps": len(times),
            "params": sum(p.numel() for p in model.parameters()),
            "median_step_s": round(median, 4),
            "samples_per_s": round(batch / median, 1)}


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
    parser.add_argument("--in-venv", action="store_true",
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_venv:
        for name in args.models:
            print(json.dumps(measure(name, args.batch, args.steps,
                                     args.threads, args.encoder)),
                  flush=True)
        return
    for row in run(args.models, args.batch, args.steps, args.threads,
                   args.encoder):
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
