"""relext_bench: a benchmark and reproducibility harness for relation extraction
on imbalanced data (Ye et al., ACL 2019, and its baselines)."""

__version__ = "0.1.0"
