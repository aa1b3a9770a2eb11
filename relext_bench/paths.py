"""Where the harness keeps its caches: RELEXT_BENCH_HOME, else the user's cache home."""
import os
from pathlib import Path


def home() -> Path:
    env = os.environ.get("RELEXT_BENCH_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "relext_bench"
