"""The package builds, installs from its wheel alone and runs.

Builds the wheel and the sdist with the PEP 517 hooks of the installed
setuptools (no network), installs the wheel into a fresh virtualenv whose
only other path is the dependencies of the test environment, and checks,
from a folder outside the source tree, that `keras_mmvae` imports from the
wheel, trains one step and answers `python -m keras_mmvae --help`.
Backend-agnostic packaging: runs once (`one_backend`).
"""

import os
import pathlib
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.large, pytest.mark.one_backend]

FIT_ONE_STEP = """
import pathlib, sys
import numpy as np
import keras
import keras_mmvae as mm
assert "site-packages" in mm.__file__, mm.__file__
assert not mm.__file__.startswith(sys.argv[1]), mm.__file__
x = {"a": np.ones((8, 3), "float32"), "b": np.zeros((8, 2), "float32")}
vae = mm.MultimodalVAE(
    encoders={n: mm.layers.MLPEncoder(2, hidden_dims=(4,)) for n in x},
    decoders={"a": mm.layers.MLPDecoder((3,), hidden_dims=(4,)),
              "b": mm.layers.MLPDecoder((2,), hidden_dims=(4,))},
    likelihoods={"a": "gaussian", "b": "bernoulli"}, fusion="mwb", seed=0)
vae.compile(optimizer="adam")
history = vae.fit(x, batch_size=8, epochs=1, verbose=0)
assert np.isfinite(history.history["loss"][0])
print("fit ok", mm.__version__)
"""


def _build(hook, out):
    code = (f"from setuptools import build_meta; "
            f"print(build_meta.{hook}({str(out)!r}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return out / result.stdout.strip().splitlines()[-1]


def test_wheel_and_sdist_install_and_run(tmp_path):
    wheel = _build("build_wheel", tmp_path)
    sdist = _build("build_sdist", tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    sources = {str(p.relative_to(ROOT)) for p in
               (ROOT / "keras_mmvae").rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))[:5]
    assert not [n for n in names if n.startswith(("tests/", "docs/"))]
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert any(m.endswith("keras_mmvae/models/__init__.py") for m in members)
    assert any(m.endswith("pyproject.toml") for m in members)

    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", env],
                   check=True, timeout=120)
    python = env / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()"
         "['purelib'])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    # Dependencies come from the test environment; keras_mmvae only from
    # the wheel (the test environment's editable install is a .pth hook,
    # which a path listed in another .pth file does not run).
    pathlib.Path(site, "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check",
         "--python", python, "install", "--no-deps", "--no-index", wheel],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environ["KERAS_BACKEND"] = "jax"
    run = subprocess.run([python, "-c", FIT_ONE_STEP, str(ROOT)],
                         cwd=outside, env=environ, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "fit ok" in run.stdout
    help_text = subprocess.run(
        [python, "-m", "keras_mmvae", "--help"], cwd=outside, env=environ,
        capture_output=True, text=True, timeout=300)
    assert help_text.returncode == 0, help_text.stderr[-3000:]
    assert "demo" in help_text.stdout and "train" in help_text.stdout
    script = env / "bin" / "keras-mmvae"
    assert script.exists()
