"""What a run record says of where it ran: Python, platform, CPU, GPU, package
versions, kernel backend, the harness's git commit and the process; and the machine's
load average (the trainer records it when a run starts and ends)."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


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
        "pid": os.getpid(),  # the process that trained the run (reports count them)
    }


def load_average() -> float | None:
    """The machine's 1-minute load average (None where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


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
