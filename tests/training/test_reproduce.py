"""`classifiers`, `reproduce` and `table` end to end on a tiny PolyMNIST-style
set (tests/training/conftest.py): two models × two seeds, one short epoch
each, tiny networks.

The end-to-end test compiles 5 classifiers, 4 training steps and 5
evaluations (about 100 s of CPU on JAX): it is marked `large`. The table,
the published numbers and the argument checks are tested without training.
"""

import csv
import json

import pytest

from keras_mmvae.src.benchmarks.polymnist import published
from keras_mmvae.src.cli.main import main
from keras_mmvae.src.training import reproduce
from keras_mmvae.src.training import table

# Glue over code the rest of the suite tests on every backend.
pytestmark = pytest.mark.one_backend

SMALL = json.dumps({"latent_dim": 8, "hidden_dim": 16,
                    "encoder_filters": [4, 4, 4],
                    "decoder_filters": [4, 4, 4]})


def run_cli(*args):
    return main([str(a) for a in args])


def grid(data_dir, out, classifiers, *seeds):
    return run_cli(
        "reproduce", "polymnist", "--data-dir", data_dir, "--models",
        "mopoe", "mwb", "--seeds", *seeds, "--out", out, "--epochs", "1",
        "--batch-size", "20", "--classifiers", classifiers,
        "--model-kwargs", SMALL, "--num-probe", "30",
        "--unconditional-samples", "20")


@pytest.mark.large
def test_reproduce_grid_resumes_and_writes_the_table(data_dir, tmp_path,
                                                     capsys):
    clf = tmp_path / "clf"
    assert run_cli("classifiers", "--benchmark", "polymnist", "--data-dir",
                   data_dir, "--out", clf, "--epochs", "1",
                   "--batch-size", "20") == 0
    assert sorted(p.name for p in clf.glob("*.keras")) == [
        f"m{i}.keras" for i in range(5)]
    assert set(json.loads((clf / "scores.json").read_text())) == {
        f"m{i}" for i in range(5)}
    stamp = (clf / "m0.keras").stat().st_mtime_ns
    assert run_cli("classifiers", "--benchmark", "polymnist", "--data-dir",
                   data_dir, "--out", clf) == 0
    assert "reused" in capsys.readouterr().out
    assert (clf / "m0.keras").stat().st_mtime_ns == stamp

    out = tmp_path / "grid"
    # A first, "interrupted" grid: seed 0 only.
    assert grid(data_dir, out, clf, 0) == 0
    finished = (out / "mwb" / "seed0" / "metrics.json").stat().st_mtime_ns
    # mopoe seed 0 was interrupted after training, before its evaluation.
    trained = out / "mopoe" / "seed0"
    (trained / "metrics.json").unlink()
    checkpoint = (trained / "checkpoint.keras").stat().st_mtime_ns
    capsys.readouterr()
    assert grid(data_dir, out, clf, 0, 1) == 0
    log = capsys.readouterr().out
    assert log.count("skipped") == 1 and "mwb seed 0: finished" in log
    assert (out / "mwb" / "seed0" / "metrics.json").stat(
    ).st_mtime_ns == finished
    assert "already trained for 1 epoch(s)" in log
    assert (trained / "checkpoint.keras").stat().st_mtime_ns == checkpoint
    assert (trained / "metrics.json").is_file()
    for model in ("mopoe", "mwb"):
        metrics = json.loads(
            (out / model / "seed1" / "metrics.json").read_text())
        assert metrics["run"]["training"]["fusion"] == model
        assert metrics["run"]["training"]["seed"] == 1
        assert metrics["run"]["epochs_trained"] == 1

    # The table, written at the end of `reproduce` and by `table`.
    for path in (out / "table.md", out / "table.csv", out / "coherence.png"):
        assert path.stat().st_size > 0
    again = tmp_path / "again"
    assert run_cli("table", out, "--out", again) == 0
    with open(again / "table.csv") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == table.CSV_COLUMNS
    keys = {(r["model"], r["metric"], r["inputs"]) for r in rows}
    for model in ("mopoe", "mwb"):
        for k in range(1, 5):
            assert (model, "coherence_by_size", str(k)) in keys
        for k in range(1, 6):
            assert (model, "probe_by_size", str(k)) in keys
        assert (model, "unconditional_coherence", "") in keys
    assert len(rows) == 2 * (4 + 5 + 1)
    for row in rows:
        assert row["benchmark"] == "polymnist" and row["seeds"] == "2"
        assert 0.0 <= float(row["mean"]) <= 1.0
        assert float(row["std"]) >= 0.0
    # MoPoE has a published record (its values not transcribed: empty);
    # MWB has none.
    mopoe = [r for r in rows if r["model"] == "mopoe"
             and r["metric"] == "coherence_by_size"]
    assert all(published.MOPOE_PAPER in r["published_source"]
               for r in mopoe)
    assert all(r["published_source"] == "" for r in rows
               if r["model"] == "mwb")
    md = (again / "table.md").read_text()
    assert "| Model | Seeds | Epochs | 1 | 2 | 3 | 4 | Published | Source |" \
        in md
    assert "| `mopoe` | 2 | 1 |" in md and "| `mwb` | 2 | 1 |" in md
    assert "not transcribed" in md and published.MOPOE_PAPER in md
    assert " ± " in md


