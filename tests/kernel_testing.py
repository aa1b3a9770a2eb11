"""Shared set-up of the kernel tests: every test runs on every available device."""
import os

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def require_extension():
    from relext_bench.kernels import backend

    if os.environ.get("RELEXT_BENCH_KERNELS") == "reference":
        pytest.skip("RELEXT_BENCH_KERNELS=reference: the extension is switched off")
    assert backend() != "reference", "the C++ extension failed to build"
