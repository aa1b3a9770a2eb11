"""Pure-PyTorch references of the fused ops: the tests' oracle and the fallback."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def ranking_loss_reference(scores: torch.Tensor, labels: torch.Tensor,
                           id_logits: torch.Tensor | None = None, m_pos: float = 2.5,
                           m_neg: float = 0.5, gamma: float = 2.0,
                           id_weight: float = 1.0) -> torch.Tensor:
    """Per-instance CR-CNN ranking loss (labels: class index, -1 for the negative class),
    plus id_weight x the identification cross-entropy when id_logits are given."""
    B, C = scores.shape
    positive = labels >= 0
    y = labels.clamp(min=0)
    s_y = scores.gather(1, y[:, None]).squeeze(1)
    # Competitor: the best class other than the gold one (ties: lowest index); for a
    # negative instance, the best class overall.
    exclude = F.one_hot(y, C).bool() & positive[:, None]
    masked = scores.masked_fill(exclude, float("-inf"))
    c = masked.argmax(dim=1)
    s_c = scores.gather(1, c[:, None]).squeeze(1)
    has_competitor = ~positive | torch.tensor(C > 1, device=scores.device)
    loss = torch.where(positive, F.softplus(gamma * (m_pos - s_y)), torch.zeros_like(s_y))
    loss = loss + torch.where(has_competitor, F.softplus(gamma * (m_neg + s_c)), torch.zeros_like(s_c))
    # NaN anywhere in a row makes the row NaN (argmax alone would hide it).
    loss = loss + scores.sum(dim=1) * 0
    if id_logits is not None:
        loss = loss + id_weight * F.cross_entropy(id_logits, positive.long(), reduction="none")
    return loss


def embed_concat_reference(word_table: torch.Tensor, pos_table: torch.Tensor,
                           pos2_table: torch.Tensor | None, tag_table: torch.Tensor | None,
                           words: torch.Tensor, pos1: torch.Tensor, pos2: torch.Tensor,
                           tags: torch.Tensor | None, padding_idx: int = 0) -> torch.Tensor:
    """[B, L, Dw + Dp + Dp2 + Dt]: the rows of each table, concatenated. A padding index
    gives a zero row (whatever the table holds there) and no gradient."""
    streams = [(word_table, words), (pos_table, pos1),
               (pos_table if pos2_table is None else pos2_table, pos2)]
    if tag_table is not None:
        streams.append((tag_table, tags))
    parts = []
    for table, index in streams:
        rows = F.embedding(index, table, padding_idx=padding_idx)
        parts.append(torch.where((index != padding_idx).unsqueeze(-1), rows, torch.zeros((), dtype=rows.dtype)))
    return torch.cat(parts, dim=-1)
