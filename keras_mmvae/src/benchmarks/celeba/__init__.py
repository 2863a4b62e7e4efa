"""The celeba benchmark: spec, networks, classifier, data."""
