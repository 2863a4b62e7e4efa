"""Chunked work, optionally in a process pool, with a tqdm progress bar."""

import collections
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor


def progress_bar(total, desc, enabled):
    """A tqdm bar (or a no-op stand-in when tqdm is missing or disabled).

    Only on a terminal: redirected output (logs, CI) gets no bar.
    """
    if enabled and sys.stderr.isatty():
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
        raise ValueError(
            f"`{what}` must be a positive int; got {num_workers!r}."
        )
    return num_workers


class Pool:
    """Runs `fn(*args)` over chunks inline, or in "spawn" worker processes.

    "spawn" is safe next to multi-threaded JAX/TensorFlow/torch, but every
    worker imports keras_mmvae (and so Keras and its backend) once, which
    takes seconds: worth it only for large jobs on machines with idle
    cores. Use one `Pool` for a whole job so workers start only once.
    """

    def __init__(self, num_workers):
        self.num_workers = check_workers(num_workers)
        self._executor = None

    def __enter__(self):
        if self.num_workers > 1:
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.num_workers,
                                                 mp_context=context)
        return self

    def __exit__(self, *args):
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def map_chunks(self, fn, jobs, bar):
        """`[fn(*args) for args, size in jobs]` in order, updating `bar`.

        `jobs` may be a generator; it is consumed lazily so that only a few
        chunks are in memory at once.
        """
        if self._executor is None:
            results = []
            for args, size in jobs:
                results.append(fn(*args))
                bar.update(size)
            return results
        results = []
        pending = collections.deque()
        for args, size in jobs:
            pending.append((self._executor.submit(fn, *args), size))
            while len(pending) > 2 * self.num_workers:
                future, done = pending.popleft()
                results.append(future.result())
                bar.update(done)
        while pending:
            future, done = pending.popleft()
            results.append(future.result())
            bar.update(done)
        return results
