"""The results store: one JSON record per run, written atomically, addressed by a key
(corpus digest, protocol, model spec, partition, seed, training settings). A finished
run is never run again, so a killed experiment resumes where it stopped, and several
experiments (compare, ablate, sweep) on one corpus share the runs they have in common.

Each experiment also writes a manifest naming the runs it consists of: `<kind>.json`,
or `<kind>@<name>.json` for one given a name (--name), so that several named
experiments of one kind share a results directory (and its runs) without overwriting
each other's manifest. Reports are built from the manifest and the run records only.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from relext_bench.training.records import read_record, write_json_atomic

KINDS = ("compare", "ablate", "sweep")


def run_key(corpus_digest: str, protocol: str, spec_key: str, partition: str, seed: int,
            settings: dict | None = None) -> str:
    blob = json.dumps([corpus_digest, protocol, spec_key, partition, seed, settings or {}], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


class Store:
    def __init__(self, directory: str | Path):
        self.root = Path(directory)
        self.runs = self.root / "runs"

    def clean(self) -> int:
        """Removes temporary files left by a killed write; returns how many."""
        stale = list(self.runs.glob(".*.tmp")) if self.runs.exists() else []
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def path(self, key: str) -> Path:
        return self.runs / f"{key}.json"

    def has(self, key: str) -> bool:
        return self.path(key).exists()

    def put(self, key: str, record: dict) -> None:
        write_json_atomic(self.path(key), record | {"key": key})

    def finished(self, key: str) -> bool:
        """A stored run that finished (a failed one is run again)."""
        record = self.get(key)
        return isinstance(record, dict) and record.get("status") == "finished"

    def get(self, key: str) -> dict | None:
        return read_record(self.path(key)) if self.has(key) else None

    def records(self) -> Iterator[dict]:
        for path in sorted(self.runs.glob("*.json")):
            yield read_record(path)

    # ---- experiment manifests ---------------------------------------------------------
    def put_manifest(self, kind: str, manifest: dict, name: str | None = None) -> str:
        """Writes the manifest; returns its id (`kind`, or `kind@name`)."""
        ident = manifest_id(kind, name)
        write_json_atomic(self.root / f"{ident}.json", manifest)
        return ident

    def manifest(self, ident: str) -> dict | None:
        """The manifest of id `kind` or `kind@name`."""
        path = self.root / f"{ident}.json"
        return read_record(path) if path.exists() else None

    def manifests(self) -> dict[str, dict]:
        """Every experiment's manifest in the directory, by id."""
        found = {}
        for path in sorted(self.root.glob("*.json")):
            if path.stem.split("@", 1)[0] in KINDS:
                found[path.stem] = read_record(path)
        return found


def manifest_id(kind: str, name: str | None) -> str:
    return f"{kind}@{name}" if name else kind
