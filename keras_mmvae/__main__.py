"""`python -m keras_mmvae`: see `keras_mmvae.src.cli.main`."""

import sys

from keras_mmvae.src.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
