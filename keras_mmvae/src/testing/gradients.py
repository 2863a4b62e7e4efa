"""Test-only gradient of a scalar function, dispatched on the backend."""

import keras
import numpy as np


def gradients(fn, *args):
    """Gradients of scalar `fn(*args)` w.r.t. each NumPy arg, as NumPy."""
    backend = keras.config.backend()
    if backend == "jax":
        import jax

        grads = jax.grad(fn, argnums=tuple(range(len(args))))(
            *[jax.numpy.asarray(a) for a in args]
        )
        return [np.asarray(g) for g in grads]
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.Variable(a) for a in args]
        with tf.GradientTape() as tape:
            value = fn(*tensors)
        return [g.numpy() for g in tape.gradient(value, tensors)]
    if backend == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in args]
        fn(*tensors).backward()
        return [t.grad.detach().cpu().numpy() for t in tensors]
    raise NotImplementedError(f"No gradient helper for backend {backend!r}")
