"""The leak probe (docs/method.md): under the `paper` policy, negatives are kept only left to
right while positives keep their annotated order, so "mention 1 lies right of mention 2"
occurs only in positives. The probe scores the rule "reversed => relation" as a
relation identifier on an instance set; under the `ordered` policy every pair occurs
in both orders and the rule carries no information, and under the `standard` policy
mention 1 is always the left one, so the rule never fires."""
from __future__ import annotations

import numpy as np

from relext_bench.data.instances import InstanceSet
from relext_bench.metrics import prf


def leak_probe(instances: InstanceSet) -> dict:
    rev = instances.reversed
    pos = instances.labels > 0
    tp, fp, fn = float((rev & pos).sum()), float((rev & ~pos).sum()), float((~rev & pos).sum())
    p, r, f = prf(tp, fp, fn)
    base = float(pos.mean()) if len(pos) else 0.0
    return {
        "rule": "mention 1 right of mention 2 => relation",
        "precision": p, "recall": r, "f1": f,
        "positive_rate": base,
        "reversed_share_of_positives": float(rev[pos].mean()) if pos.any() else 0.0,
        "reversed_share_of_negatives": float(rev[~pos].mean()) if (~pos).any() else 0.0,
        # Precision over the base rate: 1 when the rule is uninformative.
        "lift": p / base if base else 0.0,
        "informative": bool(p > 0 and base and p / base > 1.5 and np.isfinite(p)),
    }
