"""Protocols bundle an instance policy, a split scheme and the headline metric.

- `paper`: the released script's protocol (docs/method.md): 5-fold cross-validation by
  document in list order, the held-out fold used both for early stopping and for
  scoring, support-weighted F1 over positive types. Its policy leaks the label.
- `standard`: the corpus's fixed train/dev/test split, each unordered pair once, left
  to right, with type and direction in the label (symmetric types undirected), whole
  sentence, selection on dev, micro-F1 over positives: each relation scored once.
- `standard-window`: `standard` with the paper's 16-token window from the leftmost mention.
- `ordered`: `standard`'s split and metric over every ordered pair (each relation
  yields two positives, so micro-F1 counts it twice): the harness's standard protocol
  before relations were scored once, kept for comparison.

A run is keyed by `Protocol.key(corpus)`: the protocol's name, its policy's digest and
the corpus's symmetric types where the policy uses them, so a change to any of them
never reuses a stored run.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from relext_bench.data.model import Corpus, Document
from relext_bench.data.policy import POLICIES, Policy
from relext_bench.errors import UserError


@dataclass(frozen=True)
class Partition:
    name: str  # "main" or "fold-K"
    train: tuple[Document, ...]
    dev: tuple[Document, ...]
    test: tuple[Document, ...]


@dataclass(frozen=True)
class Protocol:
    name: str
    policy: Policy
    scheme: str  # "fixed" or "cv"
    metric: str  # the headline metric: "micro_f1" or "weighted_f1"
    folds: int = 5
    papers: bool = False  # the reproduced paper's own protocol (its published numbers were measured so)
    leaky: bool = False  # the instances or the selection leak the label (reports carry a warning)

    def key(self, corpus: Corpus) -> str:
        key = f"{self.name}/{self.policy.digest()}"
        undirected = self.policy.undirected(corpus.symmetric_types)
        if undirected:
            key += "/symmetric=" + "+".join(sorted(undirected))
        return key

    def short_key(self, corpus: Corpus) -> str:
        """`key` as a name that is safe in file names: NAME@ and 8 hex digits."""
        return f"{self.name}@{hashlib.sha256(self.key(corpus).encode()).hexdigest()[:8]}"

    def fold_documents(self, corpus: Corpus) -> list[tuple[Document, ...]]:
        """The cross-validation folds: contiguous chunks of the document list."""
        chunks = np.array_split(np.arange(len(corpus.documents)), self.folds)
        return [tuple(corpus.documents[i] for i in chunk) for chunk in chunks]

    def report_splits(self, corpus: Corpus) -> dict[str, tuple[Document, ...]]:
        """The parts that statistics are reported over."""
        if self.scheme == "cv":
            return {f"fold-{k + 1}": f for k, f in enumerate(self.fold_documents(corpus))}
        self.check_splits(corpus)
        return {name: tuple(corpus.split(name)) for name in ("train", "dev", "test")}

    def check_splits(self, corpus: Corpus) -> None:
        """The fixed scheme needs train, dev and test, and a training split with documents."""
        missing = [s for s in ("train", "dev", "test") if s not in corpus.splits]
        if missing:
            raise UserError(
                f"corpus {corpus.name} has no {'/'.join(missing)} split (it has: {', '.join(corpus.splits) or 'none'}); "
                f"the {self.name} protocol needs train, dev and test: for your own data, give --path a folder with "
                "train.json, dev.json and test.json (a single file is the train split), or use --protocol paper "
                "(5-fold cross-validation over the documents)")
        if not corpus.splits["train"]:
            raise UserError(f"corpus {corpus.name}: the train split has no documents; nothing to train on")

    def partitions(self, corpus: Corpus) -> list[Partition]:
        if self.scheme == "cv":
            folds = self.fold_documents(corpus)
            return [Partition(f"fold-{k + 1}",
                              tuple(d for j, f in enumerate(folds) if j != k for d in f),
                              held, held)
                    for k, held in enumerate(folds)]
        self.check_splits(corpus)
        return [Partition("main", *(tuple(corpus.split(s)) for s in ("train", "dev", "test")))]


PROTOCOLS = {
    "paper": Protocol("paper", POLICIES["paper"], scheme="cv", metric="weighted_f1", papers=True, leaky=True),
    "standard": Protocol("standard", POLICIES["standard"], scheme="fixed", metric="micro_f1"),
    "standard-window": Protocol("standard-window", POLICIES["standard-window"], scheme="fixed",
                                metric="micro_f1"),
    "ordered": Protocol("ordered", POLICIES["ordered"], scheme="fixed", metric="micro_f1"),
}


DEFAULT = "standard"  # every command's default


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UserError(f"unknown protocol {name!r} (known: {', '.join(PROTOCOLS)})") from None
