"""The 71-symbol alphabet shared by the text modalities."""

import numpy as np
import pytest

from keras_mmvae import datasets
from keras_mmvae.src.datasets import alphabet

pytestmark = pytest.mark.one_backend


def test_alphabet_matches_mopoe():
    a = datasets.ALPHABET
    assert len(a) == 71 and alphabet.ALPHABET_SIZE == 71
    assert a[:26] == "abcdefghijklmnopqrstuvwxyz"
    assert a[26:36] == "0123456789"
    assert a.index("-") == 36 and a[59] == "-"
    assert a.index("*") == 55
    assert a.index(" ") == 69 and a.index("\n") == 70
    assert a[36:69] == "-,;.!?:'\"\\/|_@#$%^&*~`+-=<>()[]{}"


def test_encode_decode_round_trip_and_unknown_characters():
    x = datasets.encode_text(["  seven ", "a-b*", "Zé!"], 8)
    assert x.shape == (3, 8, 71) and x.dtype == np.float32
    assert x[0, 2, alphabet.ALPHABET.index("s")] == 1
    assert x[1, 1, 36] == 1 and x[1, 1, 59] == 0  # first "-" wins
    # Upper case and accents are not in the alphabet: all-zero rows, like
    # MoPoE; shorter strings end in zero rows.
    assert np.all(x[2, 0] == 0) and np.all(x[2, 1] == 0)
    assert x[2, 2, alphabet.ALPHABET.index("!")] == 1
    assert np.all(x[1, 4:] == 0)
    np.testing.assert_array_equal(x.sum(-1)[0], np.ones(8))
    assert datasets.decode_text(x) == ["  seven ", "a-b*", "!"]
    single = datasets.encode_text("truncate me", 4)
    assert single.shape == (4, 71) and datasets.decode_text(single) == "trun"


def test_decode_takes_the_argmax_of_probabilities():
    logits = np.random.default_rng(0).normal(size=(2, 5, 71))
    logits[..., alphabet.ALPHABET.index("q")] += 10
    assert datasets.decode_text(logits) == ["qqqqq", "qqqqq"]
    with pytest.raises(ValueError, match="71"):
        datasets.decode_text(np.zeros((2, 5, 70)))
    with pytest.raises(ValueError, match="indices"):
        alphabet.indices_to_one_hot(np.array([[71]]))
