"""Att-BiLSTM: Zhou et al. 2016 (ACL), "Attention-Based Bidirectional Long Short-Term
Memory Networks for Relation Classification".

A bidirectional LSTM over the embedded tokens; the two directions are summed
(H = forward + backward, as in the paper); word-level attention
alpha = softmax(w^T tanh(H)) over the valid tokens; r = H alpha; h* = tanh(r);
dropout 0.5; a linear layer; softmax cross-entropy.

Deviations: the input carries the shared position (and tag) embeddings where the paper
marks the mentions with position indicators in the text; embeddings trained from random
initialisation unless `--embeddings` gives vectors (the paper starts from pre-trained
ones); hidden size 100 per direction.

The paper's own input: `att_bilstm:markers=true,position_dim=0`. `markers` inserts a
learned vector before and after each mention (the paper's position indicators `<e1>`,
`</e1>`, `<e2>`, `</e2>`, as four tokens of the input width), and `position_dim=0` drops
the position embeddings.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from relext_bench.api import InputConfig, RelationModel


@dataclass(frozen=True)
class AttBiLSTMConfig(InputConfig):
    input_dropout: float = 0.3
    hidden: int = 100
    dropout: float = 0.5
    markers: bool = False  # position indicators: a learned vector before and after each mention


class AttBiLSTM(RelationModel):
    config_class = AttBiLSTMConfig
    default_objective = "ce"
    default_threshold = 0.0
    source = "Zhou et al. 2016"

    @staticmethod
    def search_space(trial) -> dict:
        return {"hidden": trial.suggest_categorical("hidden", [50, 100, 200]),
                "dropout": trial.suggest_float("dropout", 0.2, 0.6)}

    def build_encoder(self, input_width: int) -> int:
        c = self.config
        self.lstm = nn.LSTM(input_width, c.hidden, batch_first=True, bidirectional=True)
        self.attention = nn.Linear(c.hidden, 1, bias=False)
        self.drop = nn.Dropout(c.dropout)
        self.marker_vectors = None
        if c.markers:  # <e1>, </e1>, <e2>, </e2>
            self.marker_vectors = nn.Parameter(torch.empty(4, input_width).uniform_(-0.05, 0.05))
        return c.hidden

    def with_markers(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, L, D] with the four marker vectors inserted at the mentions' edges:
        [B, L + 4, D], and the new lengths [B]."""
        B, L, D = x.shape
        # Where each marker goes: before token `point` (`</e1>` before the token after e1).
        points = torch.stack([batch["e1"][:, 0], batch["e1"][:, 1], batch["e2"][:, 0], batch["e2"][:, 1]], 1)
        closing = torch.tensor([1, 0, 1, 0], device=x.device)  # at one point, a closing marker comes first
        order = (points * 2 + closing).argsort(dim=1)  # [B, 4]: the markers in text order
        at = points.gather(1, order)  # [B, 4]
        t = torch.arange(L, device=x.device)
        shift = (t[None, :, None] >= at[:, None, :]).sum(-1)  # [B, L]: markers before each token
        out = x.new_zeros(B, L + 4, D).scatter(1, (t + shift).unsqueeze(-1).expand(B, L, D), x)
        slots = (at + torch.arange(4, device=x.device)).unsqueeze(-1).expand(B, 4, D)
        return out.scatter(1, slots, self.marker_vectors[order]), batch["lengths"] + 4

    def encode(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        lengths, mask = batch["lengths"], batch["mask"]
        if self.marker_vectors is not None:
            x, lengths = self.with_markers(x, batch)
            mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
        packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        h = out[..., : self.config.hidden] + out[..., self.config.hidden:]  # [B, L, H]
        logits = self.attention(torch.tanh(h)).squeeze(-1).masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(logits, dim=1)
        r = (h * alpha.unsqueeze(-1)).sum(dim=1)
        return self.drop(torch.tanh(r))
