"""Objectives and prediction rules, shared by every model.

Labels: 0 = Other, 1..C = the positive labels.
- `ce`: C+1 scores, Other included, cross-entropy; prediction: argmax.
- `ranking`: C scores, Other has none; the CR-CNN ranking loss (fused op); prediction:
  Other when every score is below the threshold (0.5 in the paper's script, 0 in CR-CNN),
  else the best class.
- `ranking_other`: the ranking loss with Other as one more class (C+1 scores, a class
  vector for Other); prediction: argmax. dos Santos et al. (2015) compare it with
  omitting Other (`ranking`), which they found better.
- `multitask`: the ranking head plus a relation-identification head (2 logits), losses
  weighted 1:1 in one fused op; prediction by the `paper` rule (classification head
  only, as the script does) or the `gated` rule (the identification head decides
  relation vs Other, the ranking head the type).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from relext_bench.kernels import ranking_loss
from relext_bench.specs import OBJECTIVES

ARGMAX = ("ce", "ranking_other")  # objectives whose scores include Other: prediction is the argmax
PREDICT_RULES = ("paper", "gated")


def head_sizes(objective: str, n_positive: int) -> tuple[int, int]:
    """(classification scores, identification logits) a model's heads must produce."""
    if objective in ARGMAX:
        return n_positive + 1, 0
    if objective == "ranking":
        return n_positive, 0
    if objective == "multitask":
        return n_positive, 2
    raise ValueError(f"unknown objective {objective!r} (one of {', '.join(OBJECTIVES)})")


def loss(objective: str, scores: torch.Tensor, id_logits: torch.Tensor | None, labels: torch.Tensor,
         margins: tuple[float, float, float] = (2.5, 0.5, 2.0), id_weight: float = 1.0) -> torch.Tensor:
    if objective == "ce":
        return F.cross_entropy(scores, labels)
    m_pos, m_neg, gamma = margins
    if objective == "ranking_other":  # Other is class 0 among the scores
        return ranking_loss(scores, labels, None, m_pos=m_pos, m_neg=m_neg, gamma=gamma)
    return ranking_loss(scores, labels - 1, id_logits if objective == "multitask" else None,
                        m_pos=m_pos, m_neg=m_neg, gamma=gamma, id_weight=id_weight)


def predict(objective: str, scores: torch.Tensor, id_logits: torch.Tensor | None,
            threshold: float = 0.5, rule: str = "paper") -> torch.Tensor:
    if objective in ARGMAX:
        return scores.argmax(dim=1)
    best, k = scores.max(dim=1)
    if objective == "multitask" and rule == "gated":
        is_relation = id_logits.argmax(dim=1) == 1
    else:
        is_relation = best >= threshold
    return torch.where(is_relation, k + 1, torch.zeros_like(k))
