"""An experiment as the reports see it: its manifest and its runs' records, grouped by
model (role) and negative ratio; every record read through its declared structure."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from relext_bench.errors import UserError
from relext_bench.experiments.store import Store
from relext_bench.records import Manifest, RunRecord


@dataclass
class Group:
    """The runs of one model (role) in an experiment, at one negative ratio."""

    role: str
    label: str
    finished: list[RunRecord] = field(default_factory=list)
    failed: list[RunRecord] = field(default_factory=list)
    missing: int = 0

    def scores(self, metric: str) -> np.ndarray:
        """Each finished run's test score."""
        return np.array([r.test[metric] for r in self.finished], dtype=float)


@dataclass
class Experiment:
    kind: str
    manifest: Manifest
    groups: dict[tuple[str, float | None], Group]
    directory: Path | None = None  # the results directory, for the runs stored beside the experiment's

    @property
    def metric(self) -> str:
        return self.manifest.metric

    def roles(self) -> list[str]:
        return [r.name for r in self.manifest.roles]

    def at(self, ratio=None) -> dict[str, Group]:
        return {role: g for (role, r), g in self.groups.items() if r == ratio}

    def records(self) -> list[RunRecord]:
        return [r for g in self.groups.values() for r in g.finished + g.failed]

    def finished(self) -> list[RunRecord]:
        return [r for g in self.groups.values() for r in g.finished]

    def beside(self) -> list[RunRecord]:
        """The finished runs in the results directory that are not this experiment's,
        on its corpus and protocol (variants measured beside it)."""
        if self.directory is None:
            return []
        own = {run.key for run in self.manifest.runs}
        digest = self.manifest.corpus["digest"]
        return [r for r in Store(self.directory).records()
                if r.finished and r.key not in own and (r.corpus or {}).get("digest") == digest
                and r.protocol == self.manifest.protocol]


def load_experiment(directory: str | Path, ident: str) -> Experiment:
    """The experiment whose manifest has id `ident` (`compare`, or `compare@NAME` for a named one)."""
    store = Store(directory)
    manifest = store.manifest(ident)
    kind = ident.split("@", 1)[0]
    if manifest is None:
        raise UserError(f"{directory}: no {ident}.json (run `relext-bench {kind}` with --out {directory})")
    labels = {r.name: r.label for r in manifest.roles}
    groups: dict[tuple[str, float | None], Group] = {}
    for run in manifest.runs:
        g = groups.setdefault((run.role, run.neg_ratio), Group(run.role, labels[run.role]))
        record = store.get(run.key)
        if record is None:
            g.missing += 1
        elif record.finished:
            g.finished.append(record)
        else:
            g.failed.append(record)
    return Experiment(kind, manifest, groups, Path(directory))
