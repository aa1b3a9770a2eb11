"""Training one run: the trainer, where it ran (environment), the leak probe, and the
training-speed benchmark of the encoders."""
