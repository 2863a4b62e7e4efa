"""Toy encoders/decoders with known answers for the evaluation tests."""

import keras
import numpy as np
from keras import ops

import keras_mmvae as mm


class AffineEncoder(keras.layers.Layer):
    """`mean = x W + b`, constant `log_var`; optional affine style posterior.

    Fixed NumPy parameters (no trainable weights).
    """

    def __init__(self, weight, bias, log_var, style_weight=None,
                 style_bias=None, style_log_var=None, **kwargs):
        super().__init__(**kwargs)
        self.weight = np.asarray(weight, "float32")
        self.bias = np.asarray(bias, "float32")
        self.log_var = np.asarray(log_var, "float32")
        self.style = style_weight is not None
        if self.style:
            self.style_weight = np.asarray(style_weight, "float32")
            self.style_bias = np.asarray(style_bias, "float32")
            self.style_log_var = np.asarray(style_log_var, "float32")

    def call(self, x, training=False):
        x = ops.reshape(x, (ops.shape(x)[0], -1))
        mean = ops.matmul(x, self.weight) + self.bias
        out = (mean, ops.zeros_like(mean) + self.log_var)
        if self.style:
            s_mean = ops.matmul(x, self.style_weight) + self.style_bias
            out += (s_mean, ops.zeros_like(s_mean) + self.style_log_var)
        return out

    def compute_output_spec(self, x, training=False):
        specs = (keras.KerasTensor((x.shape[0], self.weight.shape[1])),) * 2
        if self.style:
            specs += (keras.KerasTensor(
                (x.shape[0], self.style_weight.shape[1])),) * 2
        return specs


class AffineDecoder(keras.layers.Layer):
    """`params = z W + b`, reshaped to `output_shape`."""

    def __init__(self, weight, bias, output_shape=None, **kwargs):
        super().__init__(**kwargs)
        self.weight = np.asarray(weight, "float32")
        self.bias = np.asarray(bias, "float32")
        self.target_shape = tuple(output_shape or (self.weight.shape[1],))

    def call(self, z, training=False):
        out = ops.matmul(z, self.weight) + self.bias
        return ops.reshape(out, (ops.shape(z)[0],) + self.target_shape)

    def compute_output_shape(self, shape):
        return (shape[0],) + self.target_shape


class NoiseDecoder(keras.layers.Layer):
    """Ignores `z`: standard normal noise of `(B, dim)`."""

    def __init__(self, dim, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, z, training=False):
        return keras.random.normal((ops.shape(z)[0], self.dim),
                                   seed=self.seed_generator)

    def compute_output_shape(self, shape):
        return (shape[0], self.dim)


def identity_model(names, dim, fusion="mwb", log_var=-10.0, seed=0):
    """Encoders and decoders are the identity on `dim`-vectors."""
    eye = np.eye(dim, dtype="float32")
    zero = np.zeros(dim, "float32")
    model = mm.MultimodalVAE(
        encoders={n: AffineEncoder(eye, zero, np.full(dim, log_var))
                  for n in names},
        decoders={n: AffineDecoder(eye, zero) for n in names},
        likelihoods={n: "gaussian" for n in names},
        fusion=fusion,
        seed=seed,
    )
    model.build({n: (None, dim) for n in names})
    # Tiny model: evaluate eagerly (see `EvaluationRunner`).
    model.run_eagerly = True
    return model


def identity_classifier(dim, scale=1.0):
    """A Keras model whose logits are `scale · (x − 0.5)`."""
    inputs = keras.Input((dim,))
    outputs = keras.layers.Rescaling(scale, offset=-0.5 * scale)(inputs)
    return keras.Model(inputs, outputs)


def one_hot_data(names, labels, num_classes, noise=0.0, seed=0):
    """Every modality holds `one_hot(label)` (+ Gaussian noise)."""
    rng = np.random.default_rng(seed)
    base = np.eye(num_classes, dtype="float32")[labels]
    return {n: base + noise * rng.normal(size=base.shape).astype("float32")
            for n in names}


