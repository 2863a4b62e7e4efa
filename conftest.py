"""Test configuration shared by every backend run.

torch is imported before TensorFlow (the reverse order can segfault when
both live in one process), and Keras traceback filtering is off so failures
show the real frames.

Tests marked `one_backend` check what does not depend on the backend (file
formats, the CLI, packaging, the docs, the public names): `make test` runs
them under torch, whose eager steps need no compiling, and deselects them
elsewhere; `one_backend("jax")` names another backend (the tutorials run
under JAX, the backend of the docs build that re-uses their notebooks).
`KERAS_MMVAE_TEST_BACKENDS=jax,tensorflow,torch` runs them under those
backends instead.

Tests marked `large` (wheel builds, tutorials, learning runs) are skipped
unless pytest gets `--run-large`; `make test` (tests/run_backends.sh) and
CI pass it.

`tests/` mirrors `keras_mmvae/src/` (one folder per subpackage: ops,
layers, likelihoods, models, objectives, ...); tests/api checks the public
names and the import layering, and integration, distribution, packaging and
tutorials are suites of their own. Helpers shared by several folders are in
tests/helpers.
"""

import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Modules shared by tests of several folders (toy models, fast
# initializers) live in tests/helpers and are imported by their bare names.
sys.path.insert(0, str(pathlib.Path(__file__).parent / "tests" / "helpers"))

try:  # noqa: SIM105
    import torch  # noqa: F401
except ImportError:
    pass

import keras  # noqa: E402
import pytest  # noqa: E402

keras.config.disable_traceback_filtering()

ONE_BACKEND_OVERRIDE = os.environ.get("KERAS_MMVAE_TEST_BACKENDS")
ONE_BACKEND_DEFAULT = "torch"


def runs_on_this_backend(item):
    """`one_backend` tests run under torch, or under the backend the marker
    names, unless KERAS_MMVAE_TEST_BACKENDS lists the backends."""
    marker = item.get_closest_marker("one_backend")
    if marker is None:
        return True
    if ONE_BACKEND_OVERRIDE:
        wanted = ONE_BACKEND_OVERRIDE.split(",")
    else:
        wanted = [marker.args[0] if marker.args else ONE_BACKEND_DEFAULT]
    return keras.config.backend() in wanted


def pytest_addoption(parser):
    parser.addoption(
        "--run-large", action="store_true", default=False,
        help="also run the tests marked `large` (wheel builds, tutorials, "
             "learning runs); skipped without it")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "one_backend(backend='torch'): does not depend on the "
        "backend; runs under that backend, or under those of "
        "KERAS_MMVAE_TEST_BACKENDS when it is set")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--run-large"):
        skip_large = pytest.mark.skip(
            reason="large test: pass --run-large to run it")
        for item in items:
            if item.get_closest_marker("large"):
                item.add_marker(skip_large)
    deselected = [i for i in items if not runs_on_this_backend(i)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [i for i in items if runs_on_this_backend(i)]


@pytest.fixture(autouse=True)
def _clear_session():
    # Without `free_memory`, which runs a full `gc.collect()` over the heap of
    # three imported frameworks: about 0.3 s a test, half of a small test's
    # time. Python's own collector still runs.
    keras.utils.clear_session(free_memory=False)
    yield
