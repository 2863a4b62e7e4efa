"""`fit` and its surroundings: Keras's state callbacks work from an unbuilt
`MultimodalVAE` (`fit` builds it from the first batch's shapes before any
callback runs), and the documented seeding reproduces a run."""

import keras
import numpy as np
from toy_vae import toy_data
from toy_vae import toy_vae


def _model():
    vae = toy_vae()
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    return vae


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("interrupted")


class _WeightsAtStart(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if not hasattr(self, "weights"):
            self.weights = [keras.ops.convert_to_numpy(v)
                            for v in self.model.weights]


def test_backup_and_restore_resumes_an_unbuilt_model(tmp_path):
    x = toy_data()
    first = _model()
    try:
        first.fit(x, batch_size=8, epochs=4, verbose=0, callbacks=[
            keras.callbacks.BackupAndRestore(str(tmp_path)), _Interrupt()])
    except RuntimeError:
        pass
    saved = [keras.ops.convert_to_numpy(v) for v in first.weights]

    resumed = _model()
    start = _WeightsAtStart()
    history = resumed.fit(x, batch_size=8, epochs=4, verbose=0, callbacks=[
        keras.callbacks.BackupAndRestore(str(tmp_path)), start])
    assert history.epoch == [2, 3]
    for restored, expected in zip(start.weights, saved):
        np.testing.assert_array_equal(restored, expected)


def test_fit_builds_from_a_generator_without_losing_its_first_batch(
        tmp_path):
    x = toy_data()
    batches = (({n: v[i:i + 8] for n, v in x.items()},) for i in (0, 8))
    vae = _model()
    path = str(tmp_path / "vae.keras")
    steps = []
    counter = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: steps.append(batch))
    history = vae.fit(batches, epochs=1, verbose=0, callbacks=[
        keras.callbacks.ModelCheckpoint(path), counter])
    assert vae.built and vae.input_shapes == {"a": [None, 5], "b": [None, 2]}
    assert steps == [0, 1]
    assert len(history.history["loss"]) == 1
    restored = keras.saving.load_model(path)
    mean, _ = restored.encode({"a": x["a"][:2]})
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(mean),
        keras.ops.convert_to_numpy(vae.encode({"a": x["a"][:2]})[0]),
        atol=1e-6)


def test_global_seed_and_model_seed_reproduce_a_run():
    """What docs/concepts/training.md promises reproduces a run."""
    def run():
        keras.utils.set_random_seed(0)
        vae = _model()  # seed=0
        history = vae.fit(toy_data(32), batch_size=8, epochs=2, verbose=0)
        return history.history["loss"], [
            keras.ops.convert_to_numpy(v) for v in vae.weights]

    losses, weights = run()
    losses_again, weights_again = run()
    assert losses == losses_again
    for first, second in zip(weights, weights_again):
        np.testing.assert_array_equal(first, second)
