"""Reference networks and model factories of the three benchmarks."""
