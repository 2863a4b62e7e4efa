"""Table and curves of the runs written by `benchmarks/learning_study.py`.

    python -m benchmarks.learning_study_report runs/study \
        --figure docs/benchmarks/assets/learning_study.png

Prints a Markdown table (one row per run: what changed from the defaults,
steps, one-input coherence and the probe of single image modalities at
steps 300, 600 and the last evaluation, final KL) and draws coherence and probe against the step.
"""

import argparse
import json
import pathlib

from matplotlib.figure import Figure

DEFAULTS = {"fusion": "mwb", "learning_rate": 1e-3, "batch_size": 256,
            "latent_dim": 64, "style_dim": 0, "beta": 2.5,
            "num_train": 20000, "num_modalities": 5, "likelihood": "laplace",
            "likelihood_scale": 0.75, "text": False, "kl_warmup_steps": 0,
            "cross_modal_style": "posterior", "background_size": 0,
            "kernel_initializer": "glorot_uniform"}


def changes(args):
    return ", ".join(f"{k}={args[k]}" for k in DEFAULTS
                     if k in args and args[k] != DEFAULTS[k]) or "defaults"


def at(rows, step, key):
    """The value at the last evaluation at or before `step` samples' worth.

    Steps are compared in samples of 256 so batch-size runs line up.
    """
    found = [r for r in rows if r["samples"] <= step * 256]
    return found[-1][key] if found else float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--figure", default=None)
    p.add_argument("--runs", nargs="*", default=None,
                   help="runs to draw (default: all)")
    args = p.parse_args()
    runs = {}
    for folder in sorted(pathlib.Path(args.root).iterdir()):
        if not (folder / "curves.json").exists():
            continue
        settings = json.loads((folder / "args.json").read_text())
        rows = json.loads((folder / "curves.json").read_text())
        for row in rows:
            row["samples"] = row["step"] * settings["batch_size"]
            # `coherence/1`: as `mm.evaluation.LearningCurves` writes it.
            row.setdefault("coherence_1", row.get("coherence/1"))
            images = [v for k, v in row.items()
                      if k.startswith("linear_probe/m")]
            row["probe_images"] = sum(images) / len(images)
        runs[folder.name] = (settings, rows)
    print("| run | change from the defaults | steps | coherence 1 input "
          "@300 / @600 / last | probe, 1 image input @300 / @600 / last | KL |")
    print("|---|---|---|---|---|---|")
    for name, (settings, rows) in runs.items():
        last = rows[-1]
        coh = " / ".join(f"{v:.2f}" for v in (
            at(rows, 300, "coherence_1"), at(rows, 600, "coherence_1"),
            last["coherence_1"]))
        probe = " / ".join(f"{v:.2f}" for v in (
            at(rows, 300, "probe_images"), at(rows, 600, "probe_images"),
            last["probe_images"]))
        print(f"| {name} | {changes(settings)} | {last['step']} | {coh} | "
              f"{probe} | {last['kl_loss']:.1f} |")
    if args.figure:
        fig = Figure(figsize=(9, 3.4), dpi=100)
        left, right = fig.subplots(1, 2)
        for name, (settings, rows) in runs.items():
            if args.runs and name not in args.runs:
                continue
            x = [r["samples"] / 256 for r in rows]
            left.plot(x, [r["coherence_1"] for r in rows], marker=".",
                      label=name)
            right.plot(x, [r["probe_images"] for r in rows], marker=".",
                       label=name)
        for ax, what in ((left, "coherence, 1 input"),
                         (right, "latent probe, 1 image input")):
            ax.set_xlabel("training step (batches of 256)")
            ax.set_ylabel(what)
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
        right.legend(fontsize=6, loc="lower right")
        fig.tight_layout()
        fig.savefig(args.figure)


if __name__ == "__main__":
    main()
