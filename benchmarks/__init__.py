"""Benchmark scripts of keras_mmvae (not part of the installed package).

Run them from the repository root as modules, e.g.
`python -m benchmarks.train_step --help`; `benchmarks/README.md` lists
them and the question each one answers.
"""
