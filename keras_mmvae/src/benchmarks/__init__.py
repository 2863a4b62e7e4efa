"""The three reference benchmarks, one folder each.

Each of `polymnist`, `mnist_svhn_text` and `celeba` holds its `spec` (the
one record of modality names, shapes, likelihoods, reconstruction weights
and hyper-parameters), `networks` (reference encoders, decoders and the
model factory), `classifier` (evaluation classifier architectures), `data`
(the loader), `tfds` (the tensorflow-datasets builder) and, where they
exist, its file readers and synthesis. `common` holds what they share.
"""
