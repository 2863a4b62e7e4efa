"""Checkpoints and exact resume of a training run.

`RunCheckpoint` saves the model (with its optimizer and seed state) and the
run state (`train_state.json`: epochs and batches done, history, settings)
so that a rerun resumes exactly where the run stopped; `EpochRemainder`
feeds the rest of an interrupted epoch in its original order and
`TimeBudget` stops `fit` at a wall-clock budget.
"""

import json
import os
import pathlib
import time

import keras

CHECKPOINT = "checkpoint.keras"
STATE = "train_state.json"


def _tmp(path):
    return pathlib.Path(str(path) + ".tmp")


def write_json(path, data):
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


def read_state(out_dir):
    path = pathlib.Path(out_dir) / STATE
    if not path.exists():
        return None
    return json.loads(path.read_text())
