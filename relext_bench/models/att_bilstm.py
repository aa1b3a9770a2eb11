"""Att-BiLSTM: Zhou et al. 2016 (ACL), "Attention-Based Bidirectional Long Short-Term
Memory Networks for Relation Classification".

A bidirectional LSTM over the embedded tokens; the two directions are summed
(H = forward + backward, as in the paper); word-level attention
alpha = softmax(w^T tanh(H)) over the valid tokens; r = H alpha; h* = tanh(r);
dropout 0.5; a linear layer; softmax cross-entropy.

Deviations: the input carries the shared position (and tag) embeddings where the paper
marks the mentions with position indicators in the text; embeddings trained from random
initialisation (the paper starts from pre-trained vectors); hidden size 100 per
direction.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from relext_bench.models.base import InputConfig, RelationModel


@dataclass(frozen=True)
class AttBiLSTMConfig(InputConfig):
    input_dropout: float = 0.3
    hidden: int = 100
    dropout: float = 0.5


class AttBiLSTM(RelationModel):
    def build_encoder(self, input_width: int) -> int:
        c = self.config
        self.lstm = nn.LSTM(input_width, c.hidden, batch_first=True, bidirectional=True)
        self.attention = nn.Linear(c.hidden, 1, bias=False)
        self.drop = nn.Dropout(c.dropout)
        return c.hidden

    def encode(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        lengths = batch["lengths"].clamp(min=1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        h = out[..., : self.config.hidden] + out[..., self.config.hidden:]  # [B, L, H]
        logits = self.attention(torch.tanh(h)).squeeze(-1).masked_fill(~batch["mask"], float("-inf"))
        alpha = torch.softmax(logits, dim=1)
        r = (h * alpha.unsqueeze(-1)).sum(dim=1)
        return self.drop(torch.tanh(r))


def search_space(trial) -> dict:
    return {"hidden": trial.suggest_categorical("hidden", [50, 100, 200]),
            "dropout": trial.suggest_float("dropout", 0.2, 0.6)}
