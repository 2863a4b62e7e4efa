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


def _tmp(path):
    return pathlib.Path(str(path) + ".tmp")


def _write_json(path, data):
    tmp = _tmp(path)
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the model (with optimizer and seed state) and the run state.

    Saves at the end of every epoch, and every `every_steps` optimizer
    steps inside an epoch when given. The `.keras` file is written to a
    temporary name and renamed, so an interrupted run (even by SIGKILL)
    always leaves its last complete checkpoint behind. The run state records
    the epoch and the batches of it already trained, so that `train`
    resumes exactly there: the same weights, optimizer state, random draws
    and data order as a run that was never interrupted.

    `skip` is the number of batches of the first epoch of this `fit` that
    an earlier, interrupted `fit` trained already.
    """

    def __init__(self, out_dir, settings, history, steps_per_epoch,
                 every_steps=None, skip=0):
        super().__init__()
        self.out_dir = pathlib.Path(out_dir)
        self.settings = settings
        self.history = history
        self.steps_per_epoch = steps_per_epoch
        self.every_steps = every_steps
        self.skip = skip

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.offset, self.skip = epoch, self.skip, 0
        self.batches = self.offset

    def on_train_batch_end(self, batch, logs=None):
        self.batches = self.offset + batch + 1
        if (self.every_steps and self.batches < self.steps_per_epoch
                and self.batches % self.every_steps == 0):
            self.save(self.epoch, self.batches)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.batches >= self.steps_per_epoch:
            self.save(epoch + 1, 0)
        else:  # cut short by a time budget: resume inside this epoch
            self.save(epoch, self.batches)

    def save(self, epochs_completed, batches_done):
        # The state is written (to its temporary name) before the model and
        # renamed after it: whenever the process dies, one of the two state
        # files matches the checkpoint (`matching_state` picks it).
        self.last_saved = (epochs_completed, batches_done)
        state = {
            "epochs_completed": epochs_completed,
            "batches_done": batches_done,
            "steps_completed": optimizer_steps(self.model),
            "settings": self.settings,
            "history": self.history,
        }
        state_tmp = _tmp(self.out_dir / STATE)
        state_tmp.write_text(json.dumps(state, indent=2))
        model_tmp = self.out_dir / ("tmp-" + CHECKPOINT)
        self.model.save(model_tmp)
        os.replace(model_tmp, self.out_dir / CHECKPOINT)
        os.replace(state_tmp, self.out_dir / STATE)


def optimizer_steps(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def matching_state(out_dir, model):
    """The run state saved with the checkpoint that `model` was loaded from."""
    steps = optimizer_steps(model)
    for path in (out_dir / STATE, _tmp(out_dir / STATE)):
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):  # absent, or cut short by a crash
            continue
        if state.get("steps_completed") == steps:
            return state
    raise ValueError(
        f"{out_dir / CHECKPOINT} ({steps} steps) does not match "
        f"{out_dir / STATE}: the run folder was changed by hand; delete it "
        "or pass another --out.")


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit` after the first batch that ends past `seconds`.

    The clock starts at the first `fit` it is passed to and keeps running
    through later ones.
    """

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.start = None

    def on_train_begin(self, logs=None):
        if self.start is None:
            self.start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.start > self.seconds:
            self.model.stop_training = True


class EpochRemainder(keras.utils.PyDataset):
    """Batches `skip, skip + 1, ...` of epoch `epoch` of a dataset.

    Feeds the rest of an interrupted epoch to `fit`, in the order the
    uninterrupted epoch would have used.
    """

    def __init__(self, dataset, epoch, skip):
        super().__init__()
        self.dataset = dataset
        self.skip = skip
        dataset.set_epoch(epoch)

    def __len__(self):
        return len(self.dataset) - self.skip

    def __getitem__(self, index):
        return self.dataset[self.skip + index]


