"""The 71-symbol alphabet of the text modalities (MoPoE `alphabet.json`).

Shared by MNIST-SVHN-Text and CelebA, and by evaluation code that decodes
generated text. Text is stored as integer indices (`-1` = a character that is
not in the alphabet, encoded as an all-zero row, as MoPoE does) and expanded
to one-hot `(L, 71)` float32 arrays per batch.
"""

from collections.abc import Sequence

import numpy as np

from keras_mmvae.src.api_export import keras_mmvae_export

ALPHABET = (
    "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"\\/|_@#$%^&*~`+-=<>()[]{}"
    " \n"
)
"""The 71 symbols: `a`-`z` (0-25), `0`-`9` (26-35), punctuation (36-68,
with `-` at 36 and again at 59, `*` at 55), space (69), newline (70)."""
keras_mmvae_export("keras_mmvae.datasets.ALPHABET")(ALPHABET)

ALPHABET_SIZE = len(ALPHABET)
UNKNOWN_INDEX = -1

# First occurrence wins (MoPoE uses `str.find`), so `-` maps to 36, not 59.
_INDEX = {}
for _i, _c in enumerate(ALPHABET):
    _INDEX.setdefault(_c, _i)

_LOOKUP = np.full(128, UNKNOWN_INDEX, dtype="int8")
for _c, _i in _INDEX.items():
    _LOOKUP[ord(_c)] = _i

# Row `UNKNOWN_INDEX` (= the last row) is all zeros.
_ONE_HOT = np.concatenate(
    [np.eye(ALPHABET_SIZE, dtype="float32"),
     np.zeros((1, ALPHABET_SIZE), "float32")]
)


def text_to_indices(texts: Sequence[str], length: int) -> np.ndarray:
    """Encodes strings as `(N, length)` int8 alphabet indices.

    Strings longer than `length` are truncated, shorter ones are padded with
    `-1` (an all-zero one-hot row), like MoPoE's `one_hot_encode`. Characters
    outside the alphabet also become `-1`.

    Args:
        texts: The strings.
        length: Sequence length `L`.

    Returns:
        An int8 array of shape `(len(texts), length)`.
    """
    length = int(length)
    if not texts:
        return np.zeros((0, length), "int8")
    # Vectorised: pad/truncate with NUL (not in the alphabet), read the code
    # points as UTF-32 and map them through a lookup table.
    joined = "".join(t[:length].ljust(length, "\0") for t in texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), "<u4")
    codes = codes.reshape(len(texts), length)
    return np.where(codes < 128, _LOOKUP[np.minimum(codes, 127)],
                    UNKNOWN_INDEX).astype("int8")


def indices_to_one_hot(indices: np.ndarray) -> np.ndarray:
    """Expands alphabet indices `(..., L)` to float32 one-hot `(..., L, 71)`.

    Index `-1` gives an all-zero row.

    Args:
        indices: Integer array with values in `[-1, 70]`.

    Returns:
        A float32 array with one more trailing axis of size 71.
    """
    indices = np.asarray(indices)
    if indices.size and (indices.min() < -1 or indices.max() >= ALPHABET_SIZE):
        raise ValueError(
            f"Alphabet indices must lie in [-1, {ALPHABET_SIZE - 1}]; got "
            f"values in [{indices.min()}, {indices.max()}]."
        )
    return _ONE_HOT[indices]


@keras_mmvae_export("keras_mmvae.datasets.encode_text")
def encode_text(texts: Sequence[str] | str, length: int) -> np.ndarray:
    """One-hot encodes text over the 71-symbol alphabet.

    Args:
        texts: A string or a sequence of strings.
        length: Sequence length `L` (8 for MNIST-SVHN-Text, 256 for CelebA);
            longer strings are truncated, shorter ones end in zero rows.

    Returns:
        float32 `(L, 71)` for one string, `(N, L, 71)` for a sequence.

    Example:
    ```python
    import keras_mmvae as mm

    x = mm.datasets.encode_text(["  seven "], 8)
    assert x.shape == (1, 8, 71)
    assert mm.datasets.decode_text(x) == ["  seven "]
    ```
    """
    if isinstance(texts, str):
        return indices_to_one_hot(text_to_indices([texts], length))[0]
    return indices_to_one_hot(text_to_indices(list(texts), length))


@keras_mmvae_export("keras_mmvae.datasets.decode_text")
def decode_text(x: np.ndarray) -> list[str] | str:
    """Decodes one-hot rows or per-position probabilities/logits to strings.

    Takes the arg-max symbol at every position; rows that are all zero (an
    encoded unknown character) are skipped.

    Args:
        x: Array `(L, 71)` or `(N, L, 71)` (one-hot, probabilities or
            logits), any backend tensor convertible with `np.asarray`.

    Returns:
        One string for a 2-D input, a list of strings for a 3-D input.
    """
    x = np.asarray(x)
    if x.ndim not in (2, 3) or x.shape[-1] != ALPHABET_SIZE:
        raise ValueError(
            f"`decode_text` expects shape (L, {ALPHABET_SIZE}) or "
            f"(N, L, {ALPHABET_SIZE}); got {x.shape}."
        )
    single = x.ndim == 2
    if single:
        x = x[None]
    best = np.argmax(x, axis=-1)
    empty = np.all(x == 0, axis=-1)
    texts = [
        "".join(ALPHABET[i] for i, e in zip(row, skip) if not e)
        for row, skip in zip(best, empty)
    ]
    return texts[0] if single else texts
