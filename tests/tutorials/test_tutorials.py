"""Executes every tutorial (`tutorials/*.py`) as a notebook.

Each jupytext percent-format source is converted to a notebook and executed
with nbclient in a fresh kernel, under the current `KERAS_BACKEND` and with
`KERAS_MMVAE_TUTORIAL_MODE=small` (offline data, small models). The
tutorials end with assertions on their key numbers, so a failing cell or a
drifting number fails the test (skipped on torch unless
`KERAS_MMVAE_TUTORIALS_ON_TORCH=1`). The executed notebooks are stored under
`build/tutorials/` and re-used by the docs build (`docs/hooks.py`) when
nothing changed.

Run: `KERAS_BACKEND=jax python -m pytest tests/tutorials -q`.
"""

import importlib.util
import os
import pathlib
import re

import keras
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


notebooks = _load("keras_mmvae_docs_notebooks",
                  ROOT / "docs" / "scripts" / "notebooks.py")

SOURCES = notebooks.tutorial_sources()


def test_every_tutorial_is_in_the_docs_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for source in SOURCES:
        assert f"tutorials/{source.stem}.ipynb" in nav, source.name


def test_tutorials_are_percent_format_and_keep_the_backend():
    assert SOURCES, "no tutorials found"
    sets_backend = re.compile(
        r"environ\[['\"]KERAS_BACKEND['\"]\]\s*=|"
        r"setdefault\(\s*['\"]KERAS_BACKEND")
    for source in SOURCES:
        text = source.read_text()
        assert text.startswith("# %%") or "\n# %%" in text, (
            f"{source.name} is not a jupytext percent-format script")
        assert not sets_backend.search(text), (
            f"{source.name} sets KERAS_BACKEND; it must come from the "
            "environment")


# PyTorch runs the Keras models eagerly: the tutorials take several times
# longer there, so `make test` runs them on JAX and TensorFlow only. Set
# KERAS_MMVAE_TUTORIALS_ON_TORCH=1 to run them on torch too.
ON_TORCH = os.environ.get("KERAS_MMVAE_TUTORIALS_ON_TORCH", "0") == "1"


@pytest.mark.large
@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_tutorial_runs(source):
    backend = keras.config.backend()
    if backend == "torch" and not ON_TORCH:
        pytest.skip("tutorials run on JAX and TensorFlow; set "
                    "KERAS_MMVAE_TUTORIALS_ON_TORCH=1 for torch")
    path, seconds = notebooks.execute(source, backend=backend, mode="small")
    print(f"{source.stem} [{backend}, small]: {seconds:.1f} s")
    assert path.exists()
