"""tests/oracles: our models against MultiVae (PyTorch), run as a subprocess
in MultiVae's own virtualenv; see README.md here."""

# Runs under MultiVae's python only; never import it in the test process.
collect_ignore = ["multivae_side.py"]
