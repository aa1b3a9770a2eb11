"""Claims on runs, so that several processes (on one machine, or on several sharing the
results directory) split an experiment's runs between them and none is trained twice.

A claim is a file `runs/KEY.claim`, created atomically (O_CREAT | O_EXCL) by the
process that will train the run and removed once its record is stored. Its holder
refreshes the file's time every `HEARTBEAT_S`; a claim is stale, and another process
may take it over, when its holder is a process of this machine that no longer exists,
or when it has not been refreshed for `STALE_S` (a holder on another machine that died
or lost the directory). Taking over renames the stale file first, which only one
process can do, so two processes never both take it.

Written by hand: the lock libraries at hand (fcntl/flock, filelock) give locks that a
dead holder releases on one machine, but not over a network file system, and they say
nothing about who holds a run.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

HEARTBEAT_S = 30.0
STALE_S = 300.0


def pid_alive(pid: int) -> bool:
    """A process of this machine with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


class Claims:
    """The claims this process holds in one results directory."""

    def __init__(self, runs: Path, stale_s: float = STALE_S, heartbeat_s: float = HEARTBEAT_S):
        self.runs = Path(runs)
        self.stale_s = stale_s
        self.heartbeat_s = heartbeat_s
        self.host = socket.gethostname()
        self.held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def path(self, key: str) -> Path:
        return self.runs / f"{key}.claim"

    # ---- claiming -------------------------------------------------------------------
    def try_claim(self, key: str) -> bool:
        """Claims the run; False when a live process holds it."""
        self.runs.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._take_over_if_stale(path):
                    return False
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump({"host": self.host, "pid": os.getpid(), "since": time.time()}, fh)
            with self._lock:
                self.held.add(key)
            self._start_heartbeat()
            return True
        return False

    def holder(self, key: str) -> dict | None:
        try:
            return json.loads(self.path(key).read_text())
        except (OSError, ValueError):
            return None

    def stale(self, path: Path) -> bool:
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return False  # released meanwhile: claim it normally
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):  # being written, or damaged: stale once old enough
            return age > self.stale_s
        if info.get("host") == self.host and isinstance(info.get("pid"), int):
            return not pid_alive(info["pid"])
        return age > self.stale_s

    def _take_over_if_stale(self, path: Path) -> bool:
        if not self.stale(path):
            return False
        aside = path.with_name(f"{path.name}.stale-{self.host}-{os.getpid()}")
        try:
            path.rename(aside)  # only one process wins this
        except FileNotFoundError:
            return True  # someone else moved or released it: try to create ours
        aside.unlink(missing_ok=True)
        return True

    def clear_stale(self) -> int:
        """Removes the claims of processes that died (a killed run, or one whose record
        was stored just before its process ended); returns how many. A live claim stays."""
        cleared = 0
        for path in sorted(self.runs.glob("*.claim")) if self.runs.exists() else []:
            if self._take_over_if_stale(path):
                cleared += 1
        return cleared

    def release(self, key: str) -> None:
        with self._lock:
            self.held.discard(key)
        self.path(key).unlink(missing_ok=True)

    def release_all(self) -> None:
        for key in list(self.held):
            self.release(key)
        self._stop.set()

    # ---- heartbeat ------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        if self._beat is None:
            self._beat = threading.Thread(target=self._heartbeat, name="relext-claims", daemon=True)
            self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            with self._lock:
                held = list(self.held)
            for key in held:
                try:
                    os.utime(self.path(key))
                except FileNotFoundError:
                    pass
