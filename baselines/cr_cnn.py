"""CR-CNN: dos Santos, Xiang & Zhou 2015 (ACL), "Classifying Relations by Ranking with
Convolutional Neural Networks".

Word + two position embeddings; one convolution of width 3 with 1000 filters, max
pooling over time, tanh; scores are dot products with class embeddings (no bias), one
per positive class; Other has no score. Pairwise ranking loss (m+ 2.5, m- 0.5, gamma 2);
prediction: Other when every score is below 0 (the paper's rule).

Deviations: word embeddings 200-d trained from random initialisation (the paper uses
400-d word2vec) and position embeddings 50-d (70-d in the paper); the paper's
L2 regularisation is left to the optimiser's weight decay.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from relext_bench.api import InputConfig, RelationModel, masked_max, same_conv


@dataclass(frozen=True)
class CRCNNConfig(InputConfig):
    width: int = 3
    filters: int = 1000
    head_bias: bool = False  # class embeddings: scores are plain dot products


class CRCNN(RelationModel):
    config_class = CRCNNConfig
    default_objective = "ranking"
    default_threshold = 0.0
    source = "dos Santos et al. 2015"

    @staticmethod
    def search_space(trial) -> dict:
        return {"filters": trial.suggest_categorical("filters", [250, 500, 1000])}

    def build_encoder(self, input_width: int) -> int:
        self.conv = nn.Conv1d(input_width, self.config.filters, self.config.width)
        return self.config.filters

    def encode(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        h = same_conv(x.transpose(1, 2), self.conv).transpose(1, 2)
        return torch.tanh(masked_max(h, batch["mask"]))

    def encode_shared(self, x, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.tanh(self.pair_conv(x, self.conv, batch, "none", "max"))
