"""Resumable training runs: checkpoint every epoch, resume on rerun."""

import json
import os
import pathlib
import sys
import time

import keras
import numpy as np

from keras_mmvae.src.cli import benchmarks

CHECKPOINT = "checkpoint.keras"
STATE = "train_state.json"


def environment():
    """What decides the numbers besides the run's own settings."""
    from keras_mmvae.version import __version__

    return {"package_version": __version__,
            "keras_version": keras.__version__,
            "backend": keras.config.backend(),
            "precision_policy": keras.config.dtype_policy().name}


def model_record(model):
    """The model settings that decide a run's numbers."""
    fusion = model.fusion_spec
    return {"fusion": fusion if isinstance(fusion, str) else
            model.fusion.mode,
            "seed": model.seed, "subset_sampling": model.subset_sampling,
            "beta": model.beta, "latent_dim": model.latent_dim,
            "reconstruction_weights": model.reconstruction_weights}


def _write_json(path, data):
    tmp = pathlib.Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the model (with optimizer state) and the run state each epoch.

    The `.keras` file is written to a temporary name and renamed, so an
    interrupted run always leaves the last complete epoch behind. An epoch
    that a `TimeBudget` cut short is saved but not counted as completed
    (a resumed run trains it again in full); `steps_completed` counts the
    optimizer steps taken.
    """

    def __init__(self, out_dir, settings, history):
        super().__init__()
        self.out_dir = pathlib.Path(out_dir)
        self.settings = settings
        self.history = history

    def on_epoch_begin(self, epoch, logs=None):
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        steps = self.params.get("steps")
        complete = steps is None or self.batches >= steps
        tmp = self.out_dir / ("tmp-" + CHECKPOINT)
        self.model.save(tmp)
        os.replace(tmp, self.out_dir / CHECKPOINT)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        _write_json(self.out_dir / STATE, {
            "epochs_completed": epoch + 1 if complete else epoch,
            "steps_completed": int(keras.ops.convert_to_numpy(
                self.model.optimizer.iterations)),
            "settings": self.settings,
            "history": self.history,
        })


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` after the first batch that ends past `seconds`."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.start > self.seconds:
            self.model.stop_training = True


def curve_callbacks(bench, data_dir, out_dir, every_n_epochs,
                    classifiers_dir=None, num_eval=1000, seed=0):
    """`EvaluationCallback` + `LearningCurves` writing `<out>/curves.*`.

    Evaluates `num_eval` test examples: the latent probe of each single
    modality and of all of them, and with classifiers the coherence from
    each single modality and from all but one.
    """
    from keras_mmvae import models

    # The probe draws its training examples from a streamed split.
    train = bench.dataset.load(data_dir, split="train", batch_size=256,
                               shuffle=False, drop_last=False)
    test = bench.dataset.load_arrays(data_dir, split=bench.test_split)
    return evaluation_callbacks(
        bench.modalities, train, test, out_dir, every_n_epochs,
        models.load_classifiers(classifiers_dir) if classifiers_dir
        else None, num_eval=num_eval, seed=seed)


def evaluation_callbacks(names, train, test, out_dir, every_n_epochs,
                         classifiers=None, num_eval=1000, seed=0):
    """The learning-curve callbacks for in-memory `(inputs, labels)` data."""
    from keras_mmvae import evaluation

    rows = np.random.default_rng(seed).permutation(len(test[1]))[:num_eval]
    test = ({k: v[rows] for k, v in test[0].items()}, test[1][rows])
    names = list(names)
    singles = [(n,) for n in names]
    metrics = ["linear_probe"]
    kwargs = {"linear_probe": {"subsets": singles + [tuple(names)],
                               "num_train": 1000, "seed": seed}}
    if classifiers:
        metrics.append("coherence")
        leave_one_out = [tuple(n for n in names if n != m) for m in names]
        kwargs["coherence"] = {
            "subsets": singles + (leave_one_out if len(names) > 2 else []),
            "seed": seed}
    return [evaluation.EvaluationCallback(
                metrics, test_data=test, train_data=train,
                classifiers=classifiers, every_n_epochs=every_n_epochs,
                metric_kwargs=kwargs),
            evaluation.LearningCurves(out_dir)]


def read_state(out_dir):
    path = pathlib.Path(out_dir) / STATE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def train(benchmark, fusion, data_dir, epochs, out_dir, batch_size=None,
          learning_rate=None, seed=0, missing_rate=0.0, model_kwargs=None,
          dataset_kwargs=None, seconds=None, train_data=None, callbacks=(),
          verbose="auto"):
    """Trains (or resumes) one model; returns `(model, state)`.

    A rerun with the same `out_dir` loads `checkpoint.keras` and continues
    from the last completed epoch up to `epochs`. `train_data` replaces the
    loader when given (the demo passes its own dataset). `seconds` bounds
    the wall time (the epoch in progress is cut short at the budget).
    """
    if verbose == "auto":  # progress bar on a terminal, a line per epoch else
        verbose = 1 if sys.stdout.isatty() else 2
    bench = benchmarks.get(benchmark)
    hp = bench.hyperparameters
    batch_size = batch_size or hp["batch_size"]
    learning_rate = learning_rate or hp["learning_rate"]
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "benchmark": benchmark, "fusion": fusion, "batch_size": batch_size,
        "learning_rate": learning_rate, "seed": seed,
        "missing_rate": missing_rate, "model_kwargs": model_kwargs or {},
    }
    state = read_state(out_dir)
    checkpoint = out_dir / CHECKPOINT
    if state is not None and checkpoint.exists():
        if state["settings"] != settings:
            raise ValueError(
                f"{out_dir} holds a run with other settings "
                f"({state['settings']}); pass another --out or delete it."
            )
        model = keras.saving.load_model(checkpoint)
        done = state["epochs_completed"]
        history = state["history"]
        if verbose:
            print(f"Resuming from {checkpoint} after {done} epoch(s).")
    else:
        keras.utils.set_random_seed(seed)
        model = bench.factory(fusion=fusion, seed=seed,
                              **(model_kwargs or {}))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        done, history = 0, {}
    if done >= epochs:
        if verbose:
            print(f"{out_dir}: already trained for {done} epoch(s).")
        return model, read_state(out_dir)
    if train_data is None:
        train_data = bench.dataset.load(
            data_dir, split="train", batch_size=batch_size, seed=seed,
            missing_rate=missing_rate, **(dataset_kwargs or {}))
    callbacks = [EpochCheckpoint(out_dir, settings, history), *callbacks]
    if seconds is not None:
        callbacks.append(TimeBudget(seconds))
    start = time.monotonic()
    model.fit(train_data, epochs=epochs, initial_epoch=done,
              callbacks=callbacks, verbose=verbose)
    state = read_state(out_dir) or {"epochs_completed": done}
    state["train_seconds"] = state.get("train_seconds", 0.0) + (
        time.monotonic() - start)
    state["run"] = {**environment(), **model_record(model),
                    "epochs": epochs}
    _write_json(out_dir / STATE, state)
    return model, state
