"""Executes every tutorial (`tutorials/*.py`) as a notebook.

Each jupytext percent-format source is converted to a notebook and executed
with nbclient in a fresh kernel, under the current `KERAS_BACKEND` and with
`KERAS_MMVAE_TUTORIAL_MODE=small` (offline data, small models). The
tutorials end with assertions on their key numbers, so a failing cell or a
drifting number fails the test (`one_backend`: run on JAX only unless
`KERAS_MMVAE_TEST_BACKENDS` names more). The executed notebooks are stored
under `build/tutorials/` and re-used by the docs build (`docs/hooks.py`) when
nothing changed.

Run: `KERAS_BACKEND=jax python -m pytest tests/tutorials -q`.
"""

import importlib.util
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


# The tutorials call the same library code that the rest of the suite tests
# on every backend, so `make test` executes them once, on JAX (the backend of
# the docs build, which re-uses these notebooks).
@pytest.mark.large
@pytest.mark.one_backend("jax")
@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_tutorial_runs(source):
    backend = keras.config.backend()
    path, seconds = notebooks.execute(source, backend=backend, mode="small")
    print(f"{source.stem} [{backend}, small]: {seconds:.1f} s")
    assert path.exists()