def curve_callbacks(bench, data_dir, out_dir, every_n_epochs,
                    classifiers_dir=None, num_eval=1000, seed=0):
    """`EvaluationCallback` + `LearningCurves` writing `<out>/curves.*`.

    Evaluates `num_eval` test examples: the latent probe of each single
    modality and of all of them, and with classifiers the coherence from
    each single modality and from all but one.
    """
    from keras_mmvae import models

    # Streamed splits: the probe draws its training examples, the test
    # examples are read by index; neither split is loaded whole.
    train = bench.dataset.load(data_dir, split="train", batch_size=256,
                               shuffle=False, drop_last=False)
    test = bench.dataset.load(data_dir, split=bench.test_split,
                              shuffle=False, drop_last=False)
    return evaluation_callbacks(
        bench.modalities, train, test, out_dir, every_n_epochs,
        models.load_classifiers(classifiers_dir) if classifiers_dir
        else None, num_eval=num_eval, seed=seed)


def evaluation_callbacks(names, train, test, out_dir, every_n_epochs,
                         classifiers=None, num_eval=1000, seed=0):
    """The learning-curve callbacks, evaluating `num_eval` drawn test rows.

    `test` is `(inputs, labels)` arrays or a `MultimodalDataset`, which
    reads only the drawn rows.
    """
    from keras_mmvae import evaluation

    if hasattr(test, "get"):
        rows = np.random.default_rng(seed).permutation(test.num_examples)
        test = test.get(np.sort(rows[:num_eval]))
    else:
        rows = np.random.default_rng(seed).permutation(len(test[1]))
        rows = rows[:num_eval]
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
          dataset_kwargs=None, seconds=None, save_every_steps=None,
          precision=None, callbacks=(), verbose="auto"):
    """Trains (or resumes) one model; returns `(model, state)`.

    Checkpoints at every epoch end and, with `save_every_steps`, every that
    many steps inside an epoch. A rerun with the same `out_dir` loads
    `checkpoint.keras` and continues exactly where the checkpoint was
    taken, up to `epochs`: the batches left of an interrupted epoch in that
    epoch's order, then the next epochs; weights, optimizer state and the
    model's random draws are those of an uninterrupted run. `seconds`
    bounds the wall time (the epoch in progress is cut short at the budget
    and resumed from there by a rerun). `precision` is the model's dtype
    policy (e.g. `"mixed_bfloat16"`; default: Keras's global policy).
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
        **({"precision": precision} if precision else {}),
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
        state = matching_state(out_dir, model)
        done = state["epochs_completed"]
        skip = state.get("batches_done", 0)
        history = state["history"]
        if verbose:
            print(f"Resuming from {checkpoint} after {done} epoch(s)"
                  + (f" and {skip} batch(es)." if skip else "."))
    else:
        keras.utils.set_random_seed(seed)
        model = bench.factory(fusion=fusion, seed=seed,
                              dtype_policy=precision, **(model_kwargs or {}))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        done, skip, history = 0, 0, {}
    if done >= epochs:
        if verbose:
            print(f"{out_dir}: already trained for {done} epoch(s).")
        return model, read_state(out_dir)
    train_data = bench.dataset.load(
        data_dir, split="train", batch_size=batch_size, seed=seed,
        missing_rate=missing_rate, **(dataset_kwargs or {}))
    run_checkpoint = RunCheckpoint(out_dir, settings, history,
                                   len(train_data), save_every_steps, skip)
    callbacks = [run_checkpoint, *callbacks]
    if seconds is not None:
        callbacks.append(TimeBudget(seconds))
    start = time.monotonic()
    # `fit` epoch e reads the dataset's epoch e + 1: Keras advances the
    # dataset once when `fit` starts (see `MultimodalDataset`). The dataset
    # shuffles itself, seeded; `shuffle=False` stops Keras from permuting
    # the batches again with Python's global `random`.
    if skip:
        model.fit(EpochRemainder(train_data, done + 1, skip),
                  epochs=done + 1, initial_epoch=done, callbacks=callbacks,
                  shuffle=False, verbose=verbose)
        done, skip = run_checkpoint.last_saved
    if not skip and done < epochs:
        train_data.set_epoch(done)
        model.fit(train_data, epochs=epochs, initial_epoch=done,
                  callbacks=callbacks, shuffle=False, verbose=verbose)
    state = read_state(out_dir) or {"epochs_completed": done}
    state["train_seconds"] = state.get("train_seconds", 0.0) + (
        time.monotonic() - start)
    state["run"] = {**environment(), **model_record(model),
                    "epochs": epochs}
    _write_json(out_dir / STATE, state)
    return model, state
