"""Public names resolve, and every fenced example in docstrings runs."""

import importlib
import inspect
import pathlib
import re

import pytest

import keras_mmvae as mm
from keras_mmvae.src.api_export import PUBLIC_PATHS

FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)
ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_exported_path_resolves():
    assert PUBLIC_PATHS
    for path, obj in PUBLIC_PATHS.items():
        module_name, _, attr = path.rpartition(".")
        module = importlib.import_module(module_name)
        assert getattr(module, attr) is obj, path


def test_api_contract_names():
    for name in ("BarycenterFusion", "MultimodalVAE", "likelihoods", "layers",
                 "ops", "__version__"):
        assert hasattr(mm, name), name
    for name in ("Laplace", "Gaussian", "Bernoulli", "Categorical"):
        assert hasattr(mm.likelihoods, name), name


def _examples():
    seen = set()
    for path, obj in sorted(PUBLIC_PATHS.items()):
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        doc = inspect.getdoc(obj) or ""
        for i, block in enumerate(FENCE.findall(doc)):
            yield pytest.param(block, id=f"{path}[{i}]")
    readme = (ROOT / "README.md").read_text()
    for i, block in enumerate(FENCE.findall(readme)):
        yield pytest.param(block, id=f"README[{i}]")


@pytest.mark.parametrize("code", list(_examples()))
def test_docstring_examples_run(code):
    exec(compile(code, "<example>", "exec"), {})
