"""The mnist_svhn_text benchmark: spec, networks, classifier, data."""
