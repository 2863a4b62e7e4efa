"""Seeded procedural background textures for PolyMNIST-style synthesis.

Five clearly distinct styles, one per modality, each with its own colour
scheme so that modalities differ in texture *and* mean colour:

| index | style | colours |
|---|---|---|
| 0 | smooth colour gradient with a soft diagonal wave | warm red → yellow |
| 1 | sinusoidal gratings (two orientations) | blue / white |
| 2 | checkerboard with jittered cell colours | dark / light green |
| 3 | diagonal stripes of varying width | magenta / orange |
| 4 | smoothed (low-pass) noise | teal / dark grey |

Parameters (phases, frequencies, cell sizes, noise) come from the seed; the
style of each index is fixed. More than five textures cycle through the
styles with new random parameters.
"""

import numpy as np

STYLE_NAMES = ("gradient", "grating", "checkerboard", "stripes", "noise")


def _mix(t, a, b):
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    return a + (b - a) * t[..., None]


def _gradient(rng, yy, xx):
    angle = rng.uniform(0, 2 * np.pi)
    t = (np.cos(angle) * xx + np.sin(angle) * yy)
    t = (t - t.min()) / (np.ptp(t) + 1e-9)
    wave = np.sin(2 * np.pi * (xx + yy) * rng.uniform(3, 6))
    t = np.clip(t + 0.08 * wave, 0, 1)
    return _mix(t, (200, 30, 20), (250, 215, 40))


def _grating(rng, yy, xx):
    f1, f2 = rng.uniform(10, 16), rng.uniform(5, 9)
    a1, a2 = rng.uniform(0, np.pi, size=2)
    u1 = np.cos(a1) * xx + np.sin(a1) * yy
    u2 = np.cos(a2) * xx + np.sin(a2) * yy
    g1 = np.sin(2 * np.pi * f1 * u1 + rng.uniform(0, 6.3))
    g2 = np.sin(2 * np.pi * f2 * u2 + rng.uniform(0, 6.3))
    t = 0.5 + 0.3 * g1 + 0.2 * g2
    return _mix(np.clip(t, 0, 1), (20, 40, 150), (190, 215, 255))


def _checkerboard(rng, yy, xx, size):
    cell = int(rng.integers(7, 13))
    iy = (np.arange(size) // cell)[:, None]
    ix = (np.arange(size) // cell)[None, :]
    board = ((iy + ix) % 2).astype("float64")
    n = size // cell + 2
    jitter = rng.uniform(-0.15, 0.15, size=(n, n))[iy, ix]
    t = np.clip(board * 0.8 + 0.1 + jitter, 0, 1)
    return _mix(t, (10, 70, 20), (150, 235, 120))


def _stripes(rng, yy, xx):
    angle = rng.uniform(np.pi / 6, np.pi / 3)
    u = np.cos(angle) * xx + np.sin(angle) * yy
    freq = rng.uniform(8, 12)
    wobble = 0.15 * np.sin(2 * np.pi * rng.uniform(1, 3) * u)
    t = (np.sin(2 * np.pi * freq * u + wobble * 6) > 0).astype("float64")
    t = 0.15 + 0.7 * t
    return _mix(t, (170, 20, 140), (255, 150, 30))


def _noise(rng, yy, xx, size):
    white = rng.normal(size=(size, size))
    freq_y = np.fft.fftfreq(size)[:, None]
    freq_x = np.fft.fftfreq(size)[None, :]
    sigma = rng.uniform(0.03, 0.05)
    low = np.exp(-(freq_y**2 + freq_x**2) / (2 * sigma**2))
    smooth = np.real(np.fft.ifft2(np.fft.fft2(white) * low))
    t = (smooth - smooth.min()) / (np.ptp(smooth) + 1e-9)
    return _mix(t, (30, 45, 50), (40, 210, 190))


def procedural_background(
    index: int, size: int = 256, seed: int = 0
) -> np.ndarray:
    """One texture in style `index % 5`, as uint8 `(size, size, 3)`.

    Args:
        index: Modality index (selects the style and a random stream).
        size: Side length in pixels (at least 29, to allow 28×28 crops).
        seed: Seed of the random parameters.

    Returns:
        uint8 RGB array `(size, size, 3)`.
    """
    if size < 29:
        raise ValueError(f"`size` must be >= 29; got {size}.")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7, index]))
    yy, xx = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size),
                         indexing="ij")
    style = index % len(STYLE_NAMES)
    if style == 0:
        img = _gradient(rng, yy, xx)
    elif style == 1:
        img = _grating(rng, yy, xx)
    elif style == 2:
        img = _checkerboard(rng, yy, xx, size)
    elif style == 3:
        img = _stripes(rng, yy, xx)
    else:
        img = _noise(rng, yy, xx, size)
    img = img + rng.normal(0, 4, size=img.shape)  # a little grain
    return np.clip(np.round(img), 0, 255).astype("uint8")


def procedural_backgrounds(
    num: int = 5, size: int = 256, seed: int = 0
) -> list:
    """`num` textures, index `i` in style `i % 5` (see the module table)."""
    return [procedural_background(i, size, seed) for i in range(num)]
