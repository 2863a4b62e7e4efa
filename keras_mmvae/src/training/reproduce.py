"""A benchmark's protocol from data to table: classifiers, a grid of runs.

`classifiers` trains (or reuses) a benchmark's evaluation classifiers;
`reproduce` trains and evaluates every model × seed of a grid, each run in
its own folder `<out>/<model>/seed<seed>/` (`runs.train`: checkpoints and
exact resume), and writes the table (`table.write_table`). A rerun of the
same command skips the finished runs (their `metrics.json` exists and
records as many epochs as asked) and resumes an interrupted one exactly
where its last checkpoint left it.
"""

import json
import os
import pathlib
import shutil

from keras_mmvae.src.presets import PRESETS
from keras_mmvae.src.training import benchmarks
from keras_mmvae.src.training.checkpoint import CHECKPOINT
from keras_mmvae.src.training.checkpoint import read_state

METRICS = "metrics.json"
CLASSIFIER_SCORES = "scores.json"


def run_dir(out, model, seed):
    """The folder of one run of a grid."""
    return pathlib.Path(out) / model / f"seed{seed}"


def _require_dir(path, bench):
    if not pathlib.Path(path).is_dir():
        raise FileNotFoundError(
            f"Data folder {str(path)!r} does not exist. Expected layout for "
            f"{bench.name}: {bench.layout}")


def _write_json(path, data):
    path = pathlib.Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def classifiers_ready(directory, bench):
    """Whether `directory` holds a trained classifier of every modality."""
    directory = pathlib.Path(directory)
    return all((directory / f"{name}.keras").is_file()
               for name in bench.modalities)


def classifiers(benchmark, data_dir, out, epochs=10, batch_size=256,
                learning_rate=1e-3, seed=0, force=False, verbose=True):
    """Trains the evaluation classifiers of `benchmark` into `out`.

    Saves `<out>/<modality>.keras` and the test scores in
    `<out>/scores.json`. Reuses the folder when it already holds a
    classifier of every modality (`force=True` retrains).

    Returns:
        Dict modality → test score (accuracy, or mean AP for CelebA's
        attributes); the saved scores when reused.
    """
    import keras

    from keras_mmvae.src.evaluation.classifiers import train_classifiers

    bench = benchmarks.get(benchmark)
    _require_dir(data_dir, bench)
    out = pathlib.Path(out)
    scores_path = out / CLASSIFIER_SCORES
    if not force and classifiers_ready(out, bench):
        if verbose:
            print(f"{out}: classifiers of {', '.join(bench.modalities)} "
                  "found; reused (pass --force to retrain).", flush=True)
        return (json.loads(scores_path.read_text())
                if scores_path.is_file() else {})
    keras.utils.set_random_seed(seed)
    train = bench.dataset.load(data_dir, split="train",
                               batch_size=batch_size, seed=seed)
    test = bench.dataset.load(data_dir, split=bench.test_split,
                              batch_size=batch_size, shuffle=False,
                              drop_last=False)
    builder = ({"num_modalities": len(bench.modalities)}
               if benchmark == "polymnist" else {})
    _, scores = train_classifiers(
        benchmark, train, test, directory=out, epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate,
        verbose=2 if verbose else 0, **builder)
    if verbose:
        print(f"Wrote {len(scores)} classifiers to {out}: " + ", ".join(
            f"{name} {score:.3f}" for name, score in scores.items()),
            flush=True)
    return scores


def check_models(names):
    """Refuses names that are not presets (`keras_mmvae.src.presets`)."""
    unknown = [name for name in names if name not in PRESETS]
    if unknown:
        raise ValueError(
            f"Unknown model(s) {unknown}; choose from {sorted(PRESETS)}.")


def run_settings(bench, model, epochs=None, batch_size=None,
                 learning_rate=None):
    """Epochs, batch size and learning rate of one model's runs: the given
    values, else the model's published settings on the benchmark
    (`SPEC.settings(model)`)."""
    published = bench.spec.settings(model)
    return {"epochs": epochs or published["epochs"],
            "batch_size": batch_size or published["batch_size"],
            "learning_rate": learning_rate or published["learning_rate"]}


def finished(directory, epochs, evaluation=None):
    """Whether the run in `directory` is evaluated after `epochs` epochs
    (and with the `evaluation` settings, e.g. `{"num_probe": 500}`, when
    given)."""
    path = pathlib.Path(directory) / METRICS
    if not path.is_file():
        return False
    try:
        record = json.loads(path.read_text()).get("run", {})
    except ValueError:  # cut short: evaluate again
        return False
    return (record.get("epochs_trained", 0) >= epochs and all(
        record.get(key) == value for key, value in (evaluation or {}).items()))


