"""Resumable training runs: checkpoint every epoch, resume on rerun."""

import pathlib
import sys
import time

import keras

from keras_mmvae.src.training import benchmarks
from keras_mmvae.src.training.checkpoint import CHECKPOINT
from keras_mmvae.src.training.checkpoint import STATE
from keras_mmvae.src.training.checkpoint import EpochRemainder
from keras_mmvae.src.training.checkpoint import RunCheckpoint
from keras_mmvae.src.training.checkpoint import TimeBudget
from keras_mmvae.src.training.checkpoint import matching_state
from keras_mmvae.src.training.checkpoint import read_state
from keras_mmvae.src.training.checkpoint import write_json


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
    write_json(out_dir / STATE, state)
    return model, state
