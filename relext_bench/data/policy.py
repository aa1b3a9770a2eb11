"""What turns sentences into a task: a frozen, hashable `Policy` names every choice
(which pairs, direction and symmetric types in the label, window, positions, tag
scheme), and its digest goes into every record. `POLICIES` holds the named ones; the
label and tag vocabularies follow from a policy.

Pairs and labels (docs/method.md, "Protocols"):
- `standard`: each unordered pair of mentions once, left to right, labelled with the
  type and the direction of the relation relative to text order, T(e1,e2) when Arg-1 is
  the left mention, T(e2,e1) when it is the right one; a type that the corpus's schema
  declares symmetric gets one undirected label T. So r types of which s are symmetric
  give 2r - s + 1 labels, each gold relation is exactly one positive instance, and an
  instance is right when both arguments, the type and the direction are: relation-level
  scoring.
- `ordered`: every ordered pair, direction in the label; each relation yields two
  positives, (a, b) as T(e1,e2) and (b, a) as T(e2,e1).
- `paper`: the released script's pairs: positives in annotated order, negatives left to
  right, no direction (the label leak).

Tags: ids 0 = padding, 1 = O, then B-X, I-X for each tag class X. `random` tags use the
`bio_typed` vocabulary with each token's tag drawn uniformly (seeded per sentence);
`constant` tags use it with every token O: the parameter-matched control.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

OTHER = "Other"
TAG_SCHEMES = ("none", "bio", "bio_typed", "random", "constant")
PAIRINGS = ("ordered", "left_to_right", "annotated")


@dataclass(frozen=True)
class Policy:
    """How sentences become instances. Frozen; `digest()` identifies it in records."""

    name: str = "standard"
    # ordered: every ordered pair; left_to_right: each unordered pair once, positives in
    # text order; annotated: negatives left to right, positives in annotated order (the paper's leak)
    pairs: Literal["ordered", "left_to_right", "annotated"] = "left_to_right"
    direction: bool = True  # direction in the label: T(e1,e2) vs T(e2,e1)
    symmetric: bool = True  # the schema's symmetric types get one undirected label
    window: int | None = None  # None: the whole sentence; else tokens from the leftmost mention
    max_distance: int = 50
    tags: Literal["none", "bio", "bio_typed", "random", "constant"] = "bio_typed"
    tag_detail: Literal["type", "subtype"] = "type"
    mention_span: Literal["head", "extent"] = "head"
    label_level: Literal["type", "subtype"] = "type"
    tag_seed: int = 0

    def __post_init__(self) -> None:
        if self.tags not in TAG_SCHEMES:
            raise ValueError(f"unknown tag scheme {self.tags!r} (one of {', '.join(TAG_SCHEMES)})")
        if self.pairs not in PAIRINGS:
            raise ValueError(f"unknown pairing {self.pairs!r}")
        if self.window is not None and self.window < 1:
            raise ValueError("window must be positive or None")

    def replace(self, **changes) -> Policy:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def undirected(self, symmetric_types: Iterable[str]) -> tuple[str, ...]:
        """The schema's symmetric types that this policy labels without a direction:
        all of them where it keeps directions and symmetric types apart, else none."""
        return tuple(symmetric_types) if self.symmetric and self.direction else ()

    def digest(self) -> str:
        """Stable across processes and versions of Python (unlike hash())."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


POLICIES = {
    # The released script's protocol (docs/method.md), label leak included.
    "paper": Policy(name="paper", pairs="annotated", direction=False, symmetric=False, window=16,
                    max_distance=8, tags="bio_typed"),
    # Each unordered pair once, left to right, the whole sentence; type and direction
    # relative to text order in the label, symmetric types undirected.
    "standard": Policy(name="standard", pairs="left_to_right", direction=True, symmetric=True,
                       window=None, max_distance=50, tags="bio_typed"),
    # The standard policy with the paper's 16-token window from the leftmost mention.
    "standard-window": Policy(name="standard-window", pairs="left_to_right", direction=True,
                              symmetric=True, window=16, max_distance=50, tags="bio_typed"),
    # Every ordered pair, direction in the label: each relation counted twice.
    "ordered": Policy(name="ordered", pairs="ordered", direction=True, symmetric=False, window=None,
                      max_distance=50, tags="bio_typed"),
}


def is_symmetric(label: str, symmetric_types: Iterable[str]) -> bool:
    """A relation label (a type, or type.subtype) whose type or subtype is declared symmetric."""
    sym = set(symmetric_types)
    return label in sym or label.split(".")[0] in sym


def label_names(relation_types: Sequence[str], policy: Policy,
                symmetric_types: Iterable[str] = ()) -> list[str]:
    """Other first (index 0), then the positive labels in schema order."""
    sym = policy.undirected(symmetric_types)
    names = [OTHER]
    for t in relation_types:
        directed = policy.direction and not is_symmetric(t, sym)
        names.extend([f"{t}(e1,e2)", f"{t}(e2,e1)"] if directed else [t])
    return names


def tag_classes(entity_labels: Iterable[str], policy: Policy) -> list[str]:
    if policy.tags == "bio":
        return [""]
    return sorted(set(entity_labels))


def tag_vocabulary(entity_labels: Iterable[str], policy: Policy) -> list[str]:
    """Tag names by id: <pad>, O, then B-X, I-X (X empty for untyped tags)."""
    names = ["<pad>", "O"]
    for x in tag_classes(entity_labels, policy):
        names.extend([f"B-{x}" if x else "B", f"I-{x}" if x else "I"])
    return names