def test_published_values_reach_the_table(tmp_path, monkeypatch):
    run = tmp_path / "mopoe" / "seed0"
    run.mkdir(parents=True)
    metrics = {
        "linear_probe": {"m0": 0.5, "m0+m1": 0.75},
        "coherence_by_size": {"1": 0.25},
        "run": {"training": {"benchmark": "polymnist", "fusion": "mopoe",
                             "seed": 0}, "epochs_trained": 3},
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    record = published.Published(
        model="mopoe", citation="Paper X", location="Table 9",
        values={"coherence_by_size": {1: 0.5}})
    monkeypatch.setattr(published, "PUBLISHED", (record,))
    paths = table.write_table(tmp_path, verbose=False)
    md = paths["markdown"].read_text()
    assert "| `mopoe` | 1 | 3 | 0.250 | 0.500 | [1] |" in md
    assert "1. Paper X: Table 9." in md
    rows = list(csv.DictReader(open(paths["csv"])))
    coherence = [r for r in rows if r["metric"] == "coherence_by_size"]
    assert coherence == [{
        "benchmark": "polymnist", "model": "mopoe",
        "metric": "coherence_by_size", "inputs": "1", "mean": "0.25",
        "std": "0.0", "seeds": "1", "published": "0.5",
        "published_source": "Paper X"}]


def test_unknown_model_and_missing_classifiers_are_refused(
        data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_cli("reproduce", "polymnist", "--data-dir", data_dir,
                "--models", "sum", "--out", tmp_path / "grid")
    assert "invalid choice: 'sum'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="Unknown model"):
        reproduce.check_models(["mopoe", "sum"])
    empty = tmp_path / "clf"
    empty.mkdir()
    assert run_cli("reproduce", "polymnist", "--data-dir", data_dir,
                   "--models", "mwb", "--out", tmp_path / "grid",
                   "--classifiers", empty) == 2
    assert "lacks a classifier" in capsys.readouterr().err
    assert run_cli("table", tmp_path) == 2


def test_published_runs_use_each_models_settings():
    from keras_mmvae.src.training import benchmarks

    bench = benchmarks.get("polymnist")
    assert reproduce.run_settings(bench, "mmvae+") == {
        "epochs": 250, "batch_size": 128, "learning_rate": 5e-4}
    assert reproduce.run_settings(bench, "mopoe", epochs=2) == {
        "epochs": 2, "batch_size": 256, "learning_rate": 5e-4}
    assert {r.model for r in published.PUBLISHED} == {
        "mopoe", "mvtcae", "mmvae+"}
