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


ACTIVATIONS = ("none", "relu", "tanh")
POOLS = ("max", "mean", "max_mean", "piecewise")


def pair_conv_pool_reference(rows: torch.Tensor, group: torch.Tensor, pos1: torch.Tensor, pos2: torch.Tensor,
                             table1: torch.Tensor, table2: torch.Tensor, lengths: torch.Tensor,
                             cuts: torch.Tensor | None, pad_left: int, activation: str, pool: str) -> torch.Tensor:
    """Sentence-shared convolution per pair, in plain PyTorch (`relext::pair_conv_pool`).

    rows [G, L, F]: the sentence (or window) terms of a 'same' convolution, bias included;
    group [B]: each pair's row group; pos1, pos2 [B, L]: position indices, 0 = padding;
    table1, table2 [Gt, K, P, F]: tap j's position rows (Gt = 1, or one per group);
    lengths [B]: valid tokens; cuts [B, 2]: PCNN's piece boundaries (piecewise only).
    Returns the pooled features [B, Q * F]: max, mean, max|mean or three pieces."""
    G, L, F = rows.shape
    Gt, K, P, _ = table1.shape
    tg = group if Gt > 1 else torch.zeros_like(group)
    h = rows[group]  # [B, L, F]
    for table, pos in ((table1, pos1), (table2, pos2)):
        flat = table.reshape(Gt * K * P, F)
        for j in range(K):
            shift = j - pad_left  # output token t reads input token t + shift
            idx = torch.zeros_like(pos)
            lo, hi = max(0, -shift), min(L, L - shift)
            if hi > lo:
                idx[:, lo:hi] = pos[:, lo + shift:hi + shift]
            term = flat[(tg[:, None] * K + j) * P + idx]  # [B, L, F]
            h = h + torch.where((idx != 0).unsqueeze(-1), term, torch.zeros((), dtype=term.dtype))
    h = {"none": h, "relu": torch.relu(h), "tanh": torch.tanh(h)}[activation]
    t = torch.arange(L, device=rows.device)[None, :]
    valid = t < lengths[:, None]

    def masked_max(mask):
        return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)

    def masked_mean(mask):
        m = mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)

    if pool == "max":
        return masked_max(valid)
    if pool == "mean":
        return masked_mean(valid)
    if pool == "max_mean":
        return torch.cat([masked_max(valid), masked_mean(valid)], dim=1)
    if pool != "piecewise":
        raise ValueError(f"unknown pooling {pool!r} (one of {', '.join(POOLS)})")
    c1, c2 = cuts[:, :1], cuts[:, 1:]
    pieces = []
    for piece in (valid & (t < c1), valid & (t >= c1) & (t < c2), valid & (t >= c2)):
        m = masked_max(piece)
        pieces.append(torch.where(piece.any(dim=1, keepdim=True), m, torch.zeros_like(m)))
    return torch.cat(pieces, dim=1)
