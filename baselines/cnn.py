"""CNN with position embeddings: Zeng et al. 2014 (COLING), "Relation Classification via
Convolutional Deep Neural Network", in the multi-width form of Nguyen & Grishman 2015
(VS@NAACL), "Relation Extraction: Perspective from Convolutional Neural Networks".

Word + two position embeddings; convolutions of widths 2-5 with 150 filters each, tanh,
max pooling over time, dropout 0.5, a linear layer; softmax cross-entropy over the
labels with Other.

Deviations: word embeddings are trained from random initialisation unless
`--embeddings` gives vectors (both papers start from pre-trained ones); widths follow
Nguyen & Grishman; no lexical features (Zeng's WordNet hypernyms).

Zeng et al. 2014's own configuration (their "WF+PF" row, 78.9 on SemEval-2010 Task 8):
`cnn:widths=3,filters=200,hidden=100,word_dim=50,position_dim=5`: one convolution of
width 3, max pooling, then a tanh hidden layer of 100 (`hidden`, 0 = none) before the
classifier.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from relext_bench.api import InputConfig, RelationModel, masked_max, same_conv


@dataclass(frozen=True)
class CNNConfig(InputConfig):
    widths: tuple[int, ...] = (2, 3, 4, 5)
    filters: int = 150
    dropout: float = 0.5
    hidden: int = 0  # a tanh layer of this width after pooling (Zeng et al. 2014: 100); 0: none
    pool_tanh: bool = True  # tanh on the pooled convolutions (Zeng et al. 2014: none, the hidden layer's only)


class CNN(RelationModel):
    config_class = CNNConfig
    default_objective = "ce"
    default_threshold = 0.0
    source = "Zeng et al. 2014; Nguyen & Grishman 2015"

    @staticmethod
    def search_space(trial) -> dict:
        return {"filters": trial.suggest_categorical("filters", [100, 150, 230]),
                "dropout": trial.suggest_float("dropout", 0.2, 0.6)}

    def build_encoder(self, input_width: int) -> int:
        c = self.config
        self.convs = nn.ModuleList(nn.Conv1d(input_width, c.filters, w) for w in c.widths)
        self.drop = nn.Dropout(c.dropout)
        pooled = c.filters * len(c.widths)
        self.hidden = nn.Linear(pooled, c.hidden) if c.hidden else None
        return c.hidden or pooled

    def head(self, feats: list[torch.Tensor]) -> torch.Tensor:
        h = torch.cat(feats, dim=1)  # [B, filters * widths]
        if self.hidden is not None:
            h = torch.tanh(self.hidden(h))  # [B, hidden]
        return self.drop(h)

    def act(self, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h) if self.config.pool_tanh else h

    def encode(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        xt = x.transpose(1, 2)
        return self.head([masked_max(self.act(same_conv(xt, conv)).transpose(1, 2), batch["mask"])
                          for conv in self.convs])

    def encode_shared(self, x, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        # The activation after max pooling: the same value, since tanh (or none) is increasing.
        return self.head([self.act(self.pair_conv(x, conv, batch, "none", "max")) for conv in self.convs])
