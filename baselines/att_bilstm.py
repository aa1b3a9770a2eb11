"""Att-BiLSTM: Zhou et al. 2016 (ACL), "Attention-Based Bidirectional Long Short-Term
Memory Networks for Relation Classification".

A bidirectional LSTM over the embedded tokens; the two directions are summed
(H = forward + backward, as in the paper); word-level attention
alpha = softmax(w^T tanh(H)) over the valid tokens; r = H alpha; h* = tanh(r);
dropout 0.5; a linear layer; softmax cross-entropy. `lstm_dropout` adds the paper's dropout
on the BiLSTM's outputs (0.3 there; default 0: none).

Deviations: the input carries the shared position (and tag) embeddings where the paper
marks the mentions with position indicators in the text; embeddings trained from random
initialisation unless `--embeddings` gives vectors (the paper starts from pre-trained
ones); hidden size 100 per direction.

The paper's own input: `att_bilstm:markers=true,position_dim=0`. `markers` inserts a
learned vector before and after each mention (the paper's position indicators `<e1>`,
`</e1>`, `<e2>`, `</e2>`, as four tokens of the input width), and `position_dim=0` drops
the position embeddings.

Two encoders compute the same features (equal in eval mode; in training they differ as
the convolutions' do, in the input dropout mask and the batches):
- `dense` (the reference): every pair's embedded tokens through `nn.LSTM` on packed
  sequences.
- `shared` (the default): the LSTM's input projection W_ih x is linear in the input
  channels, so, as the convolutions' shared encoder does, it projects each sentence's
  word and tag channels once for all its pairs and turns the position channels into
  lookups in per-position tables P . W_ih^T. The recurrence (h W_hh, the gates) then runs
  per pair, both directions as one batched product per time step, on the pairs still
  within their length. `nn.LSTM` cannot start from given input gates, which is why the
  recurrence is written out here; on one CPU thread the input projection was most of
  the dense path's arithmetic, and packed sequences' backward pass clears a
  whole-sequence gradient at every time step.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from relext_bench_baselines.recurrence import recurrence
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from relext_bench.api import InputConfig, RelationModel


@dataclass(frozen=True)
class AttBiLSTMConfig(InputConfig):
    input_dropout: float = 0.3
    hidden: int = 100
    dropout: float = 0.5
    lstm_dropout: float = 0.0  # on the BiLSTM's outputs, before the attention (Zhou et al. 2016: 0.3)
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
        self.lstm_drop = nn.Dropout(c.lstm_dropout)
        self.marker_vectors = None
        if c.markers:  # <e1>, </e1>, <e2>, </e2>
            self.marker_vectors = nn.Parameter(torch.empty(4, input_width).uniform_(-0.05, 0.05))
        return c.hidden

    # ---- dense: the reference -----------------------------------------------------
    def encode(self, x: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        lengths = batch["lengths"]
        if self.marker_vectors is not None:
            x, lengths = with_markers(x, batch, self.marker_vectors)
        packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        h = out[..., : self.config.hidden] + out[..., self.config.hidden:]  # [B, L, H]
        return self.attend(h, lengths)

    def attend(self, h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Word-level attention over the valid tokens of h [B, L, H]: features [B, H]."""
        if self.config.lstm_dropout:  # only when asked: a zero-rate mask would still draw random numbers
            h = self.lstm_drop(h)
        mask = torch.arange(h.shape[1], device=h.device)[None, :] < lengths[:, None]
        logits = self.attention(torch.tanh(h)).squeeze(-1).masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(logits, dim=1)
        r = (h * alpha.unsqueeze(-1)).sum(dim=1)
        return self.drop(torch.tanh(r))

    # ---- shared: the input projection once per sentence --------------------------
    def encode_shared(self, x, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        H, dw, dp = self.config.hidden, self.word_dim, self.position_dim
        lstm, order = self.lstm, _gate_order(H, x.rows.device)  # gates i, f, o, g: the sigmoid ones first
        w_ih = torch.cat([lstm.weight_ih_l0[order], lstm.weight_ih_l0_reverse[order]])  # [8H, D]: both directions
        bias = torch.cat([(lstm.bias_ih_l0 + lstm.bias_hh_l0)[order],
                          (lstm.bias_ih_l0_reverse + lstm.bias_hh_l0_reverse)[order]])  # [8H]
        # One table of input-gate terms [N, 8H]: each row group's tokens (word and tag
        # channels), the markers, and the two position tables (one per group under dropout).
        G, C, L = x.rows.shape
        parts = [torch.addmm(bias, x.rows.transpose(1, 2).reshape(G * L, C),
                             torch.cat([w_ih[:, :dw], w_ih[:, dw + 2 * dp:]], dim=1).t())]
        t = torch.arange(L, device=x.rows.device)
        ids = [batch["group"][:, None] * L + t]  # [B, L] per column: the rows each token adds up
        offset = G * L
        if self.marker_vectors is not None:
            parts.append(torch.addmm(bias, self.marker_vectors, w_ih.t()))
            marker_ids = offset + torch.arange(4, device=t.device)
            offset += 4
        zero_rows = []  # per position column, a row of zeros (the padding position's)
        if dp:
            per_group = x.pos1.shape[0] > 1
            for table, stream, w in ((x.pos1, "pos1", w_ih[:, dw:dw + dp]), (x.pos2, "pos2", w_ih[:, dw + dp:dw + 2 * dp])):
                parts.append((table @ w.t()).flatten(0, 1))  # [Gt * P, 8H]
                P = table.shape[1]
                ids.append(offset + batch[stream] + (batch["group"][:, None] * P if per_group else 0))
                zero_rows.append(offset)
                offset += table.shape[0] * P
        ids = torch.stack(ids, dim=-1)  # [B, L, K]
        lengths = batch["lengths"]
        if self.marker_vectors is not None:  # a marker adds its own row and no position term
            zeros = torch.tensor(zero_rows, device=t.device, dtype=ids.dtype).expand(4, -1)
            ids, lengths = with_markers(ids, batch, torch.cat([marker_ids[:, None], zeros], dim=1))
        table = torch.cat(parts).view(-1, 4 * H)  # [2N, 4H]: row 2r is row r's forward half, 2r + 1 its backward
        gates, sizes, dest = _packed(ids, lengths)
        h = recurrence(nn.functional.embedding_bag(gates, table, mode="sum"), torch.stack(
            [lstm.weight_hh_l0[order].t(), lstm.weight_hh_l0_reverse[order].t()]), sizes)  # [M, H]
        h = h.new_zeros(ids.shape[0] * ids.shape[1], H).index_add(0, dest, h)  # both directions summed per token
        return self.attend(h.view(ids.shape[0], ids.shape[1], H), lengths)


def _packed(ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, list[int], torch.Tensor]:
    """The two directions' input, packed by time step (recurrence.py: the layout): for ids
    [B, L, K] (each token's K table rows), each packed row's table rows [M, K] (forward
    or backward half), the rows per step, and each packed row's token in [B * L]."""
    B, L, _ = ids.shape
    by_length = torch.argsort(lengths, descending=True, stable=True)
    n = lengths[by_length]  # [B]
    t = torch.arange(int(n[0]), device=ids.device)[:, None, None]  # [T, 1, 1]
    d = torch.arange(2, device=ids.device)[None, :, None]  # 0: forward, 1: backward
    valid = (t < n).expand(-1, 2, -1)  # [T, 2, B]
    slot = torch.where(d == 0, t, n - 1 - t).clamp(min=0)  # backward: the sequence read from its end
    token = (by_length * L + slot)[valid]  # [M]
    rows = ids.view(B * L, -1)[token] * 2 + d.expand_as(valid)[valid][:, None]
    return rows, valid.sum(dim=(1, 2)).tolist(), token


def with_markers(x: torch.Tensor, batch: dict[str, torch.Tensor],
                 markers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x [B, L, D] with the four markers [4, D] (<e1>, </e1>, <e2>, </e2>) inserted at the
    mentions' edges: [B, L + 4, D], and the new lengths [B]."""
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
    return out.scatter(1, slots, markers[order]), batch["lengths"] + 4


def _gate_order(H: int, device) -> torch.Tensor:
    """Rows of nn.LSTM's gate blocks (i, f, g, o) in the order i, f, o, g."""
    return torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)]).to(device)
