"""Evaluation classifiers of the three benchmarks."""
