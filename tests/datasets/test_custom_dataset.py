"""A user's `MultimodalDataset` subclass implements the public `fetch`
hook; the former `_fetch` still works, with a `DeprecationWarning`."""

import numpy as np
import pytest

import keras_mmvae as mm

pytestmark = pytest.mark.one_backend

ROWS = np.arange(10, dtype="float32")


class Squares(mm.datasets.MultimodalDataset):
    def __init__(self, **kwargs):
        super().__init__(["x", "x2"], num_examples=10,
                         labels=np.arange(10) % 2, **kwargs)

    def fetch(self, indices):
        return {"x": ROWS[indices, None], "x2": ROWS[indices, None] ** 2}


class OldStyle(Squares):
    fetch = mm.datasets.MultimodalDataset.fetch

    def _fetch(self, indices):
        return Squares.fetch(self, indices)


def test_fetch_is_the_public_hook():
    data = Squares(batch_size=4, missing_rate=0.5, seed=0)
    inputs, labels = data[0]
    np.testing.assert_array_equal(labels, [0, 1, 0, 1])
    mask = inputs["mask"]
    np.testing.assert_array_equal(inputs["x"][:, 0], ROWS[:4] * mask[:, 0])
    np.testing.assert_array_equal(inputs["x2"][:, 0],
                                  ROWS[:4] ** 2 * mask[:, 1])
    assert len(data) == 3 and data[2][0]["x"].shape == (2, 1)


def test_private_fetch_still_works_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="rename it to `fetch`"):
        inputs, _ = OldStyle(batch_size=4)[1]
    np.testing.assert_array_equal(inputs["x2"][:, 0], ROWS[4:8] ** 2)


def test_a_subclass_without_fetch_says_what_to_implement():
    class Empty(mm.datasets.MultimodalDataset):
        pass

    data = Empty(["x"], num_examples=2, labels=np.zeros(2))
    with pytest.raises(NotImplementedError, match="fetch"):
        data[0]


def test_progress_bars_only_on_a_terminal(monkeypatch):
    from keras_mmvae.src.datasets import parallel

    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert isinstance(parallel.progress_bar(3, "x", enabled=True),
                      parallel._NoBar)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    bar = parallel.progress_bar(3, "x", enabled=True)
    assert not isinstance(bar, parallel._NoBar)
    bar.close()
