"""Implementation of `keras_mmvae.datasets` (file formats, loaders, synthesis).

Nothing here imports a deep-learning backend; heavy third-party imports
(Pillow, SciPy, tqdm, tensorflow-datasets) happen inside the functions that
need them.
"""
