"""Building blocks shared by the benchmarks."""
