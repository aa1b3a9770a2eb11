"""Training one run: the trainer, run records, the leak probe."""
