"""Keras-side helpers for the MultiVae oracle comparisons.

MultiVae (``multivae==1.0.3``, PyTorch) lives in its own virtualenv, so it
is run as a subprocess (tests/oracles/multivae_side.py) that exchanges
``.npz`` files with the tests. The contract of those files (keys, shapes,
reductions, which draws get which noise) is in tests/oracles/README.md.

Typical use in a test (tests/oracles/ is on sys.path: pytest's default
"prepend" import mode)::

    import harness
    harness.require_multivae()               # skip locally / fail on CI
    arrays = {}
    arrays.update(harness.encoder_weights(enc, "enc/a"))
    arrays.update(harness.decoder_weights(dec, "dec/a"))
    arrays["x/a"] = x_a
    arrays["eps/shared/a"] = eps
    out = harness.run_multivae(config, arrays)
    out["loss"], out["grad/enc/a/mean/kernel"], ...
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import pytest

HERE = pathlib.Path(__file__).resolve().parent
SIDE_SCRIPT = HERE / "multivae_side.py"
DEFAULT_VENV = pathlib.Path.home() / ".cache" / "keras_mmvae" / \
    "multivae-venv"


def multivae_python():
    """Path of the python that has MultiVae: ``$MULTIVAE_PYTHON``, else
    ``$MULTIVAE_VENV/bin/python`` (the variable benchmarks/ and the
    Makefile use), else ``~/.cache/keras_mmvae/multivae-venv/bin/python``."""
    env = os.environ.get("MULTIVAE_PYTHON")
    if env:
        return pathlib.Path(env)
    venv = os.environ.get("MULTIVAE_VENV")
    return pathlib.Path(venv or DEFAULT_VENV) / "bin" / "python"


_AVAILABLE = None


def multivae_available():
    """Whether the MultiVae python exists and imports ``multivae`` (cached)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        py = multivae_python()
        ok = py.exists()
        if ok:
            try:
                ok = subprocess.run(
                    [str(py), "-c", "import multivae, torch"],
                    capture_output=True, timeout=300).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
        _AVAILABLE = ok
    return _AVAILABLE


def must_run():
    """True under ``make oracles`` on CI: ``CI=true`` and
    ``KERAS_MMVAE_ORACLES=1`` (set by the Makefile target).

    ``CI=true`` alone is not enough: .ci/run runs ``make test`` (which
    also collects tests/oracles but does not install MultiVae) BEFORE
    ``make oracles`` (which does)."""
    return os.environ.get("CI", "").lower() == "true" and \
        os.environ.get("KERAS_MMVAE_ORACLES") == "1"


def require_multivae():
    """Skips the calling test when MultiVae is missing, except under
    ``make oracles`` on CI (`must_run`), where that is a failure."""
    if multivae_available():
        return
    msg = (f"MultiVae not importable by {multivae_python()} (set "
           "MULTIVAE_PYTHON or run `make oracles`)")
    if must_run():
        pytest.fail(msg)
    pytest.skip(msg)


def run_multivae(config, arrays, timeout=300):
    """Runs multivae_side.py on `config` (a dict, JSON-serialisable) and
    `arrays` (key -> array, README's layout); returns OUT.npz as a dict of
    NumPy arrays (0-d for scalars; ``reduction`` and ``draw_order`` are
    Python str / list). Raises RuntimeError with the subprocess's stderr
    when it fails."""
    return run_multivae_many([(config, arrays)], timeout=timeout)[0]


def run_multivae_many(cases, timeout=600):
    """Like `run_multivae` for a list of ``(config, arrays)`` pairs in ONE
    subprocess (torch + MultiVae start-up, ~5-10 s, is paid once); returns
    the list of outputs."""
    if not cases:
        return []
    with tempfile.TemporaryDirectory(prefix="multivae-oracle-") as tmp:
        argv = []
        for i, (config, arrays) in enumerate(cases):
            in_path = os.path.join(tmp, f"in{i}.npz")
            out_path = os.path.join(tmp, f"out{i}.npz")
            payload = {k: np.asarray(v) for k, v in arrays.items()}
            payload["config"] = np.asarray(json.dumps(config))
            np.savez(in_path, **payload)
            argv += [in_path, out_path]
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env.setdefault("OMP_NUM_THREADS", "1")
        env["CUDA_VISIBLE_DEVICES"] = ""
        try:
            proc = subprocess.run(
                [str(multivae_python()), str(SIDE_SCRIPT), *argv],
                capture_output=True, text=True, timeout=timeout, env=env,
                cwd=tmp)
        except subprocess.TimeoutExpired as e:
            raise RuntimeError(
                f"multivae_side.py timed out after {timeout}s:\n"
                f"{e.stderr}") from e
        if proc.returncode != 0:
            raise RuntimeError(
                f"multivae_side.py failed (exit {proc.returncode}):\n"
                f"{proc.stderr[-6000:]}")
        outs = []
        for i in range(len(cases)):
            with np.load(os.path.join(tmp, f"out{i}.npz"),
                         allow_pickle=False) as f:
                out = {k: f[k] for k in f.files}
            out["reduction"] = str(out["reduction"])
            out["draw_order"] = json.loads(str(out["draw_order"]))
            outs.append(out)
    return outs


