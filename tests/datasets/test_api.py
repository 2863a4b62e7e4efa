"""The public surface of `keras_mmvae.datasets`."""

import importlib
import inspect

import keras

from keras_mmvae import datasets
from keras_mmvae.src.api_export import PUBLIC_PATHS

MODULES = ("mnist", "polymnist", "mnist_svhn_text", "celeba")
LOADERS = ("polymnist", "mnist_svhn_text", "celeba")


def _resolve(path):
    module_path, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module_path), name)


def test_recorded_public_paths_resolve():
    paths = {p for p in PUBLIC_PATHS if p.startswith("keras_mmvae.datasets")}
    expected = {"keras_mmvae.datasets." + p for p in (
        "encode_text", "decode_text", "MultimodalDataset", "mnist.load",
        "polymnist.make", "mnist_svhn_text.pair_by_label",
        "celeba.attribute_text", "ALPHABET", "polymnist.PolyMNISTDataset",
        "celeba.CelebADataset", "mnist_svhn_text.MNISTSVHNTextDataset",
        "mnist_svhn_text.DIGIT_WORDS", "with_missing")}
    expected |= {f"keras_mmvae.datasets.{m}.{f}" for m in LOADERS
                 for f in ("load", "load_arrays", "tfds_builder")}
    assert paths == expected
    for path in paths:
        assert _resolve(path) is PUBLIC_PATHS[path], path


def test_loader_signatures_follow_the_api():
    for name in LOADERS:
        module = getattr(datasets, name)
        params = inspect.signature(module.load).parameters
        assert list(params)[:6] == ["data_dir", "split", "batch_size",
                                    "shuffle", "seed", "missing_rate"]
        assert params["split"].default == "train"
        assert params["batch_size"].default == 256
        assert params["shuffle"].default is None
        assert params["seed"].default is None
        assert params["missing_rate"].default == 0.0
        for fn in ("load_arrays", "tfds_builder"):
            assert callable(getattr(module, fn))
    make = inspect.signature(datasets.polymnist.make).parameters
    assert list(make)[:4] == ["mnist", "out_dir", "backgrounds", "seed"]
    assert make["backgrounds"].default is None and make["seed"].default == 0
    assert list(inspect.signature(datasets.mnist.load).parameters) == ["source"]
    assert issubclass(datasets.MultimodalDataset, keras.utils.PyDataset)


def test_public_functions_are_documented_and_annotated():
    """mkdocstrings runs in strict mode: every parameter needs a type."""
    for name in MODULES:
        module = getattr(datasets, name)
        assert module.__doc__
        for attr in module.__all__:
            obj = getattr(module, attr)
            assert obj.__doc__, f"{name}.{attr}"
            if inspect.isfunction(obj):
                sig = inspect.signature(obj)
                for param in sig.parameters.values():
                    assert param.annotation is not inspect.Parameter.empty, (
                        f"{name}.{attr}({param.name})")
                assert sig.return_annotation is not inspect.Signature.empty
                assert "Args:" in obj.__doc__ and "Returns:" in obj.__doc__


def test_heavy_imports_are_lazy():
    """Module-level imports: stdlib, NumPy, Keras and keras_mmvae only.

    Pillow, SciPy, tqdm and tensorflow-datasets are imported inside the
    functions that need them; no backend is imported anywhere.
    """
    import ast
    import pathlib
    import sys

    root = pathlib.Path(datasets.__file__).parents[1]
    files = sorted((root / "datasets").glob("*.py"))
    files += sorted((root / "src" / "datasets").rglob("*.py"))
    files += sorted((root / "src" / "benchmarks").rglob("*.py"))
    allowed = set(sys.stdlib_module_names) | {"numpy", "keras", "keras_mmvae"}
    backends = {"tensorflow", "jax", "torch"}
    assert len(files) > 15
    for path in files:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, (path.name, name)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = ([a.name for a in node.names]
                         if isinstance(node, ast.Import) else [node.module])
                for name in names:
                    assert (name or "").split(".")[0] not in backends, (
                        path.name, name)
