"""Chunked work, optionally in a process pool, with a tqdm progress bar."""

import collections
import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def progress_bar(total, desc, enabled):
    """A tqdm bar (or a no-op stand-in when tqdm is missing or disabled)."""
    if enabled:
        try:
            from tqdm.auto import tqdm

            return tqdm(total=total, desc=desc, unit="img", leave=False)
        except ImportError:
            pass
    return _NoBar()


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


def check_workers(num_workers, what="num_workers"):
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or (
        num_workers < 1
    ):
        raise ValueError(f"`{what}` must be a positive int; got {num_workers!r}.")
    return num_workers


def map_chunks(fn, jobs, num_workers, bar):
    """`[fn(*args) for args, size in jobs]`, in order, updating `bar`.

    `jobs` may be a generator (it is consumed lazily, so at most a few
    chunks are in memory at once). With `num_workers > 1` the chunks run in
    a pool of "spawn" processes (safe next to multi-threaded
    JAX/TensorFlow/torch; each worker imports keras_mmvae once, so this pays
    off only for large jobs).
    """
    if num_workers <= 1:
        results = []
        for args, size in jobs:
            results.append(fn(*args))
            bar.update(size)
        return results
    context = multiprocessing.get_context("spawn")
    results = []
    pending = collections.deque()
    with ProcessPoolExecutor(num_workers, mp_context=context) as pool:
        for args, size in jobs:
            pending.append((pool.submit(fn, *args), size))
            while len(pending) > 2 * num_workers:
                future, done = pending.popleft()
                results.append(future.result())
                bar.update(done)
        while pending:
            future, done = pending.popleft()
            results.append(future.result())
            bar.update(done)
    return results
