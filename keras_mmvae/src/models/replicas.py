"""What the model must know about data-parallel replicas.

Keras runs data parallelism two ways. Under JAX (`keras.distribution`)
one SPMD program sees the global batch: random draws have the global
shape, so every row gets its own noise and the batch mean is the global
mean without help. Under `tf.distribute` every replica runs the step on
its own slice of the batch, with mirrored variables: the model must make
each replica draw its own noise and scale its loss so that the summed
gradients are those of the global-batch mean. Both are no-ops outside
`tf.distribute` (and on the other backends).
"""

import keras
from keras import ops

# Spreads replicas over distant seed streams (a large prime).
REPLICA_SEED_STRIDE = 1_000_003


def replica_context():
    """`(replica id, replicas in sync)` of the running `tf.distribute` step.

    `(0, 1)` outside `tf.distribute` and on JAX and torch.
    """
    if keras.backend.backend() != "tensorflow":
        return 0, 1
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: no replica is running
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def share_of_global_mean(loss):
    """This replica's share of the global-batch mean of a per-replica mean.

    `tf.distribute` sums the replicas' gradients (and Keras's trainer
    multiplies the tracked loss back by the replica count), so a replica
    returns its batch mean divided by the number of replicas, as Keras's
    own compiled losses do.
    """
    _, replicas = replica_context()
    if replicas == 1:
        return loss
    return loss / replicas


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A `SeedGenerator` whose draws differ from replica to replica.

    Its state is mirrored under `tf.distribute`, so a plain generator gives
    every replica the same seed, the same noise and the same subset draws
    on its slice of the batch. This one offsets the seed of replica `r` by
    `r · REPLICA_SEED_STRIDE`; replica 0, and every draw outside
    `tf.distribute`, gets the plain generator's seed.
    """

    def next(self, ordered=True):
        seed = super().next(ordered)
        replica, _ = replica_context()
        if isinstance(replica, int) and replica == 0:
            return seed
        offset = ops.cast(replica, seed.dtype) * REPLICA_SEED_STRIDE
        return seed + ops.stack([offset, ops.zeros_like(offset)])