def evaluate_run(directory, bench, data_dir, classifier_dir=None,
                 num_probe=500, unconditional_samples=10000,
                 log_likelihood=0, seed=0, verbose=True):
    """Evaluates the checkpoint of a run folder into `<run>/metrics.json`
    (the record `python -m keras_mmvae evaluate` writes)."""
    import keras

    from keras_mmvae.src.evaluation.classifiers import load_classifiers
    from keras_mmvae.src.training import evaluating
    from keras_mmvae.src.training import runs

    directory = pathlib.Path(directory)
    model = keras.saving.load_model(directory / CHECKPOINT)
    train = bench.dataset.load(data_dir, split="train", shuffle=False,
                               drop_last=False, seed=seed)
    test = bench.dataset.load(data_dir, split=bench.test_split,
                              shuffle=False, drop_last=False)
    clfs = (load_classifiers(classifier_dir, list(bench.modalities))
            if classifier_dir else None)
    results = evaluating.evaluate_model(
        model, train, test, clfs, num_probe=num_probe,
        unconditional_samples=unconditional_samples,
        log_likelihood_samples=log_likelihood, seed=seed, verbose=verbose)
    state = read_state(directory) or {}
    scores = (pathlib.Path(classifier_dir) / CLASSIFIER_SCORES
              if classifier_dir else None)
    results["run"] = {
        **runs.environment(), **runs.model_record(model),
        "evaluation_seed": seed, "num_probe": num_probe,
        "unconditional_samples": unconditional_samples,
        "log_likelihood_samples": log_likelihood,
        "training": state.get("settings"),
        "epochs_trained": state.get("epochs_completed", 0),
        "train_seconds": state.get("train_seconds"),
        "classifier_accuracy": (json.loads(scores.read_text())
                                if scores and scores.is_file() else None),
    }
    _write_json(directory / METRICS, results)
    return results


def reproduce(benchmark, data_dir, models, seeds, out, epochs=None,
              classifier_dir=None, classifier_epochs=10, batch_size=None,
              learning_rate=None, model_kwargs=None, num_probe=500,
              unconditional_samples=10000, log_likelihood=0,
              precision=None, save_every_steps=None, table=True,
              verbose=True):
    """Trains and evaluates every model × seed; writes the table.

    Each run lives in `<out>/<model>/seed<seed>/`: `runs.train` (with the
    model's published settings on the benchmark unless `epochs`,
    `batch_size` or `learning_rate` are given), then the evaluation into
    its `metrics.json`. A run whose `metrics.json` records at least
    `epochs` epochs is skipped; one without resumes exactly from its last
    checkpoint (or evaluates, when training had finished).

    `classifier_dir`: folder of trained classifiers for the coherence;
    default `<out>/classifiers`, trained there (`classifier_epochs`) when
    it does not hold them yet.

    Returns:
        The paths of the table's files (`table.write_table`), or the list
        of run folders when `table=False`.
    """
    from keras_mmvae.src.training import runs
    from keras_mmvae.src.training import table as table_lib

    bench = benchmarks.get(benchmark)
    check_models(models)
    if not models or not seeds:
        raise ValueError("Pass at least one model and one seed.")
    _require_dir(data_dir, bench)
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if classifier_dir is None:
        classifier_dir = out / "classifiers"
        classifiers(benchmark, data_dir, classifier_dir,
                    epochs=classifier_epochs, verbose=verbose)
    elif not classifiers_ready(classifier_dir, bench):
        raise FileNotFoundError(
            f"{classifier_dir} lacks a classifier of every modality "
            f"({', '.join(bench.modalities)}); train them with "
            f"`python -m keras_mmvae classifiers --benchmark {benchmark} "
            f"--data-dir ... --out {classifier_dir}`.")
    grid = [(model, seed) for model in models for seed in seeds]
    evaluation = {"num_probe": num_probe,
                  "unconditional_samples": unconditional_samples,
                  "log_likelihood_samples": log_likelihood}
    folders = []
    for index, (model, seed) in enumerate(grid, 1):
        directory = run_dir(out, model, seed)
        folders.append(directory)
        settings = run_settings(bench, model, epochs, batch_size,
                                learning_rate)
        label = f"[{index}/{len(grid)}] {model} seed {seed}"
        if finished(directory, settings["epochs"], evaluation):
            if verbose:
                print(f"{label}: finished ({directory / METRICS}); skipped.",
                      flush=True)
            continue
        if verbose:
            print(f"{label}: {settings['epochs']} epoch(s), batch "
                  f"{settings['batch_size']}, learning rate "
                  f"{settings['learning_rate']} -> {directory}", flush=True)
        fresh = not (directory / CHECKPOINT).exists()
        try:
            runs.train(benchmark, model, data_dir, settings["epochs"],
                       directory, batch_size=settings["batch_size"],
                       learning_rate=settings["learning_rate"], seed=seed,
                       model_kwargs=model_kwargs, precision=precision,
                       save_every_steps=save_every_steps,
                       verbose="auto" if verbose else 0)
        except BaseException:
            # A run that failed before its first checkpoint leaves nothing.
            if fresh and not (directory / CHECKPOINT).exists():
                shutil.rmtree(directory, ignore_errors=True)
            raise
        evaluate_run(directory, bench, data_dir, classifier_dir,
                     num_probe=num_probe,
                     unconditional_samples=unconditional_samples,
                     log_likelihood=log_likelihood, verbose=verbose)
        if verbose:
            print(f"{label}: wrote {directory / METRICS}", flush=True)
    if not table:
        return folders
    return table_lib.write_table(out, verbose=verbose)
