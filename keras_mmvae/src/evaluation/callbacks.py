"""Keras callbacks: periodic evaluation and generation grids during `fit`."""

import json
import os
import time
from collections.abc import Callable

import keras
import numpy as np
from keras import ops

from keras_mmvae.src.api_export import keras_mmvae_export
from keras_mmvae.src.evaluation import common
from keras_mmvae.src.evaluation import data as data_lib
from keras_mmvae.src.evaluation.coherence import coherence
from keras_mmvae.src.evaluation.coherence import coherence_by_size
from keras_mmvae.src.evaluation.coherence import unconditional_coherence
from keras_mmvae.src.evaluation.data import EvaluationData
from keras_mmvae.src.evaluation.linear_probe import linear_probe
from keras_mmvae.src.evaluation.log_likelihood import log_likelihood
from keras_mmvae.src.evaluation.plots import plot_generations
from keras_mmvae.src.evaluation.plots import plot_learning_curves
from keras_mmvae.src.evaluation.results import key_to_string

BUILTIN_METRICS = ("coherence", "linear_probe", "log_likelihood",
                   "unconditional_coherence")


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and (
        not isinstance(value, bool)
    )


@keras_mmvae_export("keras_mmvae.evaluation.EvaluationCallback")
class EvaluationCallback(keras.callbacks.Callback):
    """Runs evaluation metrics every `every_n_epochs` epochs during `fit`.

    Scalar results are written into the epoch's `logs`, so `History`
    (`model.history.history`), `CSVLogger` and `TensorBoard` record them;
    list this callback **before** `TensorBoard`/`CSVLogger` in `callbacks`
    (Keras passes the same `logs` dict along the list; `History` and the
    progress bar always come last). It evaluates after the first epoch of
    every `fit` and then after every `every_n_epochs`-th epoch; on the
    other epochs its keys are logged as NaN, so `CSVLogger` has its columns
    from the first row and `History` lists line up with epochs (monitor
    these keys with `EarlyStopping` only when `every_n_epochs=1`). The
    evaluated epochs are in `evaluated_epochs` and the full (non-scalar)
    results in `results`.

    Built-in metric names and what they log:

    | name | logged keys |
    |---|---|
    | `"coherence"` | `coherence/<k>`: headline for `k` input modalities |
    | `"linear_probe"` | `linear_probe/<subset>` (e.g. `linear_probe/m0+m1`) |
    | `"log_likelihood"` | `log_likelihood/<subset>` (joint, nats) |
    | `"unconditional_coherence"` | `unconditional_coherence` |

    Custom metrics are callables `model → number or dict`; a dict result
    is logged as `<name>/<key>` for its numeric values (tuple keys written as
    in `serialize_results`).

    Args:
        metrics: Built-in names, a dict name → callable, or a list mixing
            names, callables (logged under their `__name__`) and
            `(name, callable)` pairs.
        test_data: Evaluation data (`coherence`, `linear_probe`,
            `log_likelihood`).
        train_data: Training data of the linear probe.
        classifiers: Dict modality → classifier (`coherence`,
            `unconditional_coherence`).
        every_n_epochs: Evaluate after the first epoch and epochs
            `n, 2n, ...` (1-based).
        metric_kwargs: Dict built-in name → extra keyword arguments (e.g.
            `{"log_likelihood": {"num_samples": 12}}`).
        verbose: Print the logged values after each evaluation.

    Example:
    ```python
    import numpy as np
    import keras
    import keras_mmvae as mm
    import keras_mmvae.evaluation as ev

    x = {"a": np.random.normal(size=(32, 3)).astype("float32"),
         "b": np.random.normal(size=(32, 3)).astype("float32")}
    vae = mm.MultimodalVAE(
        encoders={n: mm.layers.MLPEncoder(2, hidden_dims=()) for n in x},
        decoders={n: mm.layers.MLPDecoder((3,), hidden_dims=()) for n in x},
        likelihoods={n: "gaussian" for n in x}, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    callback = ev.EvaluationCallback(
        ["log_likelihood"], test_data=x,
        metric_kwargs={"log_likelihood": {"num_samples": 2}})
    history = vae.fit(x, batch_size=16, epochs=1, callbacks=[callback],
                      verbose=0)
    assert "log_likelihood/a+b" in history.history
    ```
    """

    def __init__(
        self,
        metrics: str | Callable | dict | list,
        test_data: EvaluationData | None = None,
        train_data: EvaluationData | None = None,
        classifiers: dict | None = None,
        every_n_epochs: int = 1,
        metric_kwargs: dict | None = None,
        verbose: int = 0,
    ):
        super().__init__()
        if isinstance(metrics, str) or callable(metrics):
            metrics = [metrics]
        if isinstance(metrics, dict):
            items = list(metrics.items())
        else:
            items = []
            for m in metrics:
                if isinstance(m, str):
                    items.append((m, m))
                elif callable(m):
                    items.append((getattr(m, "__name__", repr(m)), m))
                else:
                    items.append(tuple(m))
        self.metrics = {}
        for name, metric in items:
            if isinstance(metric, str) and metric not in BUILTIN_METRICS:
                raise ValueError(
                    f"Unknown metric {metric!r}; use one of "
                    f"{BUILTIN_METRICS} or a callable model → value."
                )
            if not isinstance(metric, str) and not callable(metric):
                raise ValueError(
                    f"Metric {name!r} must be a built-in name or a callable; "
                    f"got {metric!r}."
                )
            self.metrics[name] = metric
        needs = {
            "coherence": ("test_data", "classifiers"),
            "linear_probe": ("train_data", "test_data"),
            "log_likelihood": ("test_data",),
            "unconditional_coherence": ("classifiers",),
        }
        given = {"test_data": test_data, "train_data": train_data,
                 "classifiers": classifiers}
        for metric in self.metrics.values():
            for arg in needs.get(metric, ()) if isinstance(metric, str) \
                    else ():
                if given[arg] is None:
                    raise ValueError(f"Metric {metric!r} needs `{arg}`.")
        if int(every_n_epochs) < 1:
            raise ValueError(
                f"`every_n_epochs` must be >= 1; got {every_n_epochs}."
            )
        self.test_data = test_data
        self.train_data = train_data
        self.classifiers = classifiers
        self.every_n_epochs = int(every_n_epochs)
        self.metric_kwargs = dict(metric_kwargs or {})
        self.verbose = verbose
        self.results = {}
        self.evaluated_epochs = []
        self.log_keys = []
        self._first_epoch = True

    def _run(self, metric):
        kwargs = self.metric_kwargs.get(metric, {}) if isinstance(
            metric, str) else {}
        model = self.model
        if metric == "coherence":
            full = coherence(model, self.test_data, self.classifiers,
                             **kwargs)
            return full, coherence_by_size(full)
        if metric == "linear_probe":
            result = linear_probe(model, self.train_data, self.test_data,
                                  **kwargs)
            return result, result
        if metric == "log_likelihood":
            result = log_likelihood(model, self.test_data, **kwargs)
            return result, result
        if metric == "unconditional_coherence":
            result = unconditional_coherence(model, self.classifiers,
                                             **kwargs)
            return result, result
        result = metric(model)
        return result, result

    def evaluate(self) -> tuple[dict, dict]:
        """Runs every metric now: `(full results, scalar logs)`."""
        results, logs = {}, {}
        for name, metric in self.metrics.items():
            full, scalars = self._run(metric)
            results[name] = full
            if _is_number(scalars):
                logs[name] = float(scalars)
            elif isinstance(scalars, dict):
                for key, value in scalars.items():
                    if _is_number(value):
                        logs[f"{name}/{key_to_string(key)}"] = float(value)
            else:
                raise ValueError(
                    f"Metric {name!r} returned {type(scalars).__name__}; "
                    "expected a number or a dict."
                )
        return results, logs

    def on_train_begin(self, logs=None):
        self._first_epoch = True

    def on_epoch_end(self, epoch, logs=None):
        first, self._first_epoch = self._first_epoch, False
        if not first and (epoch + 1) % self.every_n_epochs:
            if logs is not None:
                logs.update({key: float("nan") for key in self.log_keys})
            return
        results, scalars = self.evaluate()
        self.results[epoch + 1] = results
        self.evaluated_epochs.append(epoch + 1)
        self.log_keys = list(scalars)
        if logs is not None:
            logs.update(scalars)
        if self.verbose:
            text = ", ".join(f"{k}: {v:.4f}" for k, v in scalars.items())
            print(f"Epoch {epoch + 1} evaluation: {text}")


