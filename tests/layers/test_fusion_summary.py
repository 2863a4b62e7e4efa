"""`BarycenterFusion.compute_output_shape`: `model.summary()` shows the
fusion's output shapes (one component per non-empty subset for MoPoE)."""

import numpy as np

import keras_mmvae as mm


def test_compute_output_shape_counts_the_components():
    fusion = mm.BarycenterFusion.from_preset("mopoe")
    shapes = fusion.compute_output_shape((None, 3, 4))
    assert shapes == {"mean": (None, 7, 4), "log_var": (None, 7, 4),
                      "weight": (None, 7)}


def test_summary_shows_the_fusion_shapes():
    names = ("a", "b")
    vae = mm.MultimodalVAE(
        encoders={n: mm.layers.MLPEncoder(4, hidden_dims=(8,))
                  for n in names},
        decoders={n: mm.layers.MLPDecoder((2,), hidden_dims=(8,))
                  for n in names},
        likelihoods={n: "gaussian" for n in names}, fusion="moe")
    vae({n: np.zeros((2, 2), "float32") for n in names})
    lines = []
    vae.summary(print_fn=lambda line, **kwargs: lines.append(line))
    text = "\n".join(lines)
    row = text[text.index("BarycenterFusion"):]
    assert "│ ?" not in row
    # The cell may wrap over several lines.
    row = "".join(row.replace("│", "").split())
    assert "mean:(None,2,4)" in row and "weight:(None,2)" in row
