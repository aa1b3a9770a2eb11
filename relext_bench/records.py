"""The declared data between layers: a run's record (written by the trainer and the
runner, read by the store and the reports) and an experiment's manifest (written by
the runner, read by the reports), as dataclasses; a run record carries its version.

Both are stored as JSON. `from_dict` reads one: a field it needs and does not find is
an error naming the file and the field (`RecordError`); a field that older records lack
gets the default written next to it; keys it does not declare are kept in `extra`, so
`to_dict` gives back what was read.
"""
from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

RECORD_VERSION = 1


class RecordError(ValueError):
    """A stored record or manifest that cannot be read: names the file and the field."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source, self.problem = source, problem


def pack_labels(labels) -> str:
    """Per-instance labels, compact: base64 of little-endian uint16."""
    return base64.b64encode(np.asarray(labels, dtype="<u2").tobytes()).decode("ascii")


def unpack_labels(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<u2").astype(np.int64)


def _read(cls, data: Any, source: str, what: str, required: tuple[str, ...] = ()):
    """`cls` from a dict: `required` fields must be there, the others default; keys
    the class does not declare go to its `extra` (when it has one)."""
    if not isinstance(data, dict):
        raise RecordError(source, f"{what} is not a JSON object ({type(data).__name__})")
    missing = [f for f in required if f not in data]
    if missing:
        raise RecordError(source, f"{what} without {', '.join(missing)}")
    names = {f.name for f in dataclasses.fields(cls)}
    known = {k: v for k, v in data.items() if k in names and k != "extra"}
    if "extra" in names:
        known["extra"] = {k: v for k, v in data.items() if k not in names}
    return cls(**known)


def _write(obj) -> dict:
    """The dict form: declared fields (None ones left out), then the kept extras."""
    out = {}
    for f in dataclasses.fields(obj):
        if f.name == "extra":
            continue
        value = getattr(obj, f.name)
        if value is None and f.metadata.get("omit_none", True):
            continue
        out[f.name] = _write(value) if dataclasses.is_dataclass(value) else value
    return out | getattr(obj, "extra", {})


# ---- a run's record ----------------------------------------------------------------------
@dataclass
class Scores:
    """Every score of one split (metrics.evaluate): fractions in [0, 1]."""

    micro_p: float
    micro_r: float
    micro_f1: float
    macro_f1: float
    weighted_p: float
    weighted_r: float
    weighted_f1: float
    identification_p: float = float("nan")
    identification_r: float = float("nan")
    identification_f1: float = float("nan")
    semeval_f1: float | None = None  # SemEval-2010 Task 8's official score (metrics.OFFICIAL)
    per_label: dict[str, dict] = field(default_factory=dict)  # label -> p, r, f1, support
    confusion: list[list[int]] = field(default_factory=list)  # gold x predicted
    signature: dict[str, str] = field(default_factory=dict)  # metric -> its signature
    extra: dict = field(default_factory=dict)

    def __getitem__(self, metric: str) -> float:
        return getattr(self, metric)


@dataclass
class Timings:
    train_s: float
    build_s: float = 0.0
    evaluate_s: float = 0.0
    train_instances_per_s: float | None = None
    started: float | None = None  # Unix time the run started and finished (records before: none)
    finished: float | None = None
    load: list | None = None  # the machine's 1-minute load average when it started and finished
    cpu_s: float | None = None  # CPU seconds its process spent from start to finish (all its threads)
    resumed_after_epoch: int | None = None  # a run resumed from its checkpoint (train_s counts every part)
    extra: dict = field(default_factory=dict)


@dataclass
class InstanceCounts:
    train: int
    dev: int
    test: int
    train_positives: int
    train_negatives_before_sampling: int | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


FINISHED_FIELDS = ("version", "model", "seed", "partition", "test", "dev", "predictions", "curve", "labels",
                   "timings", "instances", "train_config", "epochs", "best_epoch")


@dataclass
class RunRecord:
    """One run: what was trained on what, how, and what came out. A failed run has
    its `failure` and the fields known when it failed."""

    status: str  # finished | failed | running (only while the trainer builds it)
    model: dict  # the resolved spec (ModelSpec.to_dict) with its key and label
    partition: str
    seed: int
    protocol: str | None = None
    key: str | None = None  # the store's key (added when stored)
    version: int = RECORD_VERSION
    corpus_spec: str | None = None
    corpus: dict | None = None  # name, digest, synthetic, language
    metric: str | None = None
    policy: dict | None = None  # the instance policy and its digest
    symmetric_types: list[str] | None = None  # records before relation-level scoring: none
    train_config: dict | None = None
    device: str = "cpu"  # records before --device ran on the CPU
    neg_ratio: float | None = field(default=None, metadata={"omit_none": False})
    instances: InstanceCounts | None = None
    leak_probe: dict | None = None
    labels: list[str] | None = None
    parameters: int | None = None
    embeddings: dict | None = None
    best_epoch: int | None = None
    curve: list[dict] | None = None
    epochs: int | None = None
    timings: Timings | None = None
    dev: Scores | None = None
    test: Scores | None = None
    predictions: dict | None = None  # test_gold, test_pred: pack_labels
    refit: dict | None = None  # TrainConfig.refit: the model retrained on train + dev (trainer.refit)
    environment: dict | None = None
    failure: str | None = None
    traceback: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @classmethod
    def from_dict(cls, data: Any, source: str = "run record") -> RunRecord:
        status = data.get("status") if isinstance(data, dict) else None
        if status == "finished":
            required = ("status", "partition", "seed") + FINISHED_FIELDS
        elif status == "failed":
            required = ("status", "failure")
        elif status == "running":
            required = ("status",)
        else:
            raise RecordError(source, f"status {status!r} is neither finished nor failed")
        data = {"model": {}, "partition": None, "seed": None} | data if status != "finished" else data
        record = _read(cls, data, source, f"{status} record", required)
        if status == "finished" and record.version != RECORD_VERSION:
            raise RecordError(source, f"record version {record.version!r}; this harness reads version {RECORD_VERSION}")
        if record.instances is not None:
            record.instances = _read(InstanceCounts, record.instances, source, "instances",
                                     ("train", "dev", "test", "train_positives"))
        if record.timings is not None:
            record.timings = _read(Timings, record.timings, source, "timings", ("train_s",))
        for split in ("dev", "test"):
            if getattr(record, split) is not None:
                setattr(record, split, _read(Scores, getattr(record, split), source, f"{split} scores",
                                             ("micro_p", "micro_r", "micro_f1", "macro_f1", "weighted_p",
                                              "weighted_r", "weighted_f1", "per_label")))
        return record

    def to_dict(self) -> dict:
        return _write(self)

    def test_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """Gold and predicted test labels, per instance."""
        return unpack_labels(self.predictions["test_gold"]), unpack_labels(self.predictions["test_pred"])


# ---- an experiment's manifest ----------------------------------------------------------
@dataclass
class RoleEntry:
    """A model as the experiment names it."""

    name: str
    spec: str  # spec_text: every option written out
    label: str
    key: str
    seeds: list[int] | None = None  # None: every seed of the experiment
    extra: dict = field(default_factory=dict)


@dataclass
class RunEntry:
    role: str
    partition: str
    seed: int
    key: str
    neg_ratio: float | None = field(default=None, metadata={"omit_none": False})
    extra: dict = field(default_factory=dict)


@dataclass
class Manifest:
    """An experiment: its models (roles), the runs they consist of, and its settings."""

    kind: str  # compare | ablate | sweep
    corpus_spec: str
    corpus: dict  # name, digest, synthetic, language
    protocol: str
    metric: str
    seeds: list[int]
    partitions: list[str]
    roles: list[RoleEntry]
    runs: list[RunEntry]
    train_config: dict
    corpus_stats: dict
    ratios: list[float | None] = field(default_factory=lambda: [None])
    workers: int = 1
    report_name: str | None = field(default=None, metadata={"omit_none": False})
    reference: str | None = None
    tuned: list[dict] | None = field(default=None, metadata={"omit_none": False})  # one entry per study
    preset: str | None = field(default=None, metadata={"omit_none": False})
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, source: str = "manifest") -> Manifest:
        m = _read(cls, data, source, "experiment manifest",
                  ("kind", "corpus_spec", "corpus", "protocol", "metric", "seeds", "partitions", "roles", "runs",
                   "train_config", "corpus_stats"))
        m.roles = [_read(RoleEntry, r, source, "role", ("name", "spec", "label", "key")) for r in m.roles]
        m.runs = [_read(RunEntry, r, source, "run", ("role", "partition", "seed", "key")) for r in m.runs]
        if isinstance(m.tuned, dict):  # manifests from before several studies: one study
            m.tuned = [m.tuned]
        return m

    def to_dict(self) -> dict:
        out = _write(self)
        out["roles"] = [_write(r) for r in self.roles]
        out["runs"] = [_write(r) for r in self.runs]
        return out

    def role_seeds(self, role: RoleEntry) -> list[int]:
        return role.seeds if role.seeds is not None else self.seeds
