"""Test-only gradients, dispatched on the backend: of a scalar function,
and of a model's training loss."""

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


def loss_and_gradients(model, data, training=True, jit=False):
    """`model`'s batch-mean loss on `data` and its gradient per trainable
    variable path, as NumPy (a variable without a gradient gets zeros).
    `jit` compiles the JAX gradient (worth it for large batches)."""
    from keras_mmvae.src.testing.test_case import to_numpy

    backend = keras.config.backend()
    variables = model.trainable_variables
    if backend == "jax":
        import jax

        state = [[v.value for v in vs] for vs in (
            model.non_trainable_variables, model.metrics_variables)]
        optimizer = getattr(model, "optimizer", None)  # None: uncompiled
        optimizer_variables = None if optimizer is None else [
            v.value for v in optimizer.variables]

        def f(trainable):
            loss, _ = model.compute_loss_and_updates(
                trainable, *state, data, None, None, training=training,
                optimizer_variables=optimizer_variables)
            return loss

        value_and_grad = jax.value_and_grad(f)
        if jit:
            value_and_grad = jax.jit(value_and_grad)
        loss, grads = value_and_grad([v.value for v in variables])
    elif backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = model.compute_loss(data, None,
                                      model(data, training=training))
        grads = tape.gradient(loss, variables)
    else:
        for v in variables:
            v.value.grad = None
        loss = model.compute_loss(data, None, model(data, training=training))
        loss.backward()
        grads = [v.value.grad for v in variables]
    return float(to_numpy(loss)), {
        v.path: np.zeros(v.shape) if g is None else to_numpy(g)
        for v, g in zip(variables, grads)}
