"""Evaluation metrics, callbacks and plots (public: `mm.evaluation`)."""
