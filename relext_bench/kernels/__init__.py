"""The fused ops: ranking + multi-task loss, and the multi-table embedding lookup.

`ranking_loss` and `embed_concat` run the C++/CUDA extension when it builds, else the
pure-PyTorch reference (after one warning). `backend()` says which one runs; it goes
into every run record.
"""
from relext_bench.kernels.ops import backend, embed_concat, ranking_loss

__all__ = ["backend", "embed_concat", "ranking_loss"]
