"""Test configuration shared by every backend run.

torch is imported before TensorFlow (the reverse order can segfault when
both live in one process), and Keras traceback filtering is off so failures
show the real frames.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:  # noqa: SIM105
    import torch  # noqa: F401
except ImportError:
    pass

import keras  # noqa: E402
import pytest  # noqa: E402

keras.config.disable_traceback_filtering()


@pytest.fixture(autouse=True)
def _clear_session():
    keras.utils.clear_session()
    yield
