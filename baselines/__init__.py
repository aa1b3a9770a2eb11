"""Baseline models behind the common interface (installed as relext_bench.baselines)."""
from relext_bench.baselines import att_bilstm, cnn, cr_cnn, pcnn  # noqa: F401  (register)
