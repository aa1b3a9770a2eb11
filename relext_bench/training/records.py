"""Run records: one JSON per run with everything needed to trace a reported number
back to how it was made. Written atomically (temporary file, then rename)."""
from __future__ import annotations

import base64
import json
import os
import platform
import subprocess
import tempfile
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


def write_json_atomic(path: Path, data: dict, compact: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's pid in the name: a clean-up removes only a dead writer's leftovers.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    layout = {"separators": (",", ":")} if compact else {"indent": 1}
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, default=_default, **layout)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_record(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def check_writable(directory: str | Path) -> Path:
    """Creates the directory if needed and writes a probe file in it, so that a run
    never trains only to find it cannot store its record."""
    from relext_bench.errors import UserError

    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".write-probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UserError(f"{directory}: cannot write there ({e.strerror or type(e).__name__})") from None
    return directory


def write_or_keep(path: Path, record: dict) -> None:
    """Writes a record; when that fails, keeps it in a fallback file and raises one
    clear error naming both (nothing computed is lost)."""
    from relext_bench.errors import UserError
    from relext_bench.paths import home

    try:
        write_json_atomic(path, record)
        return
    except OSError as e:
        reason = e.strerror or type(e).__name__
    for folder in (home() / "unsaved", Path(tempfile.gettempdir())):
        fallback = folder / f"relext-bench-{path.stem}-{os.getpid()}.json"
        try:
            write_json_atomic(fallback, record)
            break
        except OSError:
            continue
    else:
        raise UserError(f"{path}: could not write the record ({reason}), nor a copy elsewhere") from None
    raise UserError(f"{path}: could not write the record ({reason}); it is kept in {fallback}") from None

