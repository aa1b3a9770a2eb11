"""The results store: one JSON record per run, written atomically, addressed by a key
(corpus digest, protocol, model spec, partition, seed, training settings). A finished
run is never run again, so a killed experiment resumes where it stopped, and several
experiments (compare, ablate, sweep) on one corpus share the runs they have in common.
A run in progress keeps its training state beside its future record (`checkpoint(key)`,
written by the trainer, `training/checkpoint.py`); storing the record removes it.

A record is checked whenever it is read: it must be a run record of this version whose
own key is the file's (a record copied under another run's key is not that run). A
damaged one (truncated, empty, not a record, missing fields, another key) is moved
aside into `runs/damaged/` with a one-line warning naming the file, and its run counts
as not done, so the next invocation trains it again.

Each experiment also writes a manifest naming the runs it consists of: `<kind>.json`,
or `<kind>@<name>.json` for one given a name (--name), so that several named
experiments of one kind share a results directory (and its runs) without overwriting
each other's manifest. Reports are built from the manifest and the run records only.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from relext_bench.errors import UserError
from relext_bench.experiments.claims import pid_alive
from relext_bench.files import read_record, write_json_atomic, write_or_keep
from relext_bench.records import Manifest, RecordError, RunRecord
from relext_bench.semeval import write_answers

KINDS = ("compare", "ablate", "sweep")


def run_key(corpus_digest: str, protocol: str, spec_key: str, partition: str, seed: int,
            settings: dict | None = None) -> str:
    blob = json.dumps([corpus_digest, protocol, spec_key, partition, seed, settings or {}], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def read_run(record, key: str, source: str) -> RunRecord:
    """The stored run `key` through its declared structure; RecordError when it cannot be."""
    if isinstance(record, dict) and record.get("key") != key:
        raise RecordError(source, f"its own key is {record.get('key')!r}, not the file's "
                                  "(a record stored under another run's key)")
    return RunRecord.from_dict(record, source)


class Store:
    def __init__(self, directory: str | Path):
        self.root = Path(directory)
        self.runs = self.root / "runs"

    def clean(self, older_than_s: float = 3600.0) -> int:
        """Removes temporary files left by a killed write; returns how many: those of
        a writer (its pid is in the name) that no longer runs on this machine, and any
        older than an hour. Another process's write in progress is left alone."""
        now = time.time()
        stale = []
        for path in self.runs.glob(".*.tmp") if self.runs.exists() else []:
            pid = path.name.removesuffix(".tmp").split(".")[-2]
            try:
                dead = pid.isdigit() and not pid_alive(int(pid))
                if dead or now - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    stale.append(path)
            except FileNotFoundError:
                pass
        return len(stale)

    def path(self, key: str) -> Path:
        return self.runs / f"{key}.json"

    def checkpoint(self, key: str) -> Path:
        """Where a run in progress keeps its training state (`training/checkpoint.py`)."""
        return self.runs / f"{key}.ckpt"

    def has(self, key: str) -> bool:
        return self.path(key).exists()

    def put(self, key: str, record: dict) -> None:
        """Stores the record; when the write fails, it is kept in a fallback file and
        the error (a UserError) names both."""
        write_or_keep(self.path(key), record | {"key": key})
        write_answers(self.path(key), record)  # SemEval-2010 runs: the official scorer's input
        self.checkpoint(key).unlink(missing_ok=True)  # the run is done (a failed one starts over)

    def finished(self, key: str) -> bool:
        """A stored run that finished (a failed one is run again)."""
        record = self.get(key)
        return record is not None and record.finished

    def get(self, key: str) -> RunRecord | None:
        """The run's record; None when there is none, or it was damaged (and is now set aside)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            return read_run(read_record(path), key, str(path))
        except RecordError as e:
            problem = e.problem
        except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
            problem = f"unreadable ({type(e).__name__})"
        self._set_aside(path, problem)
        return None

    def records(self) -> list[RunRecord]:
        """Every stored run's record (damaged ones set aside)."""
        paths = sorted(self.runs.glob("*.json")) if self.runs.exists() else []
        return [r for p in paths if (r := self.get(p.stem)) is not None]

    def _set_aside(self, path: Path, problem: str) -> None:
        damaged = self.runs / "damaged"
        damaged.mkdir(parents=True, exist_ok=True)
        dest, n = damaged / path.name, 1
        while dest.exists():
            dest, n = damaged / f"{path.name}.{n}", n + 1
        try:
            path.rename(dest)
        except FileNotFoundError:  # another process set it aside first
            return
        print(f"relext-bench: warning: {path}: {problem}; moved to {dest}, its run will be trained again",
              file=sys.stderr)

    # ---- experiment manifests ---------------------------------------------------------
    def put_manifest(self, manifest: Manifest) -> str:
        """Writes the manifest; returns its id (`kind`, or `kind@name`)."""
        ident = manifest_id(manifest.kind, manifest.report_name)
        write_json_atomic(self.root / f"{ident}.json", manifest.to_dict())
        return ident

    def manifest(self, ident: str) -> Manifest | None:
        """The manifest of id `kind` or `kind@name`."""
        path = self.root / f"{ident}.json"
        if not path.exists():
            return None
        try:
            manifest = read_record(path)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise UserError(f"{path}: the experiment's manifest is damaged ({type(e).__name__}); running the "
                            "experiment again writes it anew") from None
        try:
            return Manifest.from_dict(manifest, str(path))
        except RecordError as e:
            raise UserError(f"{e}: not an experiment manifest this harness reads; running the experiment "
                            "again writes it anew") from None

    def manifests(self, kinds: list[str] | None = None) -> dict[str, Manifest]:
        """The manifests in the directory (of the given kinds: one of another kind that
        cannot be read is not read), by id."""
        found = {}
        for path in sorted(self.root.glob("*.json")):
            if path.stem.split("@", 1)[0] in (kinds or KINDS):
                found[path.stem] = self.manifest(path.stem)
        return found


def manifest_id(kind: str, name: str | None) -> str:
    return f"{kind}@{name}" if name else kind