def _conditioning_inputs(data, num_samples):
    if data is None:
        return None
    for inputs, _ in data_lib.iterate_batches(data, num_samples):
        return {k: v[:num_samples] for k, v in inputs.items()}
    raise ValueError("`conditioning_data` is empty.")


@keras_mmvae_export("keras_mmvae.evaluation.GenerationGridCallback")
class GenerationGridCallback(keras.callbacks.Callback):
    """Writes PNG grids of generated samples every `every_n_epochs` epochs.

    Unconditional samples decode `num_samples` prior draws; conditional
    samples decode one posterior draw per conditioning example for each
    input subset. The random draws come from a generator re-seeded with
    `seed` at every epoch, so successive grids show the same latent codes
    and differ only through training. Files:
    `{directory}/unconditional_epoch_{NNNN}.png` and
    `{directory}/conditional_{subset}_epoch_{NNNN}.png` (subset as
    `m0+m1`); `paths` lists what was written. With `tensorboard_log_dir`
    every grid is also logged there as a TensorBoard image (tags
    `generations/unconditional`, `generations/conditional_{subset}`, step
    = epoch); give the `log_dir` of your `keras.callbacks.TensorBoard` to
    see them beside its scalars. Needs the `tensorboard` package (extra
    `keras_mmvae[tensorboard]`), not TensorFlow.

    Args:
        directory: Output folder (created if needed).
        every_n_epochs: Write after epochs `n, 2n, ...` (1-based).
        num_samples: Columns of each grid.
        conditioning_data: Optional data (`(inputs, labels)`, an inputs dict
            or a dataset) whose first `num_samples` examples are the
            conditioning inputs; no conditional grids without it.
        subsets: Input subsets of the conditional grids (default: every
            single modality).
        seed: Seed of the draws.
        tensorboard_log_dir: Optional TensorBoard log folder for the grids.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        every_n_epochs: int = 1,
        num_samples: int = 8,
        conditioning_data: EvaluationData | None = None,
        subsets: list[tuple[str, ...]] | None = None,
        seed: int = 0,
        tensorboard_log_dir: str | os.PathLike | None = None,
    ):
        super().__init__()
        if int(every_n_epochs) < 1:
            raise ValueError(
                f"`every_n_epochs` must be >= 1; got {every_n_epochs}."
            )
        self.directory = os.fspath(directory)
        self.every_n_epochs = int(every_n_epochs)
        self.num_samples = int(num_samples)
        self.conditioning = _conditioning_inputs(conditioning_data,
                                                 self.num_samples)
        self.subsets = subsets
        self.seed = int(seed)
        self.paths = []
        self.tensorboard = None
        if tensorboard_log_dir is not None:
            self.tensorboard = TensorBoardImages(tensorboard_log_dir)

    def _make_runners(self, model):
        def unconditional(runner, inputs):
            return runner.vae.prior_decode_means(
                ops.shape(inputs["rows"])[0], seed=runner.seed_generator)

        def conditional(runner, inputs):
            return runner.vae.conditional_decode_means(
                inputs, inputs[common.SUBSET_MASK],
                seed=runner.seed_generator)

        self._runners = {
            "unconditional": common.EvaluationRunner(model, unconditional,
                                                     seed=self.seed),
            "conditional": common.EvaluationRunner(model, conditional,
                                                   seed=self.seed),
        }
        self._model_of_runners = model
        self._initial_state = self._runners["unconditional"].seed_state()

    def _runner(self, kind):
        if getattr(self, "_model_of_runners", None) is not self.model:
            self._make_runners(self.model)
        runner = self._runners[kind]
        runner.set_seed_state(self._initial_state)
        return runner

    def write(self, tag: str, step: int = 0) -> list[str]:
        """Writes the grids now, file names ending in `_{tag}.png`.

        `step` is the TensorBoard step of the images (with
        `tensorboard_log_dir`).
        """
        model = self.model
        common.check_built(model)
        os.makedirs(self.directory, exist_ok=True)
        written = []
        outputs = self._runner("unconditional").run(
            {"rows": np.zeros((self.num_samples, 1), "float32")}
        )
        path = os.path.join(self.directory, f"unconditional_{tag}.png")
        plot_generations(outputs, path=path, title=f"unconditional, {tag}")
        written.append(path)
        if self.conditioning is not None:
            names = model.modality_names
            subsets = self.subsets
            if subsets is None:
                subsets = [(n,) for n in names]
            subsets = common.resolve_subsets(names, subsets)
            inputs = self.conditioning
            available = data_lib.batch_availability(inputs, names)
            for subset in subsets:
                mask = common.subset_mask(names, subset, available)
                outputs = self._runner("conditional").run(
                    common.runner_inputs(model, inputs, mask)
                )
                key = key_to_string(subset)
                path = os.path.join(self.directory,
                                    f"conditional_{key}_{tag}.png")
                plot_generations(
                    outputs, inputs={n: inputs[n] for n in subset},
                    path=path, title=f"given {key}, {tag}",
                )
                written.append(path)
        self.paths.extend(written)
        if self.tensorboard is not None:
            suffix = f"_{tag}.png"
            self.tensorboard.write(
                {"generations/" + os.path.basename(p)[:-len(suffix)]: p
                 for p in written}, step)
        return written

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        self.write(f"epoch_{epoch + 1:04d}", step=epoch + 1)


class TensorBoardImages:
    """Appends PNG files to a TensorBoard event file (no TensorFlow needed)."""

    def __init__(self, log_dir):
        try:
            from tensorboard.summary.writer.event_file_writer import (
                EventFileWriter,
            )
        except ImportError as e:
            raise ImportError(
                "`tensorboard_log_dir` needs the `tensorboard` package: "
                "pip install 'keras_mmvae[tensorboard]'.") from e
        self.writer = EventFileWriter(os.fspath(log_dir))

    def write(self, pngs: dict, step: int):
        """Logs `{tag: png path}` as images at `step`."""
        from PIL import Image
        from tensorboard.compat.proto import event_pb2
        from tensorboard.compat.proto import summary_pb2

        values = []
        for tag, path in pngs.items():
            with open(path, "rb") as f:
                encoded = f.read()
            with Image.open(path) as image:
                width, height = image.size
                channels = len(image.getbands())
            values.append(summary_pb2.Summary.Value(
                tag=tag, image=summary_pb2.Summary.Image(
                    height=height, width=width, colorspace=channels,
                    encoded_image_string=encoded)))
        self.writer.add_event(event_pb2.Event(
            wall_time=time.time(), step=int(step),
            summary=summary_pb2.Summary(value=values)))
        self.writer.flush()


@keras_mmvae_export("keras_mmvae.evaluation.LearningCurves")
class LearningCurves(keras.callbacks.Callback):
    """Writes `curves.json` and `curves.png` whenever an evaluation ran.

    List it **after** an `EvaluationCallback`: at the end of every epoch
    whose `logs` hold evaluation results (`coherence/…`, `linear_probe/…`,
    …) it appends one row — the training step (`optimizer.iterations`),
    the epoch and every logged value — to `{directory}/curves.json` and
    redraws `{directory}/curves.png` (`plot_learning_curves`). An existing
    `curves.json` is continued, so a resumed run keeps its earlier rows.
    A curve that stays at chance tells you early that a run is not
    learning.

    Args:
        directory: Output folder (created if needed).
        title: Title of the figure.

    Example:
    ```python
    import tempfile
    import numpy as np
    import keras
    import keras_mmvae as mm
    import keras_mmvae.evaluation as ev

    x = {"a": np.random.normal(size=(32, 3)).astype("float32"),
         "b": np.random.normal(size=(32, 3)).astype("float32")}
    y = np.arange(32) % 2
    vae = mm.MultimodalVAE(
        encoders={n: mm.layers.MLPEncoder(2, hidden_dims=()) for n in x},
        decoders={n: mm.layers.MLPDecoder((3,), hidden_dims=()) for n in x},
        likelihoods={n: "gaussian" for n in x}, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    out = tempfile.mkdtemp()
    vae.fit(x, batch_size=16, epochs=2, verbose=0, callbacks=[
        ev.EvaluationCallback(["linear_probe"], test_data=(x, y),
                              train_data=(x, y),
                              metric_kwargs={"linear_probe": {"num_train": 32}}),
        ev.LearningCurves(out)])
    curves = ev.LearningCurves.read(out)
    assert [row["step"] for row in curves] == [2, 4]
    ```
    """

    FILE = "curves.json"

    def __init__(self, directory: str | os.PathLike,
                 title: str | None = None):
        super().__init__()
        self.directory = os.fspath(directory)
        self.title = title
        self.rows = []

    @classmethod
    def read(cls, directory: str | os.PathLike) -> list[dict]:
        """The rows of `{directory}/curves.json` (empty if there is none)."""
        path = os.path.join(os.fspath(directory), cls.FILE)
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return json.load(f)

    def on_train_begin(self, logs=None):
        self.rows = self.read(self.directory)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not any(("/" in k or k in BUILTIN_METRICS) and np.ndim(v) == 0
                   and np.isfinite(v) for k, v in logs.items()):
            return  # no evaluation in this epoch
        row = {"step": int(ops.convert_to_numpy(
                   self.model.optimizer.iterations)),
               "epoch": epoch + 1}
        row.update({k: float(v) for k, v in logs.items()
                    if np.ndim(v) == 0})
        self.rows.append(row)
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, self.FILE)
        with open(path + ".tmp", "w") as f:
            json.dump(self.rows, f, indent=1)
        os.replace(path + ".tmp", path)
        plot_learning_curves(self.rows,
                             path=os.path.join(self.directory, "curves.png"),
                             title=self.title)
