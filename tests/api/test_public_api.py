"""The export records match the public facades, the API pages list every
public name once, and every fenced example in public docstrings runs.

Facades are found by walking `keras_mmvae.__all__` into its public
submodules, so nothing here depends on where the implementations live.
"""

import importlib
import inspect
import pathlib
import re

import pytest

import keras_mmvae as mm
from keras_mmvae.src.api_export import PUBLIC_PATHS

pytestmark = pytest.mark.one_backend

FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)
DIRECTIVE = re.compile(r"^::: *(\S+)", re.MULTILINE)
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _facades(module=mm):
    """The public modules: `keras_mmvae` and what its `__all__` reaches."""
    yield module
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.ismodule(value) and value.__name__.startswith(
                module.__name__ + "."):
            yield from _facades(value)


FACADES = list(_facades())


def _public_names():
    """`{"keras_mmvae.x.Name": object}` for every non-module facade name."""
    names = {}
    for module in FACADES:
        for name in module.__all__:
            value = getattr(module, name)
            if not inspect.ismodule(value) and not name.startswith("__"):
                names[f"{module.__name__}.{name}"] = value
    return names


PUBLIC_NAMES = _public_names()


def _resolve(path):
    """Imports the longest module prefix of `path`, then follows attributes."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def test_facades_are_found():
    names = {m.__name__ for m in FACADES}
    assert {"keras_mmvae", "keras_mmvae.layers", "keras_mmvae.ops",
            "keras_mmvae.datasets.polymnist"} <= names
    assert not any(".src" in name for name in names)


def test_every_record_is_the_object_on_its_facade():
    assert PUBLIC_PATHS
    for path, obj in PUBLIC_PATHS.items():
        assert path in PUBLIC_NAMES, f"{path} is recorded but not public"
        assert PUBLIC_NAMES[path] is obj, path
        assert _resolve(path) is obj, path


def test_every_public_name_is_recorded():
    missing = [path for path, obj in PUBLIC_NAMES.items()
               if PUBLIC_PATHS.get(path) is not obj]
    assert not missing, f"public but not exported with keras_mmvae_export: " \
                        f"{missing}"


def test_api_contract_names():
    for name in ("BarycenterFusion", "MultimodalVAE", "likelihoods", "layers",
                 "ops", "__version__"):
        assert hasattr(mm, name), name
    for name in ("Laplace", "Gaussian", "Bernoulli", "Categorical"):
        assert hasattr(mm.likelihoods, name), name
    assert mm.layers.BarycenterFusion is mm.BarycenterFusion


def test_api_pages_document_every_public_object_once():
    documented = {}
    for page in sorted((ROOT / "docs" / "api").glob("*.md")):
        for path in DIRECTIVE.findall(page.read_text()):
            obj = _resolve(path)
            if not inspect.ismodule(obj):
                documented.setdefault(id(obj), []).append(path)
    public = {}
    for path, obj in PUBLIC_NAMES.items():
        public.setdefault(id(obj), []).append(path)
    undocumented = [paths for key, paths in public.items()
                    if key not in documented]
    assert not undocumented, undocumented
    repeated = [paths for paths in documented.values() if len(paths) > 1]
    assert not repeated, repeated
    not_public = [paths for key, paths in documented.items()
                  if key not in public]
    assert not not_public, not_public


def _documented_members(obj):
    """`obj` and, for a class, its public methods and properties defined in
    keras_mmvae (inherited ones included)."""
    yield obj.__name__, obj
    if not inspect.isclass(obj):
        return
    seen = set()
    for cls in obj.__mro__:
        if not cls.__module__.startswith("keras_mmvae"):
            continue
        for name, member in vars(cls).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if inspect.isroutine(member) or isinstance(member, property):
                yield f"{obj.__name__}.{name}", member


def _examples():
    sources = [(module.__name__, module) for module in FACADES]
    seen = set()
    for path, obj in sorted(PUBLIC_NAMES.items()):
        if (inspect.isclass(obj) or inspect.isroutine(obj)) and id(
                obj) not in seen:
            seen.add(id(obj))
            module = path.rpartition(".")[0]
            sources += [(f"{module}.{name}", member)
                        for name, member in _documented_members(obj)]
    for name, obj in sources:
        # Own docstrings only: `getdoc` would inherit Keras's examples.
        doc = inspect.cleandoc(obj.__doc__ or "")
        for i, block in enumerate(FENCE.findall(doc)):
            yield pytest.param(block, id=f"{name}[{i}]")
    readme = (ROOT / "README.md").read_text()
    for i, block in enumerate(FENCE.findall(readme)):
        yield pytest.param(block, id=f"README[{i}]")


EXAMPLES = list(_examples())


def test_examples_are_found():
    ids = {param.id for param in EXAMPLES}
    assert "keras_mmvae.evaluation.EvaluationCallback[0]" in ids
    assert "keras_mmvae.BarycenterFusion[0]" in ids


@pytest.mark.parametrize("code", EXAMPLES)
def test_docstring_examples_run(code):
    exec(compile(code, "<example>", "exec"), {})
