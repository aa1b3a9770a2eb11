"""Run records: one JSON per run with everything needed to trace a reported number
back to how it was made. Written atomically (relext_bench.files)."""
from __future__ import annotations

import base64
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

RECORD_VERSION = 1


def pack_labels(labels) -> str:
    """Per-instance labels, compact: base64 of little-endian uint16."""
    return base64.b64encode(np.asarray(labels, dtype="<u2").tobytes()).decode("ascii")


def unpack_labels(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<u2").astype(np.int64)


def environment(backend: str) -> dict:
    import numpy
    import scipy
    import torch

    import relext_bench

    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "packages": {"relext_bench": relext_bench.__version__, "torch": torch.__version__,
                     "numpy": numpy.__version__, "scipy": scipy.__version__},
        "kernel_backend": backend,
        "git_commit": _git_commit(),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")
