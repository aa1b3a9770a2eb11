"""The model interface (published as `relext_bench.api`, where docs/models.md describes
it): a resolved spec (`models/spec.py`) and the vocabulary sizes build a
`RelationModel` (`models/registry.py` finds the class by name); `forward(batch)`
returns class scores (and, for the multi-task objective, identification logits);
`predict` maps them to labels.

Every model shares the input layer (word, two position and tag embeddings in one fused
lookup, spatial dropout) and the heads; a model only defines `encode`, which turns the
embedded tokens into one feature vector per instance.

Encoders. `dense` embeds every pair's tokens and convolves them, pair by pair.
`shared` (the convolution models' default) uses that a convolution is linear in its
input channels: the word and tag terms depend only on the sentence, so they are
convolved once per sentence (per window under a windowed policy) and shared by all its
pairs; the position terms are lookups in small per-tap tables T_j = P . W_j^position;
`relext::pair_conv_pool` adds them up per pair, applies the activation and pools
(`pair_conv`). With the same weights in eval mode both encoders compute the same
features. In training the one difference is spatial input dropout: `shared` draws one
channel mask per row group (sentence or window) and batch, shared by its pairs;
`dense` draws one per pair.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import torch
from torch import nn

from relext_bench.errors import UserError, clip
from relext_bench.kernels import embed_concat, pair_conv_pool
from relext_bench.models import objectives

INTERFACE_VERSION = 1  # relext_bench.api's: what a model receives, declares and returns


class Spec(Protocol):
    """What a model reads of its resolved spec (`models/spec.py: ModelSpec`)."""

    name: str
    tags: str  # none, bio, bio_typed, random or constant
    objective: str  # ce, ranking, multitask or ranking_other
    predict_rule: str
    threshold: float
    encoder: str  # shared or dense
    params: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class InputConfig:
    """The input layer's widths, shared by every model's config (which extends it)."""

    word_dim: int = 200
    position_dim: int = 50
    tag_dim: int = 50
    input_dropout: float = 0.0


@dataclass(frozen=True)
class Sizes:
    words: int
    positions: int
    tags: int
    labels: int  # including Other




class Output(NamedTuple):
    scores: torch.Tensor  # [B, K]: K = C + 1 for `ce`, C otherwise
    id_logits: torch.Tensor | None  # [B, 2] for `multitask`


class RelationModel(nn.Module):
    """Base of every model: input layer, `encode` (the model's own), heads.

    A model class declares `config_class` (its config dataclass, extending
    `InputConfig`), and may declare `default_objective`, `default_threshold`, `source`
    and `search_space(trial) -> dict` (Optuna); it has the `shared` encoder when it
    defines `encode_shared`."""

    interface: int = INTERFACE_VERSION  # the version of relext_bench.api a model is written for
    default_objective: str = "ce"
    default_threshold: float = 0.0  # the ranking threshold, for the ranking and multitask objectives
    source: str = ""  # where the model comes from (a paper)
    search_space: Callable | None = None  # trial -> hyper-parameters

    def __init__(self, spec: Spec, sizes: Sizes, config: InputConfig) -> None:
        super().__init__()
        self.spec = spec
        self.config = config
        self.sizes = sizes
        self.word_dim = config.word_dim
        self.position_dim = config.position_dim
        self.tag_dim = config.tag_dim if self.spec.tags != "none" else 0
        self.input_dropout = config.input_dropout
        self.words = nn.Parameter(torch.empty(sizes.words, self.word_dim))
        self.positions = nn.Parameter(torch.empty(sizes.positions, self.position_dim))
        self.tag_table = nn.Parameter(torch.empty(sizes.tags, self.tag_dim)) if self.tag_dim else None
        for p in (self.words, self.positions, self.tag_table):
            if p is not None:
                nn.init.uniform_(p, -0.05, 0.05)
        n_scores, n_id = objectives.head_sizes(self.spec.objective, sizes.labels - 1)
        features = self.build_encoder(self.word_dim + 2 * self.position_dim + self.tag_dim)
        self.features = features
        self.classifier = nn.Linear(features, n_scores, bias=getattr(config, "head_bias", True))
        self.identifier = nn.Linear(features, n_id) if n_id else None

    @property
    def input_width(self) -> int:
        return self.word_dim + 2 * self.position_dim + self.tag_dim

    @property
    def batches_by_sentence(self) -> bool:
        """Whether the model wants sentence-grouped batches (the shared encoder reads
        each sentence once for all its pairs) rather than length-bucketed ones."""
        return self.spec.encoder == "shared"

    # ---- what a model defines ---------------------------------------------------
    def build_encoder(self, input_width: int) -> int:
        """Creates the model's layers; returns the width of its feature vector."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """x [B, L, input_width] -> features [B, F]. batch has `mask` [B, L] (bool),
        `lengths`, and the mention spans `e1`, `e2` [B, 2] relative to the window."""
        raise NotImplementedError

    def encode_shared(self, x: SharedInput, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The `shared` encoder (models whose entry says `shared=True`): the same
        features as `encode`, from `pair_conv` over each of the model's convolutions."""
        raise NotImplementedError

    # ---- shared -------------------------------------------------------------------
    def embed(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = embed_concat(self.words, self.positions, batch["tokens"], batch["pos1"], batch["pos2"],
                         self.tag_table, batch["tags"] if self.tag_table is not None else None)
        if self.training and self.input_dropout > 0:
            # Spatial (channel) dropout: one mask per instance and channel, as Keras's
            # SpatialDropout1D on each stream.
            keep = torch.empty(x.shape[0], 1, x.shape[2], device=x.device).bernoulli_(1 - self.input_dropout)
            x = x * keep / (1 - self.input_dropout)
        return x

    def shared_input(self, batch: dict[str, torch.Tensor]) -> SharedInput:
        """The input of the `shared` encoder: word and tag channels of each row group
        (batch `group_tokens`, `group_tags` [G, L]) and the position table as each
        position stream sees it (padding row zero, as `embed_concat` gives)."""
        tokens = batch["group_tokens"]
        parts = [nn.functional.embedding(tokens, self.words) * (tokens != 0).unsqueeze(-1)]
        if self.tag_table is not None:
            tags = batch["group_tags"]
            parts.append(nn.functional.embedding(tags, self.tag_table) * (tags != 0).unsqueeze(-1))
        x = torch.cat(parts, dim=-1)  # [G, L, Dw + Dt]
        rows = torch.arange(self.positions.shape[0], device=x.device)
        table = (self.positions * (rows != 0).unsqueeze(-1)).unsqueeze(0)  # [1, P, Dp]
        p1 = p2 = table
        if self.training and self.input_dropout > 0:
            # One channel mask per row group, shared by its pairs (the dense path: per pair).
            keep = torch.empty(x.shape[0], 1, self.input_width, device=x.device).bernoulli_(1 - self.input_dropout)
            keep = keep / (1 - self.input_dropout)
            dw, dp = self.word_dim, self.position_dim
            x = x * torch.cat([keep[..., :dw], keep[..., dw + 2 * dp:]], dim=-1)
            p1, p2 = table * keep[..., dw:dw + dp], table * keep[..., dw + dp:dw + 2 * dp]  # [G, P, Dp]
        return SharedInput(x.transpose(1, 2), p1, p2)

    def pair_conv(self, x: SharedInput, conv: nn.Conv1d, batch: dict[str, torch.Tensor], activation: str,
                  pool: str, cuts: torch.Tensor | None = None) -> torch.Tensor:
        """`activation(same_conv(embedded pair))` pooled, computed the shared way:
        [B, Q * F] (Q = 2 for max_mean, 3 for piecewise, else 1)."""
        return shared_conv(x, conv, self.word_dim, self.position_dim, batch, activation, pool, cuts)

    def forward(self, batch: dict[str, torch.Tensor]) -> Output:
        if self.spec.encoder == "shared":
            features = self.encode_shared(self.shared_input(batch), batch)
        else:
            features = self.encode(self.embed(batch), batch)
        return Output(self.classifier(features), self.identifier(features) if self.identifier is not None else None)

    def loss(self, out: Output, labels: torch.Tensor) -> torch.Tensor:
        return objectives.loss(self.spec.objective, out.scores, out.id_logits, labels)

    def predict(self, out: Output) -> torch.Tensor:
        return objectives.predict(self.spec.objective, out.scores, out.id_logits,
                                  self.spec.threshold, self.spec.predict_rule)


class SharedInput(NamedTuple):
    rows: torch.Tensor  # [G, Dw + Dt, L]: word and tag channels per row group, channels first
    pos1: torch.Tensor  # [Gt, P, Dp]: the position table as the position-1 channels see it
    pos2: torch.Tensor  # [Gt, P, Dp]: Gt is 1, or G under input dropout (one mask per group)


def shared_conv(x: SharedInput, conv: nn.Conv1d, word_dim: int, position_dim: int, batch: dict[str, torch.Tensor],
                activation: str, pool: str, cuts: torch.Tensor | None = None, op: Callable = pair_conv_pool):
    """One convolution of the shared encoder: the word and tag channels of the weight
    convolve each row group once ('same' padding, bias included), the position
    channels become per-tap tables T_j = P . W_j, and `op` (relext::pair_conv_pool or
    its reference) adds them up per pair, activates and pools: [B, Q * F]."""
    w = conv.weight  # [F, input_width, K]: channels word | pos1 | pos2 | tag
    dw, dp, k = word_dim, position_dim, w.shape[2]
    w_rows = torch.cat([w[:, :dw], w[:, dw + 2 * dp:]], dim=1)  # [F, C, K]
    rows = rows_conv(x.rows, w_rows, conv.bias)  # [G, L, F]
    t1 = torch.einsum("gpd,fdk->gkpf", x.pos1, w[:, dw:dw + dp])  # [Gt, K, P, F]
    t2 = torch.einsum("gpd,fdk->gkpf", x.pos2, w[:, dw + dp:dw + 2 * dp])
    return op(rows, batch["group"], batch["pos1"], batch["pos2"], t1.contiguous(), t2.contiguous(),
              batch["lengths"], cuts, (k - 1) // 2, activation, pool)


def rows_conv(x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The 'same' convolution of every row group's channels [G, C, L] with w [F, C, K]:
    [G, L, F], the layout the pair op reads, as matrix products over every token of
    the batch at once (they parallelise better than a library convolution this small).

    Two ways to the same sum, by the bank's width (measured side by side, whole
    training steps on SanWen at one thread): with no more filters than twice the input
    channels (ye2019's 64 of 250, the CNN's 150 of 200, PCNN's 230 of 200), the groups,
    each padded, lie end to end as one [G * (L + K - 1), C] matrix and tap j's weights
    multiply its rows from j on, one product per tap accumulated: row r of the sum is
    the output at position r of that sequence (1.37x, 1.13x and 1.10x faster steps than
    im2col, which copies every window and scatter-adds them back in the backward pass).
    For a wider bank (CR-CNN's 1000 filters) those per-tap sums cost more than the
    copies (0.9x), and one im2col product is kept. The two differ only in rounding
    (eval-mode scores within 3e-8); trained, ye2019 learns the same: 57.18 ± 4.24
    against im2col's 56.93 ± 4.06 weighted F1 (synth_zh, paper protocol, 5 folds x 3
    seeds; Welch p 0.87; reports/results/synth_zh-documents60-paper-conv-parity)."""
    G, C, L = x.shape
    f, _, k = w.shape
    if f > 2 * C:
        taps = nn.functional.pad(x, ((k - 1) // 2, k // 2)).unfold(2, k, 1)  # [G, C, L, K]
        taps = taps.permute(0, 2, 1, 3).reshape(G * L, C * k)
        return torch.addmm(bias, taps, w.reshape(f, C * k).t()).view(G, L, f)
    tokens = x.transpose(1, 2)  # [G, L, C]
    if k > 1:
        tokens = nn.functional.pad(tokens, (0, 0, (k - 1) // 2, k // 2))  # [G, L + K - 1, C]
    flat = tokens.reshape(-1, C)
    m = flat.shape[0] - k + 1
    out = torch.addmm(bias, flat[:m], w[:, :, 0].t())  # [G * (L + K - 1) - K + 1, F]
    for j in range(1, k):
        out = torch.addmm(out, flat[j:j + m], w[:, :, j].t())
    return out.as_strided((G, L, f), ((L + k - 1) * f, f, 1)).contiguous()  # windows inside their group


def config_from(cls, spec: Spec):
    """The model's config dataclass with the spec's hyper-parameters applied."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    values = {}
    for key, value in spec.params:
        if key not in known:
            raise UserError(f"model {spec.name}: unknown hyper-parameter {clip(key, 40)} (known: {', '.join(known)})")
        values[key] = _coerce(getattr(defaults, key), value, f"model {spec.name}: {key}")
    return cls(**values)


def _coerce(default, value, what: str):
    """Hyper-parameters may arrive as strings (command line); give them the default's type."""
    if not isinstance(value, str) or isinstance(default, str):
        return value
    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return value.lower() in ("true", "1")
        if isinstance(default, tuple):
            return tuple(type(default[0])(v) for v in value.split("/"))
        number = type(default)(value)
        if isinstance(number, float) and not math.isfinite(number):
            raise UserError(f"{what}: {clip(value)} is not a finite number")
        return number
    except ValueError:
        raise UserError(f"{what}: {clip(value)} is not a {type(default).__name__}") from None


def masked_max(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Max over time of h [B, L, F] where mask [B, L] is true."""
    return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)


def same_conv(x: torch.Tensor, conv: nn.Conv1d) -> torch.Tensor:
    """Keras 'same' padding for any width (even widths pad one more on the right).
    x [B, C, L] -> [B, F, L]."""
    k = conv.kernel_size[0]
    return conv(nn.functional.pad(x, ((k - 1) // 2, k // 2)))
