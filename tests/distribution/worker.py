"""One process of the distribution tests: `python worker.py SCENARIO OUT`.

Run as its own Python because the devices must be set up before the
backend starts: JAX gets two virtual CPU devices from `XLA_FLAGS`, TF two
logical CPUs. Writes what it measured to the JSON file `OUT`; the
assertions live in `test_distribution.py`.

Scenarios: `single-host` (two replicas in this process), `keras-io`
(the keras.io distribution guide's pattern: build and compile in the
scope, `fit` outside it) and, for the two-process tests, `multi-process`
(one of two workers; the environment carries the worker index and the
loopback ports).
"""

import json
import os
import sys

REPLICAS = 2
BACKEND = os.environ["KERAS_BACKEND"]
if BACKEND == "jax" and sys.argv[1] in ("single-host", "keras-io"):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + f" --xla_force_host_platform_device_count={REPLICAS}")
if BACKEND == "jax":
    os.environ["JAX_PLATFORMS"] = "cpu"

import keras
import numpy as np

import keras_mmvae as mm

SHAPES = {"a": (6,), "b": (3,)}
# Standard deviations of e^-30: the reparameterisation noise is far below
# float32 resolution, so one step is a deterministic function of the
# weights and the batch (replicas draw different noise by design).
NOISELESS_CLIP = (-60.0, -59.0)


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    return {name: (latent @ rng.normal(size=(2, shape[0]))
                   + 0.1 * rng.normal(size=(n, shape[0]))).astype("float32")
            for name, shape in SHAPES.items()}


def make_vae(fusion="mwb", subset_sampling="auto", noiseless=False,
             build=True):
    if noiseless:
        fusion = mm.BarycenterFusion.from_preset(
            fusion, log_var_clip=NOISELESS_CLIP, modality_names=list(SHAPES))
    vae = mm.MultimodalVAE(
        encoders={n: mm.layers.MLPEncoder(3, hidden_dims=(8,))
                  for n in SHAPES},
        decoders={n: mm.layers.MLPDecoder(s, hidden_dims=(8,))
                  for n, s in SHAPES.items()},
        likelihoods={n: "gaussian" for n in SHAPES},
        fusion=fusion, subset_sampling=subset_sampling, seed=0)
    if build:
        vae.build({n: (None,) + s for n, s in SHAPES.items()})
    return vae


def fit_one_step(vae, batch, learning_rate=0.1):
    vae.compile(optimizer=keras.optimizers.SGD(learning_rate))
    size = len(next(iter(batch.values())))
    history = vae.fit(batch, batch_size=size, epochs=1, shuffle=False,
                      verbose=0).history
    return history["loss"][0]


def weights(vae):
    return [np.asarray(w) for w in vae.get_weights()]


class Engine:
    """The backend's data-parallel engine: a scope and per-replica calls."""

    def __init__(self):
        if BACKEND == "jax":
            devices = keras.distribution.list_devices("cpu")
            assert len(devices) == REPLICAS, devices
            self.distribution = keras.distribution.DataParallel(
                devices=devices)
        else:
            import tensorflow as tf

            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS)
            self.strategy = tf.distribute.MirroredStrategy(
                [f"/cpu:{i}" for i in range(REPLICAS)])

    def scope(self):
        if BACKEND == "jax":
            return self.distribution.scope()
        return self.strategy.scope()

    def per_replica(self, vae, batches, keys=("component", "z")):
        """`vae(batch, training=True)[key]` per batch, split by replica.

        Returns a list (one entry per batch) of dicts key → list of
        per-replica arrays.
        """
        if BACKEND == "jax":
            import jax

            results = []
            for batch in batches:
                layout = self.distribution.get_data_layout(
                    next(iter(batch.values())).shape)
                sharded = {n: jax.device_put(v, layout.backend_layout)
                           for n, v in batch.items()}
                with self.scope():
                    out = vae(sharded, training=True)
                results.append({k: np.split(np.asarray(out[k]), REPLICAS)
                                for k in keys})
            return results
        import tensorflow as tf

        step = tf.function(lambda x: self.strategy.run(
            lambda y: {k: vae(y, training=True)[k] for k in keys},
            args=(x,)))
        results = []
        for batch in batches:
            size = len(next(iter(batch.values())))
            dataset = self.strategy.experimental_distribute_dataset(
                tf.data.Dataset.from_tensor_slices(batch).batch(size))
            out = step(next(iter(dataset)))
            results.append({
                k: [np.asarray(r) for r in
                    self.strategy.experimental_local_results(out[k])]
                for k in keys})
        return results


