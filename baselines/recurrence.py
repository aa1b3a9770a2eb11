"""An LSTM recurrence from given input gates, over packed sequences, with its backward
pass written out (`Recurrence`), for the BiLSTM's shared encoder.

Why by hand: `nn.LSTM` computes the input projection W_ih x itself and cannot start
from input gates computed elsewhere (the shared encoder computes them once per
sentence), and the same loop under autograd records about ten nodes per time step,
whose backward pass allocates and clears a gradient buffer for every slice. Here the
forward loop runs without autograd, keeps the gate activations and cell states, and
the backward loop is the LSTM's backpropagation through time in a few batched
products.

Layout: S recurrences (the two directions) over B sequences, packed by time step as
`PackedSequence.data` is: step t holds the sequences still within their length, which
come first (sequences sorted by length, longest first): `sizes[t]` = S * n_t rows of
`x` [sum(sizes), 4H], S blocks of n_t. Gates are ordered i, f, o, g (the three
sigmoid gates first) and include the biases.
"""
from __future__ import annotations

import torch


class Recurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, w_hh: torch.Tensor, sizes: list[int]) -> torch.Tensor:
        """x [M, 4H] packed input gates, w_hh [S, H, 4H] -> hidden states [M, H]."""
        S, H = w_hh.shape[0], w_hh.shape[1]
        gates, cells, tanhs, hidden = [], [], [], []
        h = c = x.new_zeros(S, sizes[0] // S, H)
        for chunk in x.split(sizes):
            n = chunk.shape[0] // S
            a = torch.baddbmm(chunk.view(S, n, 4 * H), h[:, :n], w_hh)  # [S, n, 4H]
            a[..., :3 * H].sigmoid_()
            a[..., 3 * H:].tanh_()
            c = torch.addcmul(a[..., H:2 * H] * c[:, :n], a[..., :H], a[..., 3 * H:])
            tc = torch.tanh(c)
            h = a[..., 2 * H:3 * H] * tc
            gates.append(a)
            cells.append(c)
            tanhs.append(tc)
            hidden.append(h)
        ctx.sizes = sizes
        ctx.save_for_backward(w_hh, *gates, *cells, *tanhs, *hidden)
        return torch.cat([h.reshape(-1, H) for h in hidden])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        w_hh, *saved = ctx.saved_tensors
        T = len(ctx.sizes)
        gates, cells, tanhs, hidden = (saved[k * T:(k + 1) * T] for k in range(4))
        S, H = w_hh.shape[0], w_hh.shape[1]
        dx = [None] * T
        dw = torch.zeros_like(w_hh)
        dh_next = dc_next = None  # [S, n_{t+1}, H]: what step t+1 passes back
        for t, g_out in reversed(list(enumerate(grad.split(ctx.sizes)))):
            n = ctx.sizes[t] // S
            dh = g_out.view(S, n, H).clone()
            dc = torch.zeros_like(dh)
            if dh_next is not None:
                m = dh_next.shape[1]
                dh[:, :m] += dh_next
                dc[:, :m] += dc_next
            a, tc = gates[t], tanhs[t]
            i, f, o, g = a[..., :H], a[..., H:2 * H], a[..., 2 * H:3 * H], a[..., 3 * H:]
            dc = torch.addcmul(dc, dh * o, 1 - tc * tc)
            dz = torch.empty_like(a)  # [S, n, 4H]: the gradient before the activations
            torch.mul(dc, g, out=dz[..., :H])
            if t:
                torch.mul(dc, cells[t - 1][:, :n], out=dz[..., H:2 * H])
            else:
                dz[..., H:2 * H] = 0
            torch.mul(dh, tc, out=dz[..., 2 * H:3 * H])
            torch.mul(dc, i, out=dz[..., 3 * H:])
            sig = a[..., :3 * H]
            dz[..., :3 * H] *= sig * (1 - sig)
            dz[..., 3 * H:] *= 1 - g * g
            dx[t] = dz.reshape(-1, 4 * H)
            if t:
                dw.baddbmm_(hidden[t - 1][:, :n].transpose(1, 2), dz)
            dh_next = torch.bmm(dz, w_hh.transpose(1, 2))  # [S, n, H]
            dc_next = dc * f
        return torch.cat(dx), dw, None


def recurrence(x: torch.Tensor, w_hh: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Hidden states [M, H] of S LSTM recurrences from packed input gates x [M, 4H]
    (module docstring: the layout), w_hh [S, H, 4H]."""
    return Recurrence.apply(x, w_hh, sizes)


def reference(x: torch.Tensor, w_hh: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """The same under autograd, step by step (for the tests)."""
    S, H = w_hh.shape[0], w_hh.shape[1]
    h = c = x.new_zeros(S, sizes[0] // S, H)
    out = []
    for chunk in x.split(sizes):
        n = chunk.shape[0] // S
        z = torch.baddbmm(chunk.view(S, n, 4 * H), h[:, :n], w_hh)
        i, f, o, g = z[..., :H].sigmoid(), z[..., H:2 * H].sigmoid(), z[..., 2 * H:3 * H].sigmoid(), z[..., 3 * H:].tanh()
        c = f * c[:, :n] + i * g
        h = o * torch.tanh(c)
        out.append(h.reshape(-1, H))
    return torch.cat(out)
