"""Experiments: multi-run comparisons (and, to come, ablations, sweeps and tuning)."""