# --- reading OUR layers' weights into the contract's key layout ------------

def dense_weights(dense, prefix):
    """``{prefix}/kernel`` (in, out), ``{prefix}/bias`` (out,) of a Dense."""
    return {f"{prefix}/kernel": np.asarray(dense.kernel.numpy()),
            f"{prefix}/bias": np.asarray(dense.bias.numpy())}


def _hidden_denses(layer):
    import keras
    return [lyr for lyr in layer.hidden if isinstance(lyr, keras.layers.Dense)]


def keras_dense_weights(layer_stack, prefix):
    """Weights of a list of Dense layers as ``{prefix}/<i>/kernel|bias``."""
    out = {}
    for i, dense in enumerate(layer_stack):
        out.update(dense_weights(dense, f"{prefix}/{i}"))
    return out


def encoder_weights(encoder, prefix):
    """A built ``keras_mmvae.layers.MLPEncoder`` (hidden ``dense_<i>``, then
    ``GaussianHead`` = two Dense layers ``mean`` and ``log_var``) as
    ``{prefix}/<i>/...``, ``{prefix}/mean/...``, ``{prefix}/log_var/...``.
    """
    out = keras_dense_weights(_hidden_denses(encoder), prefix)
    out.update(dense_weights(encoder.head.mean_dense, f"{prefix}/mean"))
    out.update(dense_weights(encoder.head.log_var_dense, f"{prefix}/log_var"))
    return out


def decoder_weights(decoder, prefix):
    """A built ``keras_mmvae.layers.MLPDecoder`` (hidden ``dense_<i>``, then
    the Dense ``output``) as ``{prefix}/<i>/...`` and ``{prefix}/out/...``.
    The decoder's output must be linear (likelihood parameters/logits)."""
    out = keras_dense_weights(_hidden_denses(decoder), prefix)
    out.update(dense_weights(decoder.out, f"{prefix}/out"))
    return out


def encoder_variables(encoder, prefix):
    """Contract key -> Keras variable, for matching ``grad/<key>`` with
    the gradients of ``encoder.trainable_variables``."""
    out = {}
    for i, dense in enumerate(_hidden_denses(encoder)):
        out[f"{prefix}/{i}/kernel"] = dense.kernel
        out[f"{prefix}/{i}/bias"] = dense.bias
    for name, dense in (("mean", encoder.head.mean_dense),
                        ("log_var", encoder.head.log_var_dense)):
        out[f"{prefix}/{name}/kernel"] = dense.kernel
        out[f"{prefix}/{name}/bias"] = dense.bias
    return out


def decoder_variables(decoder, prefix):
    """Contract key -> Keras variable of an ``MLPDecoder``."""
    out = {}
    for i, dense in enumerate(_hidden_denses(decoder)):
        out[f"{prefix}/{i}/kernel"] = dense.kernel
        out[f"{prefix}/{i}/bias"] = dense.bias
    out[f"{prefix}/out/kernel"] = decoder.out.kernel
    out[f"{prefix}/out/bias"] = decoder.out.bias
    return out


def random_mlp_weights(rng, prefix, n_in, hidden, heads, scale=0.5,
                       dtype=np.float32):
    """Random weights in the contract layout for an MLP with hidden ReLU
    layers and named linear heads (`heads`: name -> units), e.g.
    ``{"mean": D, "log_var": D}`` for an encoder or ``{"out": n}`` for a
    decoder."""
    out = {}
    for i, units in enumerate(hidden):
        out[f"{prefix}/{i}/kernel"] = (
            rng.normal(size=(n_in, units)) * scale).astype(dtype)
        out[f"{prefix}/{i}/bias"] = (rng.normal(size=units) * 0.1
                                     ).astype(dtype)
        n_in = units
    for name, units in heads.items():
        out[f"{prefix}/{name}/kernel"] = (
            rng.normal(size=(n_in, units)) * scale).astype(dtype)
        out[f"{prefix}/{name}/bias"] = (rng.normal(size=units) * 0.1
                                        ).astype(dtype)
    return out


def loss_as_batch_mean(out):
    """MultiVae's loss and gradients rescaled to a batch MEAN (ours):
    divides by B where MultiVae's reduction is a sum. Returns
    ``(loss, {key: grad})`` with the ``grad/`` prefix stripped."""
    scale = 1.0 / float(out["batch_size"]) if out["reduction"] == "sum" \
        else 1.0
    grads = {k[len("grad/"):]: v * scale for k, v in out.items()
             if k.startswith("grad/")}
    return float(out["loss"]) * scale, grads


def assert_close(ours, theirs, rtol, atol=0.0, what=""):
    """Relative comparison with a readable message."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol,
                               err_msg=what)


if __name__ == "__main__":  # pragma: no cover
    print(multivae_python(), multivae_available(), file=sys.stderr)
