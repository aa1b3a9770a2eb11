"""Writing files safely, shared by every layer: atomic JSON (temporary file, then
rename), the user's umask for what is written (not mkstemp's 0600), a probe that an
output directory takes files, and a fallback copy when a write fails."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | Path) -> None:
    """Gives a file made by mkstemp (0600) the mode an ordinary file would have."""
    os.chmod(path, 0o666 & ~_umask())


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
        apply_umask(tmp)
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


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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

