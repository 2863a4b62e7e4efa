"""Training and evaluation runs behind the command line (`keras-mmvae`).

`runs.train` trains one benchmark model resumably (`checkpoint`: exact
resume, time budget), `curves` adds the learning-curve callbacks,
`evaluating.evaluate_model` evaluates a trained model into JSON, and
`benchmarks` says which dataset loader and model factory each benchmark
uses. The command line (`keras_mmvae.src.cli`) only parses arguments and
calls these.
"""
