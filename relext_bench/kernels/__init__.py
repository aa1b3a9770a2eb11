"""The fused ops: ranking + multi-task loss, the multi-table embedding lookup, and
the sentence-shared convolution with pooling.

`ranking_loss`, `embed_concat` and `pair_conv_pool` run the C++/CUDA extension when it builds, else the
pure-PyTorch reference (after one warning). `kernels_for(device)` says which one runs
on a device; it goes into every run record.
"""
from relext_bench.kernels.ops import (
    backend,
    embed_concat,
    kernels_for,
    pair_conv_pool,
    ranking_loss,
)

__all__ = ["backend", "embed_concat", "kernels_for", "pair_conv_pool", "ranking_loss"]
