"""How many threads a run uses when the user does not say: the cores no other process
is keeping busy, measured when the run starts.

torch's default is every core. On a machine where other work already keeps cores
busy, its threads then wait for each other at every parallel region while the
scheduler hands their cores to someone else: a CHisIEC `cnn` run at load ~5 on 2 cores
trained at 234 instances/s with the default against 1,579 with one thread. The cores
in use are read from the kernel's CPU counters over a short interval (`/proc/stat`;
elsewhere the 1-minute load average), so a run on a busy machine starts with the
threads that can actually run.
"""
from __future__ import annotations

import os
import time

SAMPLE_S = 0.2


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpu_times() -> tuple[int, int] | None:
    """(all, idle) jiffies over every CPU since boot, or None where /proc/stat is not."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return sum(fields), fields[3] + fields[4]  # idle + iowait


def busy_cores(interval: float = SAMPLE_S) -> float:
    """Cores kept busy by other processes (this one sleeps while it measures)."""
    before = _cpu_times()
    if before is None:
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):
            return 0.0
    time.sleep(interval)
    after = _cpu_times()
    total, idle = after[0] - before[0], after[1] - before[1]
    return (os.cpu_count() or 1) * (1 - idle / total) if total > 0 else 0.0


def default_threads(workers: int = 1) -> int:
    """Threads per run for `workers` runs at once: the free cores shared among them,
    at least one."""
    free = min(cores(), round((os.cpu_count() or 1) - busy_cores()))
    return max(1, free // max(workers, 1))
