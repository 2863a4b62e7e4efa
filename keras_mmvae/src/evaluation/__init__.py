"""Evaluation metrics, callbacks and plots (public: `keras_mmvae.evaluation`)."""
