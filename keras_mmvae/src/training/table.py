"""A folder of evaluated runs → the benchmark's table (Markdown, CSV, PNG).

`collect` reads every `metrics.json` under a folder (the runs of
`reproduce`, or of `train` + `evaluate`); `aggregate` takes the mean and
standard deviation over seeds of each model's conditional coherence, latent
probe and (when evaluated) log-likelihood by number of input modalities,
and its unconditional coherence; `write_table` writes `table.md`,
`table.csv` and `coherence.png` beside the published numbers of the models
that have them (`keras_mmvae.src.benchmarks.<name>.published`).
"""

import csv
import importlib
import json
import math
import pathlib

from keras_mmvae.src.presets import PRESETS

METRICS = "metrics.json"
TABLE_MD = "table.md"
TABLE_CSV = "table.csv"
PLOT = "coherence.png"

# (key, title, by number of inputs, digits)
METRIC_ROWS = (
    ("coherence_by_size", "Conditional coherence by number of input "
     "modalities (targets outside the input set)", True, 3),
    ("probe_by_size", "Latent linear probe by number of input modalities "
     "(accuracy)", True, 3),
    ("unconditional_coherence", "Unconditional coherence", False, 3),
    ("log_likelihood_by_size", "Log-likelihood (IWAE, nats) by number of "
     "modalities of the proposal", True, 1),
)
CSV_COLUMNS = ("benchmark", "model", "metric", "inputs", "mean", "std",
               "seeds", "published", "published_source")


def _by_size(values):
    """`{"m0+m1": v, ...}` → `{2: mean over subsets of size 2, ...}`."""
    groups = {}
    for key, value in (values or {}).items():
        groups.setdefault(len(key.split("+")), []).append(value)
    return {size: sum(v) / len(v) for size, v in sorted(groups.items())}


def run_summary(metrics):
    """The table's metrics of one `metrics.json` (sizes as ints)."""
    summary = {}
    if "coherence_by_size" in metrics:
        summary["coherence_by_size"] = {
            int(k): v for k, v in metrics["coherence_by_size"].items()}
    if "linear_probe" in metrics:
        summary["probe_by_size"] = _by_size(metrics["linear_probe"])
    if "unconditional_coherence" in metrics:
        summary["unconditional_coherence"] = metrics[
            "unconditional_coherence"]
    if "log_likelihood" in metrics:
        summary["log_likelihood_by_size"] = _by_size(
            metrics["log_likelihood"])
    return summary


def collect(runs_dir):
    """Every evaluated run under `runs_dir`.

    Returns:
        A list of dicts `{"path", "benchmark", "model", "seed", "epochs",
        "metrics"}` (`metrics`: `run_summary`), sorted by model (preset
        order) and seed. The model and seed come from the run's training
        settings, else from a `<model>/seed<seed>/metrics.json` path.
    """
    runs = []
    for path in sorted(pathlib.Path(runs_dir).rglob(METRICS)):
        try:
            metrics = json.loads(path.read_text())
        except ValueError:
            continue
        if not isinstance(metrics, dict) or "linear_probe" not in metrics:
            continue  # not an evaluation (e.g. the demo's report)
        record = metrics.get("run") or {}
        training = record.get("training") or {}
        model = training.get("fusion") or path.parent.parent.name
        seed = training.get("seed")
        if seed is None:
            name = path.parent.name
            seed = int(name[4:]) if name.startswith("seed") and \
                name[4:].isdigit() else name
        runs.append({
            "path": path, "benchmark": training.get("benchmark"),
            "model": model, "seed": seed,
            "epochs": record.get("epochs_trained"),
            "metrics": run_summary(metrics),
        })
    order = {name: i for i, name in enumerate(PRESETS)}
    runs.sort(key=lambda r: (order.get(r["model"], len(order)),
                             r["model"], str(r["seed"])))
    return runs


def mean_std(values):
    """Mean and sample standard deviation (0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def aggregate(runs):
    """Per model: seeds, epochs and `{metric: {inputs: (mean, std, n)}}`
    (`inputs` is None for unconditional coherence)."""
    models = {}
    for run in runs:
        entry = models.setdefault(run["model"], {
            "seeds": [], "epochs": set(), "values": {}})
        entry["seeds"].append(run["seed"])
        if run["epochs"] is not None:
            entry["epochs"].add(run["epochs"])
        for metric, value in run["metrics"].items():
            points = value if isinstance(value, dict) else {None: value}
            for inputs, v in points.items():
                entry["values"].setdefault(metric, {}).setdefault(
                    inputs, []).append(v)
    for entry in models.values():
        entry["values"] = {
            metric: {inputs: (*mean_std(vs), len(vs))
                     for inputs, vs in sorted(
                         points.items(), key=lambda i: (i[0] is None, i[0]))}
            for metric, points in entry["values"].items()}
        entry["epochs"] = sorted(entry["epochs"])
    return models


def published_records(benchmark):
    """The `Published` records of a benchmark (none without a module)."""
    if not benchmark:
        return []
    try:
        module = importlib.import_module(
            f"keras_mmvae.src.benchmarks.{benchmark}.published")
    except ModuleNotFoundError:
        return []
    return list(module.PUBLISHED)


def _published_cell(records, metric, inputs):
    """`(value or None, sources)` of one metric of one model."""
    value, sources = None, []
    for record in records:
        if metric not in (record.values or {}):
            continue
        sources.append(record.citation)
        number = record.value(metric, inputs)
        if number is not None and value is None:
            value = number
    return value, sources


def _fmt(mean, std, n, digits):
    text = f"{mean:.{digits}f}"
    return text + (f" ± {std:.{digits}f}" if n > 1 else "")


def _benchmark(runs):
    names = sorted({r["benchmark"] for r in runs if r["benchmark"]})
    if len(names) > 1:
        raise ValueError(
            f"The runs mix benchmarks {names}; make one table per "
            "benchmark folder.")
    return names[0] if names else None


def rows(runs_dir):
    """The table's CSV rows (dicts with `CSV_COLUMNS`)."""
    runs = collect(runs_dir)
    benchmark = _benchmark(runs)
    records = published_records(benchmark)
    out = []
    for model, entry in aggregate(runs).items():
        mine = [r for r in records if r.model == model]
        for metric, points in entry["values"].items():
            for inputs, (mean, std, n) in points.items():
                value, sources = _published_cell(mine, metric, inputs)
                out.append({
                    "benchmark": benchmark or "", "model": model,
                    "metric": metric,
                    "inputs": "" if inputs is None else inputs,
                    "mean": mean, "std": std, "seeds": n,
                    "published": "" if value is None else value,
                    "published_source": "; ".join(sources),
                })
    return out


