"""Callbacks during `fit`: metrics in History, PNG generation grids."""

import csv

import keras
import numpy as np
import pytest
from evaluation_toys import identity_classifier
from PIL import Image

import keras_mmvae as mm
import keras_mmvae.evaluation as ev

NAMES = ["a", "b"]


def _setup(n=64):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, n)
    x = {name: (np.eye(4, dtype="float32")[labels]
                + 0.1 * rng.normal(size=(n, 4)).astype("float32"))
         for name in NAMES}
    model = mm.MultimodalVAE(
        encoders={n: mm.layers.MLPEncoder(3, hidden_dims=(8,))
                  for n in NAMES},
        decoders={n: mm.layers.MLPDecoder((4,), hidden_dims=(8,))
                  for n in NAMES},
        likelihoods={n: "gaussian" for n in NAMES},
        seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    classifiers = {n: identity_classifier(4) for n in NAMES}
    return model, x, labels, classifiers


def test_evaluation_callback_logs_into_history():
    model, x, labels, classifiers = _setup()
    calls = []

    def custom(m):
        calls.append(m)
        return {("a",): 1.0, "text": "not logged"}

    callback = ev.EvaluationCallback(
        ["log_likelihood", ("custom", custom)], test_data=(x, labels),
        every_n_epochs=2,
        metric_kwargs={"log_likelihood": {"num_samples": 2}},
    )
    history = model.fit(x, batch_size=32, epochs=3, callbacks=[callback],
                        verbose=0)
    logged = history.history
    expected = {"log_likelihood/a", "log_likelihood/b",
                "log_likelihood/a+b", "custom/a"}
    assert expected <= set(logged)
    assert not {k for k in logged if k.startswith("custom/text")}
    # Evaluated after the first epoch and epoch 2; NaN after epoch 3.
    for key in expected:
        assert len(logged[key]) == 3
        assert np.all(np.isfinite(logged[key][:2]))
        assert np.isnan(logged[key][2])
    assert len(logged["loss"]) == 3
    assert callback.evaluated_epochs == [1, 2]
    assert calls == [model, model]
    assert logged["log_likelihood/a+b"][1] == pytest.approx(
        callback.results[2]["log_likelihood"][("a", "b")])


def test_csv_logger_records_evaluation_columns_from_the_first_epoch(
        tmp_path):
    model, x, labels, classifiers = _setup()
    callback = ev.EvaluationCallback(
        ["log_likelihood"], test_data=(x, labels), every_n_epochs=2,
        metric_kwargs={"log_likelihood": {"num_samples": 2}})
    path = tmp_path / "log.csv"
    model.fit(x, batch_size=32, epochs=4, verbose=0, callbacks=[
        callback, keras.callbacks.CSVLogger(str(path))])
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["0", "1", "2", "3"]
    column = [float(row["log_likelihood/a+b"]) for row in rows]
    assert np.isfinite(column[0]) and np.isfinite(column[1])
    assert np.isnan(column[2]) and np.isfinite(column[3])



@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="TensorBoard writing is backend-independent "
                    "Keras code; one backend keeps the suite short.")
def test_tensorboard_records_evaluation_scalars(tmp_path):
    # Part of the `test` extra: keras.callbacks.TensorBoard needs it.
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util
    model, x, labels, _ = _setup()
    callback = ev.EvaluationCallback(
        ["log_likelihood"], test_data=(x, labels),
        metric_kwargs={"log_likelihood": {"num_samples": 2}})
    model.fit(x, batch_size=32, epochs=2, verbose=0, callbacks=[
        callback, keras.callbacks.TensorBoard(str(tmp_path))])
    events = event_accumulator.EventAccumulator(
        str(tmp_path / "train"),
        size_guidance={event_accumulator.TENSORS: 0}).Reload()
    written = {
        tag: [float(tensor_util.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)]
        for tag in events.Tags()["tensors"]}
    logged = model.history.history
    for key in ("loss", "log_likelihood/a+b"):
        np.testing.assert_allclose(written["epoch_" + key], logged[key],
                                   rtol=1e-6)
    assert np.all(np.isfinite(written["epoch_log_likelihood/a+b"]))

def test_evaluation_callback_builtin_metrics():
    model, x, labels, classifiers = _setup()
    model(x)
    model.run_eagerly = True  # tiny model: evaluate op by op
    callback = ev.EvaluationCallback(
        ["coherence", "linear_probe", "unconditional_coherence"],
        test_data=(x, labels), train_data=(x, labels),
        classifiers=classifiers,
        metric_kwargs={"linear_probe": {"num_train": 32},
                       "unconditional_coherence": {"num_samples": 32}},
    )
    callback.set_model(model)
    logs = {"loss": 1.0}
    callback.on_epoch_end(0, logs)
    assert set(logs) == {"loss", "coherence/1", "linear_probe/a",
                         "linear_probe/b", "linear_probe/a+b",
                         "unconditional_coherence"}
    full = callback.results[1]["coherence"]
    assert set(full) == {(("a",), "a"), (("a",), "b"), (("b",), "a"),
                         (("b",), "b")}
    # The log holds the headline: targets outside the input subset.
    assert logs["coherence/1"] == pytest.approx(
        (full[(("a",), "b")] + full[(("b",), "a")]) / 2)
    assert 0.0 <= logs["unconditional_coherence"] <= 1.0


