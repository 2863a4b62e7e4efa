"""Smoke tests of `python -m keras_mmvae` on a tiny PolyMNIST-style set."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_mmvae as mm
from keras_mmvae import datasets
from keras_mmvae import models
from keras_mmvae.src.cli.main import main
from keras_mmvae.src.training import checkpoint

# The command line is backend-agnostic glue over code that the rest of the
# suite tests on every backend: it runs under one backend.
pytestmark = pytest.mark.one_backend

SMALL = {"latent_dim": 8, "hidden_dim": 32, "encoder_filters": [4, 8, 8],
         "decoder_filters": [8, 8, 4]}
SMALL_JSON = json.dumps(SMALL)


def run_cli(*args):
    return main([str(a) for a in args])


def test_train_writes_checkpoint_and_resumes(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    common = ["train", "--benchmark", "polymnist", "--fusion", "mwb",
              "--data-dir", data_dir, "--out", out, "--batch-size", "20",
              "--model-kwargs", SMALL_JSON]
    assert run_cli(*common, "--epochs", "1") == 0
    state = json.loads((out / "train_state.json").read_text())
    assert state["epochs_completed"] == 1
    assert (out / "checkpoint.keras").exists()
    assert run_cli(*common, "--epochs", "2") == 0
    assert "Resuming" in capsys.readouterr().out
    state = json.loads((out / "train_state.json").read_text())
    assert state["epochs_completed"] == 2
    assert len(state["history"]["loss"]) == 2


def test_train_precision_flag(data_dir, tmp_path):
    out = tmp_path / "bf16"
    assert run_cli("train", "--benchmark", "polymnist", "--data-dir",
                   data_dir, "--out", out, "--epochs", "1", "--batch-size",
                   "20", "--model-kwargs", SMALL_JSON, "--eval-every", "0",
                   "--precision", "mixed_bfloat16") == 0
    model = keras.saving.load_model(out / "checkpoint.keras")
    assert model.dtype_policy.name == "mixed_bfloat16"
    assert model.encoders["m0"].compute_dtype == "bfloat16"
    state = checkpoint.read_state(out)
    assert state["settings"]["precision"] == "mixed_bfloat16"
    assert np.isfinite(state["history"]["loss"]).all()


def test_train_curves_and_evaluate_write_json(data_dir, tmp_path):
    train = datasets.polymnist.load_arrays(data_dir, split="train")
    test = datasets.polymnist.load_arrays(data_dir, split="test")
    models.train_classifiers("polymnist", train, test,
                             directory=tmp_path / "clf", epochs=1)
    out = tmp_path / "run"
    assert run_cli("train", "--benchmark", "polymnist", "--data-dir",
                   data_dir, "--out", out, "--epochs", "2", "--batch-size",
                   "20", "--model-kwargs", SMALL_JSON, "--eval-every", "1",
                   "--classifiers", tmp_path / "clf") == 0
    curves = json.loads((out / "curves.json").read_text())
    assert [row["step"] for row in curves] == [3, 6]
    for row in curves:
        assert {"coherence/1", "coherence/4", "linear_probe/m0",
                "linear_probe/m0+m1+m2+m3+m4", "kl_loss"} <= set(row)
        assert 0.0 <= row["coherence/1"] <= 1.0
    assert (out / "curves.png").stat().st_size > 0
    metrics = tmp_path / "metrics.json"
    assert run_cli("evaluate", "--model", out / "checkpoint.keras",
                   "--data-dir", data_dir, "--classifiers", tmp_path / "clf",
                   "--num-probe", "30", "--unconditional-samples", "64",
                   "--out", metrics) == 0
    results = json.loads(metrics.read_text())
    assert results["subset_sampling"] == "auto"
    assert len(results["linear_probe"]) == 31
    assert len(results["coherence"]) == 30 * 5
    assert set(results["coherence_by_size"]) == {"1", "2", "3", "4"}
    assert 0.0 <= results["unconditional_coherence"] <= 1.0
    run = results["run"]
    assert run["backend"] == keras.config.backend()
    assert run["fusion"] == "mwb"
    assert run["precision_policy"] == keras.config.dtype_policy().name
    assert run["package_version"] == mm.__version__
    assert run["training"]["batch_size"] == 20
    assert run["training"]["learning_rate"] > 0
    assert set(run["classifier_accuracy"]) == {f"m{i}" for i in range(5)}
    state = json.loads((out / "train_state.json").read_text())
    assert state["run"]["epochs"] == 2 and state["run"]["seed"] == 0


def test_missing_data_dir_names_the_layout(tmp_path, capsys):
    code = run_cli("train", "--benchmark", "polymnist", "--data-dir",
                   tmp_path / "nowhere", "--out", tmp_path / "run")
    assert code == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "m0..m4" in err
    assert "zenodo" in err


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "--epochs: 0 must be > 0"),
    (["--epochs", "-2"], "--epochs: -2 must be > 0"),
    (["--batch-size", "0"], "--batch-size: 0 must be > 0"),
    (["--learning-rate", "0"], "--learning-rate: 0 must be > 0.0"),
    (["--missing-rate", "1.5"], "--missing-rate: 1.5 must be >= 0.0 and < 1"),
    (["--eval-every", "x"], "--eval-every: 'x' is not an integer"),
    (["--model-kwargs", "[1]"], "must be a JSON object"),
    (["--model-kwargs", "{latent"], "not valid JSON"),
    (["--classifiers", "nowhere"], "--classifiers: no folder at 'nowhere'"),
])
def test_train_refuses_bad_arguments(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as info:
        run_cli("train", "--benchmark", "polymnist", "--data-dir", tmp_path,
                "--out", tmp_path / "run", *args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_failed_train_leaves_no_output_folder(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    code = run_cli("train", "--benchmark", "polymnist", "--data-dir", empty,
                   "--out", tmp_path / "run", "--eval-every", "0")
    assert code == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_evaluate_points_to_the_checkpoint_of_a_run_folder(tmp_path, capsys):
    assert run_cli("evaluate", "--model", tmp_path, "--data-dir",
                   tmp_path) == 2
    err = capsys.readouterr().err
    assert "checkpoint.keras" in err and "--out folder of `train`" in err


def test_bad_arguments_exit_nonzero(tmp_path):
    with pytest.raises(SystemExit) as info:
        run_cli("train", "--benchmark", "polymnist", "--fusion", "sum",
                "--data-dir", tmp_path, "--out", tmp_path)
    assert info.value.code == 2
    assert run_cli("evaluate", "--model", tmp_path / "none.keras",
                   "--data-dir", tmp_path) == 2


def test_module_help_runs():
    result = subprocess.run([sys.executable, "-m", "keras_mmvae", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "demo" in result.stdout and "KERAS_BACKEND" in result.stdout


def test_demo_writes_its_outputs(tmp_path):
    out = tmp_path / "demo"
    assert run_cli("demo", "--out", out, "--num-train", "256",
                   "--num-test", "64", "--epochs", "1", "--eval-every", "1",
                   "--classifier-epochs", "1", "--unconditional-samples",
                   "64", "--model-kwargs", SMALL_JSON) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["data"]["modalities"] == ["m0", "m1", "m2", "text"]
    assert report["settings"]["subset_sampling"] == "auto"
    assert report["backend"] == keras.config.backend()
    assert report["package_version"] == mm.__version__
    assert report["precision_policy"] == "float32"
    assert report["models"]["mwb"]["model"]["fusion"] == "mwb"
    row = report["models"]["mwb"]
    assert row["epochs"] == 1 and len(row["linear_probe"]) == 15
    assert set(row["coherence_by_size"]) == {"1", "2", "3"}
    assert set(row["probe_by_size"]) == {"1", "2", "3", "4"}
    assert list(row["seeds"]) == ["0"]
    curves = json.loads((out / "mwb" / "curves.json").read_text())
    assert len(curves) == 1 and "coherence/1" in curves[0]
    for name in ("coherence_by_inputs.png", "summary.md", "mwb/curves.png",
                 "mwb/generate.png", "mwb/conditional_m0.png",
                 "mwb/conditional_text.png"):
        assert (out / name).stat().st_size > 0, name


def test_demo_refuses_unknown_presets(tmp_path):
    from keras_mmvae.src.cli.demo import demo

    with pytest.raises(ValueError, match="Unknown presets"):
        demo(out=tmp_path / "demo", fusions=["mwb", "sum"])
    assert not (tmp_path / "demo").exists()
    with pytest.raises(SystemExit):
        run_cli("demo", "--fusions", "sum")