def single_host(out_path):
    engine = Engine()
    report = {}
    # 1. One data-parallel step equals one single-device step on the
    #    same global batch (joint W2: deterministic, all available
    #    modalities; a mask with every pattern).
    batch = make_data(8)
    batch["mask"] = np.array([[1, 1], [1, 0], [0, 1], [1, 1]] * 2,
                             "float32")
    keras.utils.set_random_seed(1)
    reference = make_vae("w2", noiseless=True)
    start = weights(reference)
    report["single_loss"] = fit_one_step(reference, batch)
    with engine.scope():
        distributed = make_vae("w2", noiseless=True)
        distributed.set_weights(start)
        report["distributed_loss"] = fit_one_step(distributed, batch)
    report["weight_error"] = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(weights(reference), weights(distributed)))
    report["weight_change"] = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(weights(reference), start))

    # 2. A modality masked in every row: its encoder does not move, the
    #    present one does.
    masked = dict(batch, mask=np.array([[1, 0]] * 8, "float32"))
    with engine.scope():
        vae = make_vae("mwb")
        before = {n: weights(vae.encoders[n]) for n in SHAPES}
        fit_one_step(vae, masked)
    for name, key in (("b", "masked"), ("a", "present")):
        report[f"{key}_encoder_change"] = max(
            float(np.max(np.abs(a - b)))
            for a, b in zip(weights(vae.encoders[name]), before[name]))

    # 3. A few distributed epochs lower the loss; the model saves and
    #    reloads outside any distribution with the same `encode`.
    data = make_data(64, seed=2)
    with engine.scope():
        keras.utils.set_random_seed(3)
        vae = make_vae("mwb")
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
        report["losses"] = vae.fit(data, batch_size=16, epochs=3,
                                   verbose=0).history["loss"]
    path = os.path.join(os.path.dirname(out_path), "distributed.keras")
    vae.save(path)
    probe = make_data(5, seed=4)
    trained = [np.asarray(t) for t in vae.encode(probe)]
    if BACKEND == "jax":
        keras.distribution.set_distribution(None)
    loaded = keras.saving.load_model(path)
    reloaded = [np.asarray(t) for t in loaded.encode(probe)]
    report["reload_error"] = max(float(np.max(np.abs(a - b)))
                                 for a, b in zip(trained, reloaded))

    # 4. Replicas draw different subsets: both replicas see the same rows,
    #    so equal draws would mean correlated seeds.
    half = make_data(150, seed=5)
    twice = {n: np.concatenate([v, v]) for n, v in half.items()}
    with engine.scope():
        vae = make_vae("mwb", subset_sampling="random")
    draws = engine.per_replica(vae, [twice] * 4)
    components = [d["component"] for d in draws]
    report["random_first_step"] = [r.tolist() for r in components[0]]
    report["random_counts"] = [
        np.bincount(np.concatenate([c[r] for c in components]),
                    minlength=3).tolist() for r in range(REPLICAS)]
    z = draws[0]["z"]
    report["z_replica_gap"] = float(np.max(np.abs(z[0] - z[1])))

    # 5. Stratified blocks (300 rows: 150 per replica, multiples of 3).
    with engine.scope():
        vae = make_vae("mwb", subset_sampling="stratified")
    report["stratified"] = [
        r.tolist() for r in engine.per_replica(vae, [twice])[0]["component"]]
    if BACKEND == "jax":
        report["model_parallel"] = model_parallel(batch)
    with open(out_path, "w") as f:
        json.dump(report, f)