def log_normal_np(x, mean, cov):
    """Row-wise `log N(x; mean, cov)` in float64."""
    x = np.asarray(x, "float64") - mean
    sign, logdet = np.linalg.slogdet(cov)
    sol = np.linalg.solve(cov, x.T).T
    d = x.shape[1]
    return -0.5 * (d * np.log(2 * np.pi) + logdet + np.sum(x * sol, axis=1))


class LinearGaussian:
    """`z ~ N(0, I_D)`, `x_m = W_m z [+ V_m u_m] + b_m + s·ε` (known p(X)).

    `W_m` have orthogonal columns, so the exact single-modality posteriors
    are diagonal; `experts()` gives them as PoE experts (their product with
    the prior is the exact posterior of any subset).
    """

    def __init__(self, dims, latent_dim, scale, style_dim=0, seed=0):
        rng = np.random.default_rng(seed)
        self.dims, self.latent_dim, self.scale = dims, latent_dim, scale
        self.style_dim = style_dim
        self.w, self.b, self.v = {}, {}, {}
        for name, d in dims.items():
            q, _ = np.linalg.qr(rng.normal(size=(d, d)))
            self.w[name] = q[:, :latent_dim] * rng.uniform(
                1.0, 2.0, size=latent_dim)
            self.b[name] = rng.normal(size=d)
            if style_dim:
                self.v[name] = rng.normal(size=(d, style_dim))
        self.names = list(dims)

    def sample(self, n, seed=1):
        rng = np.random.default_rng(seed)
        z = rng.normal(size=(n, self.latent_dim))
        data = {}
        for name in self.names:
            x = z @ self.w[name].T + self.b[name]
            if self.style_dim:
                u = rng.normal(size=(n, self.style_dim))
                x = x + u @ self.v[name].T
            x = x + self.scale * rng.normal(size=x.shape)
            data[name] = x.astype("float32")
        return data

    def covariance(self, names):
        blocks_w = np.concatenate([self.w[n] for n in names])
        cov = blocks_w @ blocks_w.T
        start = 0
        for n in names:
            d = self.dims[n]
            if self.style_dim:
                cov[start:start + d, start:start + d] += (
                    self.v[n] @ self.v[n].T)
            start += d
        return cov + self.scale ** 2 * np.eye(len(cov))

    def log_marginal(self, data, names):
        """Exact `log p(x_names)` per row."""
        x = np.concatenate([data[n] for n in names], axis=1)
        mean = np.concatenate([self.b[n] for n in names])
        return log_normal_np(x, mean, self.covariance(names))

    def expert(self, name, shift=0.0, log_var_offset=0.0, posterior=False):
        """Exact likelihood factor of `x_name` as a Gaussian in `z`, or with
        `posterior=True` the exact posterior `p(z | x_name)`."""
        w = self.w[name]
        c = np.sum(w ** 2, axis=0)
        a = w / c
        precision = c / self.scale ** 2
        if posterior:
            a = a * precision / (1.0 + precision)
            precision = 1.0 + precision
        bias = -self.b[name] @ a + shift
        log_var = -np.log(precision) + log_var_offset
        return a, bias, log_var

    def model(self, fusion="poe", shift=0.0, log_var_offset=0.0,
              style_log_var=-0.5, posterior_experts=False):
        encoders, decoders = {}, {}
        for name in self.names:
            a, bias, log_var = self.expert(name, shift, log_var_offset,
                                           posterior_experts)
            style = {}
            dec_w = self.w[name].T
            if self.style_dim:
                # An informative but inexact style posterior.
                style = dict(
                    style_weight=0.3 * self.v[name],
                    style_bias=np.zeros(self.style_dim),
                    style_log_var=np.full(self.style_dim, style_log_var),
                )
                dec_w = np.concatenate([self.v[name].T, dec_w])
            encoders[name] = AffineEncoder(a, bias, log_var, **style)
            decoders[name] = AffineDecoder(dec_w, self.b[name])
        model = mm.MultimodalVAE(
            encoders=encoders, decoders=decoders,
            likelihoods={n: mm.likelihoods.Gaussian(self.scale)
                         for n in self.names},
            fusion=fusion, seed=0,
        )
        model.build({n: (None, d) for n, d in self.dims.items()})
        model.run_eagerly = True  # tiny model: evaluate eagerly
        return model
