"""The names experiments give their models ("roles") and the comparisons between them,
in one place: read by the experiments (which run them) and the reports and claims
(which compare them).

- the paper's four ye2019 variants, by the paper's names; Baseline+MTL+Tag is the
  reference the others are tested against;
- the reviewers' controls of the tag claim: random tags, a parameter-matched constant
  tag, untyped tags;
- the baselines, each also with the paper's tags as "NAME+Tag";
- a tuned twin of a model is "NAME (tuned)".
"""
from __future__ import annotations

PAPER_VARIANTS = (
    ("Baseline", "ye2019:tags=none,objective=ranking"),
    ("Baseline+Tag", "ye2019:tags=bio_typed,objective=ranking"),
    ("Baseline+MTL", "ye2019:tags=none,objective=multitask"),
    ("Baseline+MTL+Tag", "ye2019:tags=bio_typed,objective=multitask"),
)
REFERENCE = "Baseline+MTL+Tag"
RANDOM_TAG, CONST_TAG, UNTYPED_TAG = "Baseline+MTL+RandomTag", "Baseline+MTL+ConstTag (param-matched)", \
    "Baseline+MTL+UntypedTag"
CONTROLS = ((RANDOM_TAG, "ye2019:tags=random,objective=multitask"),
            (CONST_TAG, "ye2019:tags=constant,objective=multitask"),
            (UNTYPED_TAG, "ye2019:tags=bio,objective=multitask"))
BASELINES = ("cnn", "pcnn", "cr_cnn", "att_bilstm")
# (tagged, objective) -> the paper's name of that ye2019 variant
PAPER_NAMES = {(False, "ranking"): "Baseline", (True, "ranking"): "Baseline+Tag",
               (False, "multitask"): "Baseline+MTL", (True, "multitask"): "Baseline+MTL+Tag"}
# The ablation's comparisons (A, B): A should beat B.
ABLATION_PAIRS = [
    ("Baseline+Tag", "Baseline"), ("Baseline+MTL+Tag", "Baseline+MTL"), ("Baseline+MTL", "Baseline"),
    (REFERENCE, "Baseline+Tag"),  # MTL with the tags
    (REFERENCE, RANDOM_TAG), (RANDOM_TAG, "Baseline+MTL"), (REFERENCE, CONST_TAG), (REFERENCE, UNTYPED_TAG),
]
TUNED = " (tuned)"


def tagged(baseline: str) -> str:
    """The role of a baseline run with the paper's tags."""
    return f"{baseline}+Tag"


def tuned(role: str) -> str:
    return role + TUNED


def untuned(role: str) -> str:
    return role.removesuffix(TUNED)


def is_tuned(role: str) -> bool:
    return role.endswith(TUNED)
