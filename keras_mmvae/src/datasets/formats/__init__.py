"""Readers for the on-disk formats of the benchmark data sets."""