def _markdown(runs_dir, runs, models, benchmark, records):
    lines = [f"# {benchmark or 'Benchmark'}: our runs beside the published "
             "numbers", ""]
    lines.append(
        f"{len(runs)} evaluated run(s) in `{runs_dir}`; mean ± sample "
        "standard deviation over seeds (no ± with one seed). Published "
        "values come from the cited paper; \"not transcribed\" marks a "
        "paper that reports the model but whose numbers are not in "
        "this library's data module yet, and \"—\" a model without "
        "published numbers here.")
    lines.append("")
    cited = {}
    for metric, title, by_size, digits in METRIC_ROWS:
        sizes = sorted({inputs for entry in models.values()
                        for inputs in entry["values"].get(metric, {})
                        if inputs is not None})
        present = [m for m, e in models.items() if metric in e["values"]]
        if not present:
            continue
        lines += [f"## {title}", ""]
        head = ["Model", "Seeds", "Epochs"]
        head += [str(s) for s in sizes] if by_size else ["Value"]
        head += ["Published", "Source"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join(["---"] * 3 + ["--:"] * (
            len(head) - 5) + ["---", "---"]) + "|")
        for model in present:
            entry = models[model]
            points = entry["values"][metric]
            keys = sizes if by_size else [None]
            cells = [f"`{model}`", str(len(entry["seeds"])),
                     ", ".join(map(str, entry["epochs"])) or "?"]
            cells += [_fmt(*points[k], digits) if k in points else ""
                      for k in keys]
            mine = [r for r in records if r.model == model]
            published, sources = [], []
            for k in keys:
                value, srcs = _published_cell(mine, metric, k)
                published.append(value)
                sources = srcs or sources
            if not sources:
                cells += ["—", ""]
            else:
                refs = []
                for source in sources:
                    cited.setdefault(source, len(cited) + 1)
                    refs.append(f"[{cited[source]}]")
                if all(v is None for v in published):
                    text = "not transcribed"
                else:
                    text = " / ".join("?" if v is None else
                                      f"{v:.{digits}f}" for v in published)
                cells += [text, " ".join(refs)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if cited:
        lines += ["## Sources", ""]
        for source, number in cited.items():
            record = next(r for r in records if r.citation == source)
            notes = f" {record.note}" if record.note else ""
            lines.append(f"{number}. {source}: {record.location}.{notes}")
        lines.append("")
    return "\n".join(lines)


def _plot(models, records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for model, entry in models.items():
        points = entry["values"].get("coherence_by_size")
        if not points:
            continue
        sizes = sorted(points)
        line = ax.errorbar(
            sizes, [points[s][0] for s in sizes],
            yerr=[points[s][1] for s in sizes], marker="o", capsize=3,
            label=f"{model} (n={len(entry['seeds'])})")
        mine = [r for r in records if r.model == model]
        published = [(s, _published_cell(mine, "coherence_by_size", s)[0])
                     for s in sizes]
        published = [(s, v) for s, v in published if v is not None]
        if published:
            ax.plot(*zip(*published), linestyle="--", marker="x",
                    color=line[0].get_color(), label=f"{model} (published)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("number of input modalities")
    ax.set_ylabel("conditional coherence")
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_table(runs_dir, out_dir=None, verbose=True):
    """Writes `table.md`, `table.csv` and `coherence.png` of a folder of
    runs into `out_dir` (default: `runs_dir`); returns their paths."""
    runs_dir = pathlib.Path(runs_dir)
    out_dir = pathlib.Path(out_dir or runs_dir)
    runs = collect(runs_dir)
    if not runs:
        raise FileNotFoundError(
            f"No evaluated run (a {METRICS} with a latent probe) under "
            f"{str(runs_dir)!r}.")
    benchmark = _benchmark(runs)
    records = published_records(benchmark)
    models = aggregate(runs)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / TABLE_MD, "csv": out_dir / TABLE_CSV,
             "plot": out_dir / PLOT}
    paths["markdown"].write_text(
        _markdown(runs_dir, runs, models, benchmark, records))
    with open(paths["csv"], "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows(runs_dir))
    _plot(models, records, paths["plot"])
    if verbose:
        print(f"Wrote {paths['markdown']}, {paths['csv']} and "
              f"{paths['plot']} ({len(runs)} run(s), {len(models)} "
              "model(s)).", flush=True)
    return paths