def model_parallel(batch):
    """JAX `ModelParallel`: the MLP kernels split over a 'model' axis.

    One step equals one single-device step from the same weights.
    """
    mesh = keras.distribution.DeviceMesh(
        (1, REPLICAS), ("batch", "model"),
        keras.distribution.list_devices("cpu"))
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map[r".*dense_\d+/kernel"] = (None, "model")
    distribution = keras.distribution.ModelParallel(
        layout_map=layout_map, batch_dim_name="batch")
    keras.distribution.set_distribution(None)
    reference = make_vae("w2", noiseless=True)
    start = weights(reference)
    single_loss = fit_one_step(reference, batch)
    with distribution.scope():
        sharded = make_vae("w2", noiseless=True)
        sharded.set_weights(start)
        loss = fit_one_step(sharded, batch)
    return {
        "single_loss": single_loss, "loss": loss,
        "weight_error": max(float(np.max(np.abs(a - b))) for a, b in
                            zip(weights(reference), weights(sharded))),
        "weight_change": max(float(np.max(np.abs(a - b))) for a, b in
                             zip(weights(reference), start)),
        "kernel_specs": [list(spec) for spec in {
            tuple(v.value.sharding.spec) for v in sharded.trainable_variables
            if "dense_" in v.path and v.path.endswith("kernel")}],
    }


def keras_io(out_path):
    """keras.io's pattern: create and compile in the scope, `fit` outside.

    The model is unbuilt when `fit` starts, so `fit` builds it: under
    `tf.distribute` that must happen in the strategy's scope (before the
    fix: `ValueError: colocate_vars_with ...`), and under JAX in the
    `keras.distribution` the model was compiled in (before the fix the
    variables started on one device, and a `LayoutMap` was ignored).
    Reports, per trainable variable, the devices holding it when training
    begins (after the build, before the first step) and at the end.
    """
    engine = Engine()

    def devices(vae):
        if BACKEND == "jax":
            return [len(v.value.sharding.device_set)
                    for v in vae.trainable_variables]
        return [len(engine.strategy.experimental_local_results(v.value))
                for v in vae.trainable_variables]

    class AtTrainBegin(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            report["devices_at_train_begin"] = devices(self.model)

    report = {}
    keras.utils.set_random_seed(0)
    with engine.scope():
        vae = make_vae("mwb", build=False)
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    report["built_in_scope"] = vae.built
    report["losses"] = vae.fit(make_data(32), batch_size=8, epochs=2,
                               verbose=0, callbacks=[AtTrainBegin()]
                               ).history["loss"]
    report["devices_at_end"] = devices(vae)
    with open(out_path, "w") as f:
        json.dump(report, f)


def multi_process(out_path):
    """One of two JAX processes: a short sharded `fit` on loopback."""
    import jax

    # CPU collectives across processes need gloo (GPUs use NCCL).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    index = int(os.environ["WORKER_INDEX"])
    keras.distribution.initialize(
        f"127.0.0.1:{os.environ['COORDINATOR_PORT']}", num_processes=2,
        process_id=index)
    keras.distribution.set_distribution(
        keras.distribution.DataParallel(auto_shard_dataset=False))
    keras.utils.set_random_seed(0)
    data = make_data(32)
    shard = {n: v[index::2] for n, v in data.items()}
    vae = make_vae("mwb")
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    losses = vae.fit(shard, batch_size=8, epochs=2, shuffle=False,
                     verbose=0).history["loss"]
    local = [np.asarray(w.value.addressable_data(0)) for w in vae.weights]
    with open(out_path, "w") as f:
        json.dump({"losses": losses, "processes": jax.process_count(),
                   "weights": [w.tolist() for w in local]}, f)


if __name__ == "__main__":
    {"single-host": single_host, "keras-io": keras_io,
     "multi-process": multi_process}[sys.argv[1]](sys.argv[2])
