"""Metrics from per-instance gold and predicted labels (0 = Other, the negative class).

All scores are over the positive labels only, as in RE evaluation:
- micro P/R/F1: counts summed over positive labels (the standard protocol's metric);
- macro F1: the unweighted mean of per-label F1 over the positive labels present in
  the gold labels or the predictions (a label that neither holds is not averaged in
  as 0; scikit-learn's `average="macro"` with `labels` = those present);
- weighted P/R/F1: per-label scores weighted by gold support (scikit-learn's
  `average="weighted"` over the positive labels: the paper's script's metric);
- identification P/R/F1: relation vs Other, whatever the type;
- on SemEval-2010 Task 8, its official score (`semeval_f1`): the task scorer's
  "(9+1)-way evaluation with directionality taken into account", per relation type
  P = right label and direction / predicted as the type (either direction), R = right /
  gold of the type, and the mean of the per-type F1 over the types the gold holds
  (Other excluded). It too is a function of the per-label counts.
Each result carries a signature (`relext_bench/signature.py`, stored in its full form)
naming what was computed, so a number can be told apart from one computed another way.
"""
from __future__ import annotations

import numpy as np

from relext_bench import __version__
from relext_bench.signature import Signature

METRICS = ("micro_f1", "macro_f1", "weighted_f1")


def prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def counts(gold: np.ndarray, pred: np.ndarray, n_labels: int) -> np.ndarray:
    """Per-label [tp, fp, fn] for labels 0..n_labels-1: the sufficient statistics that
    significance tests resample."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    tp = np.bincount(gold[gold == pred], minlength=n_labels)
    fp = np.bincount(pred[gold != pred], minlength=n_labels)
    fn = np.bincount(gold[gold != pred], minlength=n_labels)
    return np.stack([tp, fp, fn], axis=1)[:n_labels].astype(np.int64)


def scores_from_counts(c: np.ndarray) -> dict[str, float]:
    """Micro, macro and support-weighted scores over positive labels (rows 1..)."""
    pos = c[1:]
    micro = prf(*pos.sum(axis=0))
    per = np.array([prf(*row) for row in pos]) if len(pos) else np.zeros((0, 3))
    support = pos[:, 0] + pos[:, 2]
    weights = support / support.sum() if support.sum() else np.zeros(len(pos))
    weighted = per.T @ weights if len(pos) else np.zeros(3)
    present = pos.sum(axis=1) > 0  # in gold or predicted: tp + fp + fn > 0
    return {
        "micro_p": micro[0], "micro_r": micro[1], "micro_f1": micro[2],
        "macro_f1": float(per[present, 2].mean()) if present.any() else 0.0,
        "weighted_p": float(weighted[0]), "weighted_r": float(weighted[1]),
        "weighted_f1": float(weighted[2]),
    }


def relation_type(label: str) -> str:
    """`Cause-Effect(e2,e1)` -> `Cause-Effect` (labels without a direction stay)."""
    return label.split("(", 1)[0]


def semeval_f1_from_counts(c: np.ndarray, label_names: list[str]) -> float:
    """SemEval-2010 Task 8's official score from per-label [tp, fp, fn] rows (row 0 the
    negative class): see the module docstring; what the official scorer computes."""
    types = sorted({relation_type(n) for n in label_names[1:]})
    index = {t: [i for i, n in enumerate(label_names) if i and relation_type(n) == t] for t in types}
    f1s = []
    for t in types:
        rows = c[index[t]]
        right, predicted, gold = rows[:, 0].sum(), (rows[:, 0] + rows[:, 1]).sum(), (rows[:, 0] + rows[:, 2]).sum()
        if gold == 0:  # the scorer averages over the types of the key
            continue
        f1s.append(prf(right, predicted - right, gold - right)[2])
    return float(np.mean(f1s)) if f1s else 0.0


OFFICIAL = {"semeval2010": ("semeval_f1", semeval_f1_from_counts)}  # corpus -> (name, score from counts)


def signature(metric: str, label_names: list[str]) -> Signature:
    return Signature.of(metric=metric, labels=f"{len(label_names) - 1}+{label_names[0]}", negative="excluded",
                        relext_bench=__version__)


def evaluate(gold, pred, label_names: list[str], corpus: str | None = None) -> dict:
    """Every score, the per-label table and the confusion matrix (and the corpus's
    official score, where it has one: `OFFICIAL`)."""
    gold, pred = np.asarray(gold, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    k = len(label_names)
    c = counts(gold, pred, k)
    result = {name: float(v) for name, v in scores_from_counts(c).items()}
    if corpus in OFFICIAL:
        name, score = OFFICIAL[corpus]
        result[name] = score(c, label_names)
    ident = prf(float(((gold > 0) & (pred > 0)).sum()), float(((gold == 0) & (pred > 0)).sum()),
                float(((gold > 0) & (pred == 0)).sum()))
    result.update(identification_p=ident[0], identification_r=ident[1], identification_f1=ident[2])
    result["per_label"] = {
        label_names[i]: dict(zip(("p", "r", "f1"), prf(*c[i])), support=int(c[i, 0] + c[i, 2]))
        for i in range(1, k)}
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (gold, pred), 1)
    result["confusion"] = confusion.tolist()
    result["signature"] = {m: signature(m, label_names).format() for m in METRICS}
    return result
