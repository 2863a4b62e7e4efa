"""Turns the tutorials (jupytext percent `.py`) into executed notebooks.

Shared by `tests/tutorials/test_tutorials.py` and `docs/hooks.py`:

* the tests execute every tutorial under the current `KERAS_BACKEND` in
  small mode and store the executed notebook under
  `build/tutorials/<backend>-<mode>/tutorials/<name>.ipynb`;
* the docs build renders those notebooks, re-using a stored one only when
  its key matches (same tutorial source, same library sources, same
  backend and mode); otherwise it executes the tutorial itself.

The `.ipynb` files are build products: never commit them.
"""

import hashlib
import os
import pathlib
import re
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "tutorials"
LIBRARY = ROOT / "keras_mmvae"
CACHE = ROOT / "build" / "tutorials"
MODE_VARIABLE = "KERAS_MMVAE_TUTORIAL_MODE"
RUNNER_VERSION = "1"


# Log lines that TensorFlow's C++ runtime writes to stderr on import (also on
# other backends: `keras.utils.set_random_seed` seeds TensorFlow when it is
# installed). They are noise on the rendered pages.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\).*"
    r"|To enable the following instructions: .*"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ \w+\.cc:\d+\].*)$"
)


def clean_outputs(nb):
    """Drops TensorFlow's C++ log lines from the stderr outputs of `nb`."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and (
                    output.get("name") == "stderr"):
                lines = [line for line in output["text"].splitlines(True)
                         if not _NOISE.match(line.rstrip("\n"))]
                if not "".join(lines).strip():
                    continue
                output["text"] = "".join(lines)
            kept.append(output)
        cell["outputs"] = kept
    return nb


def tutorial_sources():
    """The tutorial sources `tutorials/*.py`, sorted by name."""
    return sorted(TUTORIALS.glob("*.py"))


def current_backend():
    """The Keras backend named by the environment (Keras's default: TF)."""
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def library_digest():
    """SHA-256 of the library's Python sources."""
    digest = hashlib.sha256()
    for path in sorted(LIBRARY.rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(source, backend, mode):
    """Key of an executed notebook: sources, library, backend and mode."""
    digest = hashlib.sha256()
    for part in (RUNNER_VERSION, backend, mode, library_digest()):
        digest.update(part.encode())
    digest.update(pathlib.Path(source).read_bytes())
    return digest.hexdigest()


def executed_path(source, backend, mode):
    """Where the executed notebook of `source` is stored."""
    name = pathlib.Path(source).stem + ".ipynb"
    return CACHE / f"{backend}-{mode}" / "tutorials" / name


def cached(source, backend, mode):
    """The stored executed notebook if it is up to date, else `None`."""
    import nbformat

    path = executed_path(source, backend, mode)
    if not path.exists():
        return None
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - a broken cache entry is a miss
        return None
    meta = nb.metadata.get("keras_mmvae", {})
    if meta.get("key") != cache_key(source, backend, mode):
        return None
    return path


def execute(source, backend=None, mode="small", timeout=600):
    """Converts `source` with jupytext and executes it with nbclient.

    The kernel runs in a temporary working directory with `KERAS_BACKEND`
    and `KERAS_MMVAE_TUTORIAL_MODE` set; a failing cell raises
    `nbclient.exceptions.CellExecutionError`.

    Returns:
        `(path, seconds)`: the stored executed notebook and the wall time.
    """
    import jupytext
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    source = pathlib.Path(source)
    backend = backend or current_backend()
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    env = dict(os.environ)
    env["KERAS_BACKEND"] = backend
    env[MODE_VARIABLE] = mode
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    with tempfile.TemporaryDirectory(prefix="keras_mmvae_tutorial_") as cwd:
        # IPC sockets in the temporary folder instead of local TCP ports.
        manager = KernelManager(kernel_name="python3", transport="ipc",
                                ip=os.path.join(cwd, "kernel-ipc"))
        client = NotebookClient(
            nb,
            km=manager,
            timeout=timeout,
            kernel_name="python3",
            allow_errors=False,
            resources={"metadata": {"path": cwd}},
        )
        start = time.perf_counter()
        try:
            client.execute(env=env)
        except Exception:
            # Keep what ran, for debugging: <name>.failed.ipynb.
            failed = executed_path(source, backend, mode).with_suffix(
                ".failed.ipynb")
            failed.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(clean_outputs(nb), failed)
            raise
        finally:
            if manager.has_kernel:
                manager.shutdown_kernel(now=False)
        seconds = time.perf_counter() - start
    clean_outputs(nb)
    nb.metadata["keras_mmvae"] = {
        "key": cache_key(source, backend, mode),
        "backend": backend,
        "mode": mode,
        "seconds": round(seconds, 1),
    }
    path = executed_path(source, backend, mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path, seconds


def executed(source, backend=None, mode="small", timeout=600):
    """The up-to-date executed notebook, executing only when needed.

    Returns:
        `(path, seconds, was_cached)`.
    """
    backend = backend or current_backend()
    path = cached(source, backend, mode)
    if path is not None:
        return path, 0.0, True
    path, seconds = execute(source, backend, mode, timeout)
    return path, seconds, False
