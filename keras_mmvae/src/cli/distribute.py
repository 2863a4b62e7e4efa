"""`train --distribute`: run `fit` on Keras's own data-parallel engines.

`data-parallel` uses every local device of one process
(`keras.distribution.DataParallel` on JAX, `tf.distribute.MirroredStrategy`
on TensorFlow); `multi-worker` one process per machine (JAX:
`keras.distribution.initialize` with a coordinator; TensorFlow:
`MultiWorkerMirroredStrategy`, configured by `TF_CONFIG`). Torch has no
Keras engine for this: train on one device there.
"""

import contextlib

MODES = ("none", "data-parallel", "multi-worker")


def add_arguments(parser):
    parser.add_argument(
        "--distribute", choices=MODES, default="none",
        help="data-parallel: all local devices; multi-worker: one process "
        "per machine (JAX: --coordinator/--num-processes/--process-id; "
        "TensorFlow: TF_CONFIG). --batch-size is the global batch.")
    parser.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                        help="JAX multi-worker: process 0's address")
    parser.add_argument("--num-processes", type=int, default=None)
    parser.add_argument("--process-id", type=int, default=None)


@contextlib.contextmanager
def engine(args):
    """Sets up the engine; yields extra `training.train` arguments.

    On JAX every process feeds its own part of the global batch: the
    loader reads shard `process_id` of `num_processes`, with the global
    batch split evenly. On TensorFlow `tf.distribute` shards the loader's
    batches across workers itself.
    """
    mode = args.distribute
    if mode == "none":
        yield {}
        return
    import keras

    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise SystemExit(
            f"--distribute {mode} needs KERAS_BACKEND=jax or tensorflow; "
            f"Keras has no distribution engine for {backend!r}.")
    if backend == "tensorflow":
        import tensorflow as tf

        strategy = (tf.distribute.MirroredStrategy() if mode == "data-parallel"
                    else tf.distribute.MultiWorkerMirroredStrategy())
        with strategy.scope():
            yield {}
        return
    extra = {}
    if mode == "multi-worker":
        keras.distribution.initialize(
            job_addresses=args.coordinator,
            num_processes=args.num_processes, process_id=args.process_id)
        import jax

        processes, index = jax.process_count(), jax.process_index()
        batch_size = args.batch_size
        if batch_size is not None and batch_size % processes:
            raise SystemExit(f"--batch-size {batch_size} must be a multiple "
                             f"of the {processes} processes.")
        extra = {"dataset_kwargs": {"num_shards": processes,
                                    "shard_index": index}}
        if batch_size is not None:
            extra["batch_size"] = batch_size // processes
    previous = keras.distribution.distribution()
    # Across processes every loader already reads its own shard.
    keras.distribution.set_distribution(keras.distribution.DataParallel(
        auto_shard_dataset=mode != "multi-worker"))
    try:
        yield extra
    finally:
        keras.distribution.set_distribution(previous)
