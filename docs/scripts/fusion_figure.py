"""The three fusions of two 1-D Gaussian experts: figure and worked example.

The experts are `q1 = N(0, 1)` and `q2 = N(2, 3²)` with equal weights
`λ = (½, ½)`. Every fused Gaussian is computed with keras_mmvae's own ops
(`product_of_experts`, `w2_barycenter`, `moment_match`), so the figure and
the table on the "Fusion as a barycenter" page show what the library does.

The docs build calls `render_png()` and `markdown_table()` from
`docs/hooks.py` (nothing is written into `docs/`); the tests call
`worked_example()`. Run it directly to write the PNG somewhere:

    KERAS_BACKEND=jax python docs/scripts/fusion_figure.py /tmp/fusion_1d.png
"""

import io
import math
import sys

import numpy as np

EXPERT_MEANS = (0.0, 2.0)
EXPERT_STDS = (1.0, 3.0)


def _experts():
    from keras import ops

    mean = np.asarray(EXPERT_MEANS, "float32").reshape(1, 2, 1)
    log_var = np.log(np.square(np.asarray(EXPERT_STDS, "float32")))
    return ops.convert_to_tensor(mean), ops.convert_to_tensor(
        log_var.reshape(1, 2, 1))


def worked_example():
    """Fused `(mean, variance)` of each operator, computed by the library.

    Returns:
        A list of `(key, label, mean, variance)` tuples, in the order of the
        variance ordering (smallest first).
    """
    from keras import ops

    import keras_mmvae as mm

    mean, log_var = _experts()
    both = ops.ones((1, 1, 2))  # (B, S, M) weights: one component
    one = ops.ones((1, 1))

    def row(pair):
        m, lv = pair
        return (float(ops.convert_to_numpy(m).ravel()[0]),
                float(np.exp(ops.convert_to_numpy(lv).ravel()[0])))

    rows = []
    rows.append(("mvae_prior", "MVAE product with prior expert "
                 "(`fusion=\"poe\"`)",
                 *row(mm.ops.product_of_experts(mean, log_var, both, one))))
    rows.append(("mvae", "MVAE product without prior",
                 *row(mm.ops.product_of_experts(mean, log_var, both))))
    rows.append(("reverse_kl", "reverse-KL barycenter (normalised PoE)",
                 *row(mm.ops.product_of_experts(mean, log_var, both,
                                                normalize=True))))
    rows.append(("w2", "2-Wasserstein barycenter (`fusion=\"w2\"`)",
                 *row(mm.ops.w2_barycenter(mean, log_var, both))))
    rows.append(("moe", "forward-KL barycenter, moment-matched "
                 "(the MoE mixture's mean and variance)",
                 *row(mm.ops.moment_match(mean, log_var,
                                          ops.full((1, 2), 0.5)))))
    return rows


def w2_objective():
    """`Σ λ_m W2²(q̃, q_m)` at the W2 barycenter (the objective's minimum)."""
    from keras import ops

    import keras_mmvae as mm

    mean, log_var = _experts()
    both = ops.ones((1, 1, 2))
    fused_mean, fused_log_var = mm.ops.w2_barycenter(mean, log_var, both)
    total = 0.0
    for m in range(2):
        d = mm.ops.wasserstein2(fused_mean[:, 0], fused_log_var[:, 0],
                                mean[:, m], log_var[:, m])
        total += 0.5 * float(ops.convert_to_numpy(d).ravel()[0])
    return total


def markdown_table(digits=6):
    """The worked example as a Markdown table (inserted by docs/hooks.py)."""
    lines = [
        "| operator | mean | variance | standard deviation |",
        "|---|---:|---:|---:|",
    ]
    for _, label, mean, var in worked_example():
        lines.append(
            f"| {label} | {mean:.{digits}f} | {var:.{digits}f} | "
            f"{math.sqrt(var):.{digits}f} |"
        )
    return "\n".join(lines)


def _normal_pdf(x, mean, var):
    return np.exp(-0.5 * (x - mean) ** 2 / var) / math.sqrt(2 * math.pi * var)


def render_png(dpi=110):
    """Draws the figure and returns the PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {key: (mean, var) for key, _, mean, var in worked_example()}
    x = np.linspace(-6.0, 9.0, 1201)
    q1 = _normal_pdf(x, EXPERT_MEANS[0], EXPERT_STDS[0] ** 2)
    q2 = _normal_pdf(x, EXPERT_MEANS[1], EXPERT_STDS[1] ** 2)

    fig, ax = plt.subplots(figsize=(8.0, 4.2), layout="constrained")
    ax.fill_between(x, q1, color="0.85", label=r"expert $q_1=N(0,1)$")
    ax.fill_between(x, q2, color="0.65", alpha=0.6,
                    label=r"expert $q_2=N(2,3^2)$")
    ax.plot(x, _normal_pdf(x, *rows["reverse_kl"]), color="tab:red", lw=2,
            label="PoE: reverse-KL barycenter")
    ax.plot(x, _normal_pdf(x, *rows["mvae_prior"]), color="tab:red", lw=1.2,
            ls=":", label="PoE: MVAE product with prior")
    ax.plot(x, _normal_pdf(x, *rows["w2"]), color="tab:blue", lw=2,
            label="W2 barycenter")
    ax.plot(x, 0.5 * q1 + 0.5 * q2, color="tab:green", lw=2,
            label="MoE: forward-KL barycenter (mixture)")
    ax.plot(x, _normal_pdf(x, *rows["moe"]), color="tab:green", lw=1.2,
            ls="--", label="MoE moment-matched Gaussian")
    ax.set_xlabel("z")
    ax.set_ylabel("density")
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(bottom=0)
    ax.set_title(r"Fusing two experts with $\lambda = (\frac{1}{2}, "
                 r"\frac{1}{2})$")
    ax.legend(fontsize=8, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi,
                metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    out = argv[0] if argv else "fusion_1d.png"
    with open(out, "wb") as f:
        f.write(render_png())
    print(markdown_table())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
