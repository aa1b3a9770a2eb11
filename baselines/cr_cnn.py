"""CR-CNN: dos Santos, Xiang & Zhou 2015 (ACL), "Classifying Relations by Ranking with
Convolutional Neural Networks".

Word + two position embeddings; one convolution of width 3 with 1000 filters, max
pooling over time, tanh; scores are dot products with class embeddings (no bias), one
per positive class; Other has no score. Pairwise ranking loss (m+ 2.5, m- 0.5, gamma 2);
prediction: Other when every score is below 0 (the paper's rule).

`span=between` reads only the words from the first nominal to the second, as the
paper's words-only configuration does (82.8 on SemEval-2010 Task 8 without position
features): the other words are zeroed before the convolution, so a window at the
span's edge sees zero padding as it would past a cropped input, and the max pools over
the span only. It needs `encoder=dense`: the shared encoder convolves whole sentences.

Deviations: word embeddings 200-d trained from random initialisation (the paper uses
400-d word2vec) and position embeddings 50-d (70-d in the paper); the paper's
L2 regularisation is left to the optimiser's weight decay.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from relext_bench.api import InputConfig, RelationModel, UserError, masked_max, same_conv


@dataclass(frozen=True)
class CRCNNConfig(InputConfig):
    width: int = 3
    filters: int = 1000
    head_bias: bool = False  # class embeddings: scores are plain dot products
    span: str = "sentence"  # sentence | between: the words from the first nominal to the second only

    def __post_init__(self):
        if self.span not in ("sentence", "between"):
            raise UserError(f"model cr_cnn: span must be sentence or between, not {self.span!r}")


class CRCNN(RelationModel):
    config_class = CRCNNConfig
    default_objective = "ranking"
    default_threshold = 0.0
    source = "dos Santos et al. 2015"

    @staticmethod
    def search_space(trial) -> dict:
        return {"filters": trial.suggest_categorical("filters", [250, 500, 1000])}

    def build_encoder(self, input_width: int) -> int:
        if self.config.span == "between" and self.spec.encoder == "shared":
            raise UserError("model cr_cnn: span=between reads only the words between the nominals, and the "
                            "shared encoder convolves whole sentences: add encoder=dense")
        self.conv = nn.Conv1d(input_width, self.config.filters, self.config.width)
        return self.config.filters

    def encode(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        mask = batch["mask"]  # [B, L]
        if self.config.span == "between":
            at = torch.arange(mask.shape[1], device=mask.device)[None, :]
            first = torch.minimum(batch["e1"][:, 0], batch["e2"][:, 0])[:, None]
            last = torch.maximum(batch["e1"][:, 1], batch["e2"][:, 1])[:, None]  # exclusive
            mask = mask & (at >= first) & (at < last)
            x = x * mask.unsqueeze(-1)  # [B, L, D]: as if cropped to the span
        h = same_conv(x.transpose(1, 2), self.conv).transpose(1, 2)
        return torch.tanh(masked_max(h, mask))

    def encode_shared(self, x, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.tanh(self.pair_conv(x, self.conv, batch, "none", "max"))
