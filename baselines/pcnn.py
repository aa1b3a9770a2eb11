"""PCNN: Zeng et al. 2015 (EMNLP), "Distant Supervision for Relation Extraction via
Piecewise Convolutional Neural Networks".

Word + two position embeddings; one convolution of width 3 with 230 filters; max
pooling over each of the three segments that the two mentions cut the sentence into
(up to the end of the first mention, up to the end of the second, the rest), tanh,
dropout 0.5, a linear layer; softmax cross-entropy.

Deviations: sentence-level supervision (no multi-instance bags, as in ACE); word
embeddings trained from random initialisation (the paper starts from word2vec);
an empty segment (a mention at the window's edge) pools to zero.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from relext_bench.api import InputConfig, RelationModel, same_conv


@dataclass(frozen=True)
class PCNNConfig(InputConfig):
    width: int = 3
    filters: int = 230
    dropout: float = 0.5


class PCNN(RelationModel):
    config_class = PCNNConfig
    default_objective = "ce"
    default_threshold = 0.0
    source = "Zeng et al. 2015"

    @staticmethod
    def search_space(trial) -> dict:
        return {"filters": trial.suggest_categorical("filters", [115, 230, 460]),
                "dropout": trial.suggest_float("dropout", 0.2, 0.6)}

    def build_encoder(self, input_width: int) -> int:
        c = self.config
        self.conv = nn.Conv1d(input_width, c.filters, c.width)
        self.drop = nn.Dropout(c.dropout)
        return 3 * c.filters

    def encode(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        h = same_conv(x.transpose(1, 2), self.conv).transpose(1, 2)  # [B, L, F]
        L = h.shape[1]
        first, second = cuts(batch).unbind(dim=1)
        t = torch.arange(L, device=h.device)[None, :]
        mask = batch["mask"]
        pieces = [mask & (t < first[:, None]), mask & (t >= first[:, None]) & (t < second[:, None]),
                  mask & (t >= second[:, None])]
        pooled = []
        for piece in pieces:
            m = h.masked_fill(~piece.unsqueeze(-1), float("-inf")).amax(dim=1)
            pooled.append(torch.where(piece.any(dim=1, keepdim=True), m, torch.zeros_like(m)))
        return self.drop(torch.tanh(torch.cat(pooled, dim=1)))

    def encode_shared(self, x, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.drop(torch.tanh(self.pair_conv(x, self.conv, batch, "none", "piecewise", cuts(batch))))


def cuts(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """[B, 2]: where the pieces end: the end of the first mention, of the second."""
    ends = torch.stack([batch["e1"][:, 1], batch["e2"][:, 1]], dim=1)
    return torch.stack([ends.min(dim=1).values, ends.max(dim=1).values], dim=1)
