"""What every objective shares: the interface and the common terms."""

import keras
from keras import ops

from keras_mmvae.src.ops.dtypes import availability

MASK_KEY = "mask"


class Objective:
    """What a `MultimodalVAE` trains: the stochastic forward pass of a
    training step and the loss of its outputs.

    The model calls `forward` from `call` and `loss` from `compute_loss`,
    so Keras's own `train_step` runs the objective unchanged on every
    backend. An objective reads the model's networks and hyper-parameters
    (`beta`, `reconstruction_weights`, ...) through the `model` argument;
    it owns no state, so one class serves any number of models. Variables
    an objective needs (a learned prior, say) are created on the model in
    `build`, so that they are saved with it.

    A new objective is a subclass in its own module of
    `keras_mmvae.src.objectives` and a name in `OBJECTIVES` there.
    """

    name = None

    def get_config(self):
        """`{"name": ..., **options}`: what `objectives.get` rebuilds it
        from (saved in the model's config)."""
        return {"name": self.name}

    def validate(self, model):
        """Raises a `ValueError` naming the fix if `model`'s fusion or
        options do not define this objective."""

    def build(self, model):
        """Creates the objective's variables on the built `model`."""

    def forward(self, model, inputs, training=False):
        """The outputs of one stochastic pass over a checked batch."""
        raise NotImplementedError

    def loss(self, model, inputs, outputs, sample_weight=None):
        """The scalar loss of `outputs`: the mean over this batch (the
        model turns it into this replica's share of the global mean)."""
        raise NotImplementedError


def batch_mask(inputs, dtype):
    """The batch's `(B, M)` availability as 0/1 `dtype`, or `None`."""
    if MASK_KEY in inputs:
        return availability(inputs[MASK_KEY], dtype)
    return None


def weighted_batch_mean(sample_weight, dtype):
    """The batch mean of per-example terms, weighted as Keras's losses.

    With `sample_weight` `w` it is `Σ_b w_b l_b / B`
    (`"sum_over_batch_size"`, what Keras does for compiled losses).
    """
    if sample_weight is None:
        return ops.mean
    weight = ops.reshape(ops.cast(sample_weight, dtype), (-1,))
    return lambda values: ops.mean(values * weight)


def warmup_factor(model, dtype="float32"):
    """The KL warm-up ramp in [0, 1], `min(max(step − 1, 0) / steps, 1)`
    (1 without warm-up)."""
    if not model.kl_warmup_steps:
        return ops.convert_to_tensor(1.0, dtype=dtype)
    # `call(training=True)` has already counted this step.
    done = ops.maximum(ops.cast(model.kl_warmup_step, dtype) - 1.0, 0.0)
    return ops.minimum(done / model.kl_warmup_steps, 1.0)


def current_beta(model, dtype="float32"):
    """The KL weight of this step: `model.beta`, ramped during warm-up."""
    if not model.kl_warmup_steps:
        return ops.convert_to_tensor(model.beta, dtype=dtype)
    return model.beta * warmup_factor(model, dtype)


def style_kl_weights(model, dtype):
    """`(M,)` weights of the style KLs: `β_style · style_betas[m]`."""
    return model.beta_style * ops.convert_to_tensor(
        [model.style_betas[n] for n in model.modality_names], dtype=dtype)


def count_warmup_step(model, training):
    if training and model.kl_warmup_steps:
        model.kl_warmup_step.assign_add(1.0)


def clipped_fraction(model, log_var, mask):
    """Per example, the share of available experts' log-variance entries
    outside the fusion's `log_var_clip` (they get no gradient)."""
    low, high = model.fusion.log_var_clip
    outside = ops.cast(ops.logical_or(log_var < low, log_var > high),
                       log_var.dtype)
    per_expert = ops.mean(outside, axis=-1)
    if mask is None:
        return ops.mean(per_expert, axis=-1)
    return ops.sum(per_expert * mask, axis=-1) / ops.maximum(
        ops.sum(mask, axis=-1), 1.0)


def track(model, reconstruction, kl, clipped, per_modality):
    """Updates the model's logged loss parts (`fit`'s progress bar).

    Each batch mean counts with the batch size as its weight, as Keras's
    trainer weighs `loss` (`model.compute_loss` records it), so an epoch's
    parts are means over examples and add up as `loss` does when the last
    batch is partial.
    """
    weight = getattr(model, "_tracked_batch_size", None)
    model.reconstruction_tracker.update_state(reconstruction,
                                              sample_weight=weight)
    model.kl_tracker.update_state(kl, sample_weight=weight)
    model.clip_tracker.update_state(clipped, sample_weight=weight)
    for tracker, value in zip(model.modality_trackers, per_modality):
        tracker.update_state(value, sample_weight=weight)


def standard_normal(model, shape, dtype):
    return keras.random.normal(shape, dtype=dtype, seed=model.seed_generator)