def test_evaluation_callback_uses_trained_weights():
    """The metric sees the weights of the epoch that just ended."""
    model, x, labels, _ = _setup()
    seen = []
    callback = ev.EvaluationCallback(
        {"mean": lambda m: float(np.mean(keras.ops.convert_to_numpy(
            m.encode({"a": x["a"]})[0])))}
    )
    model.fit(x, batch_size=32, epochs=1, callbacks=[callback], verbose=0)
    seen.append(callback.results[1]["mean"])
    after = float(np.mean(keras.ops.convert_to_numpy(
        model.encode({"a": x["a"]})[0])))
    assert seen[0] == pytest.approx(after, abs=1e-6)


def test_evaluation_callback_validates_arguments():
    with pytest.raises(ValueError, match="Unknown metric"):
        ev.EvaluationCallback(["fid"])
    with pytest.raises(ValueError, match="needs `classifiers`"):
        ev.EvaluationCallback(["coherence"], test_data=({}, None))
    with pytest.raises(ValueError, match="every_n_epochs"):
        ev.EvaluationCallback(["log_likelihood"], test_data={},
                              every_n_epochs=0)


def test_generation_grid_callback_writes_pngs(tmp_path):
    model, x, labels, _ = _setup()
    callback = ev.GenerationGridCallback(
        tmp_path / "grids", every_n_epochs=2, num_samples=4,
        conditioning_data=(x, labels), subsets=[("a",), ("a", "b")],
    )
    model.fit(x, batch_size=32, epochs=3, callbacks=[callback], verbose=0)
    names = sorted(p.name for p in (tmp_path / "grids").iterdir())
    assert names == sorted(
        f"{kind}_epoch_0002.png"
        for kind in ("unconditional", "conditional_a", "conditional_a+b")
    )
    assert len(callback.paths) == 3
    for path in callback.paths:
        with Image.open(path) as image:
            assert image.format == "PNG"
    # Every grid replays the same draws (only training changes them).
    rows = {"rows": np.zeros((4, 1), "float32")}
    first = callback._runner("unconditional").run(rows)
    second = callback._runner("unconditional").run(rows)
    for name in NAMES:
        np.testing.assert_allclose(first[name], second[name])
    # Without conditioning data only unconditional grids are written.
    only = ev.GenerationGridCallback(tmp_path / "only", num_samples=2)
    only.set_model(model)
    assert [p.endswith("unconditional_now.png")
            for p in only.write("now")] == [True]


@pytest.mark.one_backend
def test_generation_grids_go_to_tensorboard_as_images(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator
    model, x, labels, _ = _setup()
    callback = ev.GenerationGridCallback(
        tmp_path / "grids", num_samples=4, conditioning_data=(x, labels),
        tensorboard_log_dir=tmp_path / "logs")
    model.fit(x, batch_size=32, epochs=2, callbacks=[callback], verbose=0)
    events = event_accumulator.EventAccumulator(
        str(tmp_path / "logs"),
        size_guidance={event_accumulator.IMAGES: 0}).Reload()
    tags = ["generations/unconditional", "generations/conditional_a",
            "generations/conditional_b"]
    assert sorted(events.Tags()["images"]) == sorted(tags)
    for tag in tags:
        images = events.Images(tag)
        assert [e.step for e in images] == [1, 2]
        png = tmp_path / "grids" / f"{tag.split('/')[1]}_epoch_0002.png"
        assert images[-1].encoded_image_string == png.read_bytes()
        with Image.open(png) as image:
            assert (images[-1].width, images[-1].height) == image.size


def test_learning_curves_record_steps_and_continue_after_resume(tmp_path):
    model, x, labels, classifiers = _setup()

    def callbacks():
        return [ev.EvaluationCallback(
                    ["coherence", "linear_probe"], test_data=(x, labels),
                    train_data=(x, labels), classifiers=classifiers,
                    every_n_epochs=2,
                    metric_kwargs={"linear_probe": {"num_train": 32}}),
                ev.LearningCurves(tmp_path, title="toy")]

    model.fit(x, batch_size=16, epochs=4, verbose=0, callbacks=callbacks())
    rows = ev.LearningCurves.read(tmp_path)
    # 4 steps per epoch, evaluated after the first epoch and epochs 2, 4.
    assert [(r["step"], r["epoch"]) for r in rows] == [(4, 1), (8, 2),
                                                       (16, 4)]
    assert {"coherence/1", "linear_probe/a", "linear_probe/a+b", "loss",
            "kl_loss"} <= set(rows[0])
    with Image.open(tmp_path / "curves.png") as image:
        assert image.size[0] > 100
    # A resumed run (same folder, later epochs) appends to the curves.
    model.fit(x, batch_size=16, epochs=6, initial_epoch=4, verbose=0,
              callbacks=callbacks())
    rows = ev.LearningCurves.read(tmp_path)
    assert [r["step"] for r in rows] == [4, 8, 16, 20, 24]
    assert ev.LearningCurves.read(tmp_path / "nowhere") == []
    with pytest.raises(ValueError, match="step"):
        ev.plot_learning_curves([{"loss": 1.0}])
