"""The polymnist benchmark: spec, networks, classifier, data."""
