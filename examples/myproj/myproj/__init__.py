"""An example model plug-in for relext_bench: the two mentions and their sentence,
each mean-pooled over its embedded tokens, then a tanh layer.

    pip install -e examples/myproj
    relext-bench compare --corpus chisiec --models myproj:MyModel,cnn,ye2019 --seeds 3
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from relext_bench.api import InputConfig, RelationModel, masked_mean


@dataclass(frozen=True)
class MyModelConfig(InputConfig):
    word_dim: int = 100  # overrides the input layer's default widths
    position_dim: int = 10
    hidden: int = 128
    dropout: float = 0.3


class MyModel(RelationModel):
    config_class = MyModelConfig
    default_objective = "ce"  # softmax cross-entropy over the labels with Other
    source = "an example plug-in"

    @staticmethod
    def search_space(trial) -> dict:  # for `relext-bench tune --model myproj:MyModel`
        return {"hidden": trial.suggest_categorical("hidden", [64, 128, 256]),
                "dropout": trial.suggest_float("dropout", 0.1, 0.5)}

    def build_encoder(self, input_width: int) -> int:
        self.layer = nn.Linear(3 * input_width, self.config.hidden)
        self.drop = nn.Dropout(self.config.dropout)
        return self.config.hidden  # the width of encode's features

    def encode(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        # x [B, L, D]; the mention spans e1, e2 [B, 2] are (start, end) in the row
        t = torch.arange(x.shape[1], device=x.device)[None, :]  # [1, L]

        def inside(span):  # [B, L]: the span's tokens
            return (t >= span[:, :1]) & (t < span[:, 1:]) & batch["mask"]

        pooled = [masked_mean(x, inside(batch["e1"])), masked_mean(x, inside(batch["e2"])),
                  masked_mean(x, batch["mask"])]  # 3 x [B, D]
        return self.drop(torch.tanh(self.layer(torch.cat(pooled, dim=1))))  # [B, hidden]
