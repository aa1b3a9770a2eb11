"""Protocols bundle an instance policy, a split scheme and the headline metric.

- `paper`: the released script's protocol (docs/method.md): 5-fold cross-validation by
  document in list order, the held-out fold used both for early stopping and for
  scoring, support-weighted F1 over positive types. Its policy leaks the label.
- `standard`: the corpus's fixed train/dev/test split, every ordered pair with
  direction in the label, whole sentence, selection on dev, micro-F1 over positives.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relext_bench.data.instances import POLICIES, Policy
from relext_bench.data.model import Corpus, Document
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
    metric: str  # "micro_f1" or "weighted_f1"
    folds: int = 5

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
    "paper": Protocol("paper", POLICIES["paper"], scheme="cv", metric="weighted_f1"),
    "standard": Protocol("standard", POLICIES["standard"], scheme="fixed", metric="micro_f1"),
}


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UserError(f"unknown protocol {name!r} (known: {', '.join(PROTOCOLS)})") from None
