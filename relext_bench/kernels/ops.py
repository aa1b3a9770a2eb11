"""The relext ops as users call them: fake kernels and autograd registered here (as in
pytorch/extension-cpp), dispatch to the extension or to the reference."""
from __future__ import annotations

import os
import warnings

import torch

from relext_bench.kernels import reference

_state: dict[str, str] = {}


def backend() -> str:
    """'cpp', 'cpp+cuda' or 'reference'. Builds the extension on first call.
    RELEXT_BENCH_KERNELS=reference forces the reference."""
    if "backend" not in _state:
        _state["backend"] = _load()
    return _state["backend"]


def kernels_for(device: torch.device | str) -> str:
    """The kernels that run on a device: 'cpp' (CPU), 'cuda', or 'reference'. A CUDA
    device without the CUDA kernels (torch without CUDA, no nvcc where it was built)
    runs the reference, after one warning."""
    which = backend()
    if which == "reference":
        return which
    if torch.device(device).type != "cuda":
        return "cpp"
    if which == "cpp+cuda":
        return "cuda"
    if not _state.get("warned_cuda"):
        _state["warned_cuda"] = "yes"
        warnings.warn("relext-bench: the extension was built without its CUDA kernels; CUDA tensors "
                      "run the pure-PyTorch reference kernels instead", stacklevel=3)
    return "reference"


def _load() -> str:
    if os.environ.get("RELEXT_BENCH_KERNELS") == "reference":
        return "reference"
    from relext_bench.kernels import build

    try:
        build.build()
    except Exception as e:  # any compiler or loader failure: run the reference instead
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        warnings.warn(f"relext-bench: the C++ extension could not be built ({first}); "
                      "running the pure-PyTorch reference kernels instead", stacklevel=3)
        return "reference"
    _register()
    return "cpp+cuda" if build.cuda_wanted() else "cpp"


def _register() -> None:
    if _state.get("registered"):
        return
    _state["registered"] = "yes"
    lib = "relext::"

    @torch.library.register_fake(lib + "ranking_loss")
    def _(scores, labels, id_logits, m_pos, m_neg, gamma, id_weight, mean):
        loss = scores.new_empty(()) if mean else scores.new_empty(scores.shape[0])
        did = scores.new_empty(scores.shape[0] if id_logits is not None else 0, 2)
        return loss, scores.new_empty(scores.shape), did

    @torch.library.register_fake(lib + "ranking_loss_backward")
    def _(grad, dscores, did):
        return torch.empty_like(dscores), torch.empty_like(did)

    torch.library.register_autograd(lib + "ranking_loss", _rl_backward, setup_context=_rl_setup)

    @torch.library.register_fake(lib + "embed_concat")
    def _(word_table, pos_table, pos2_table, tag_table, words, pos1, pos2, tags, padding_idx):
        width = word_table.shape[1] + pos_table.shape[1]
        width += (pos_table if pos2_table is None else pos2_table).shape[1]
        width += tag_table.shape[1] if tag_table is not None else 0
        return word_table.new_empty(*words.shape, width)

    @torch.library.register_fake(lib + "embed_concat_backward")
    def _(grad, words, pos1, pos2, tags, rows, widths, padding_idx, deterministic):
        return tuple(grad.new_empty(r, w) for r, w in zip(rows, widths))

    torch.library.register_autograd(lib + "embed_concat", _ec_backward, setup_context=_ec_setup)

    @torch.library.register_fake(lib + "pair_conv_pool")
    def _(rows, group, pos1, pos2, table1, table2, lengths, cuts, pad_left, activation, pool):
        B, F = group.shape[0], rows.shape[2]
        blocks, maxes = {0: (1, 1), 1: (1, 0), 2: (2, 1), 3: (3, 3)}[pool]
        return rows.new_empty(B, blocks * F), rows.new_empty(B, maxes, F, dtype=torch.int32)

    @torch.library.register_fake(lib + "pair_conv_pool_backward")
    def _(grad, pooled, argmax, rows, group, pos1, pos2, table1, table2, lengths, pad_left, activation, pool):
        return torch.empty_like(rows), torch.empty_like(table1), torch.empty_like(table2)

    torch.library.register_autograd(lib + "pair_conv_pool", _pc_backward, setup_context=_pc_setup)


# Autograd. The setup_context and backward of each op are registered on the op (for
# torch.compile, opcheck and direct torch.ops calls) and serve the eager
# autograd.Functions below.
def _rl_save(ctx, inputs, output):
    ctx.has_id = inputs[2] is not None
    ctx.save_for_backward(output[1], output[2])


def _rl_setup(ctx, inputs, output):
    ctx.mark_non_differentiable(output[1], output[2])
    _rl_save(ctx, inputs, output)


def _rl_backward(ctx, grad, *_):  # the op's saved-gradient outputs get no gradient
    dscores, did = ctx.saved_tensors
    gs, gid = torch.ops.relext.ranking_loss_backward(grad, dscores, did)
    return gs, None, gid if ctx.has_id else None, None, None, None, None, None


def _ec_setup(ctx, inputs, output):
    word_table, pos_table, pos2_table, tag_table, words, pos1, pos2, tags, padding_idx = inputs
    tables = (word_table, pos_table, pos2_table, tag_table)
    ctx.rows = [t.shape[0] if t is not None else 0 for t in tables]
    ctx.widths = [t.shape[1] if t is not None else 0 for t in tables]
    ctx.has = [t is not None for t in tables]
    ctx.padding_idx = padding_idx
    ctx.save_for_backward(words, pos1, pos2, tags)


def _ec_backward(ctx, grad):
    words, pos1, pos2, tags = ctx.saved_tensors
    grads = torch.ops.relext.embed_concat_backward(
        grad, words, pos1, pos2, tags, ctx.rows, ctx.widths, ctx.padding_idx,
        torch.are_deterministic_algorithms_enabled())
    tables = [g if has else None for g, has in zip(grads, ctx.has)]
    return (*tables, None, None, None, None, None)


def _pc_save(ctx, inputs, output):
    rows, group, pos1, pos2, table1, table2, lengths, cuts, pad_left, activation, pool = inputs
    ctx.options = (pad_left, activation, pool)
    ctx.save_for_backward(output[0], output[1], rows, group, pos1, pos2, table1, table2, lengths)


def _pc_setup(ctx, inputs, output):
    ctx.mark_non_differentiable(output[1])
    _pc_save(ctx, inputs, output)


def _pc_backward(ctx, grad, *_):  # the argmax output gets no gradient
    pooled, argmax, rows, group, pos1, pos2, table1, table2, lengths = ctx.saved_tensors
    g_rows, g1, g2 = torch.ops.relext.pair_conv_pool_backward(
        grad, pooled, argmax, rows, group, pos1, pos2, table1, table2, lengths, *ctx.options)
    return g_rows, None, None, None, g1, g2, None, None, None, None, None


# Eager calls go through these autograd.Functions instead of the op's registered
# autograd. That one is a Python kernel the dispatcher calls back into, and at the
# paper's batch size (256) the round trip costs more than the fused forward itself;
# here the kernel is called below autograd, and the loss Function returns only the loss
# (each further output adds autograd bookkeeping). Under torch.compile the ops are
# called directly and their registered autograd is traced.
def _kernel(ctx, op, save, args):
    """The op's CPU/CUDA kernel, skipping its autograd kernel; `save` fills ctx."""
    with torch._C._AutoDispatchBelowAutograd():
        out = op(*args)
    save(ctx, args, out)
    return out


class _RankingLossFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, *args):
        return _kernel(ctx, torch.ops.relext.ranking_loss.default, _rl_save, args)[0]

    backward = staticmethod(_rl_backward)


class _EmbedConcatFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, *args):
        return _kernel(ctx, torch.ops.relext.embed_concat.default, _ec_setup, args)

    backward = staticmethod(_ec_backward)


class _PairConvPoolFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, *args):
        return _kernel(ctx, torch.ops.relext.pair_conv_pool.default, _pc_save, args)[0]

    @staticmethod
    def backward(ctx, grad):
        return _pc_backward(ctx, grad)


def ranking_loss(scores: torch.Tensor, labels: torch.Tensor, id_logits: torch.Tensor | None = None,
                 m_pos: float = 2.5, m_neg: float = 0.5, gamma: float = 2.0, id_weight: float = 1.0,
                 reduction: str = "mean") -> torch.Tensor:
    """The CR-CNN ranking loss fused with the multi-task identification cross-entropy.

    scores [B, C] for the C positive classes; labels [B]: the class index, or -1 for the
    negative class (Other); id_logits [B, 2] (Other, relation) or None.
    reduction: 'mean' or 'none' (per-instance losses)."""
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction is 'mean' or 'none', not {reduction!r}")
    if kernels_for(scores.device) == "reference":
        per = reference.ranking_loss_reference(scores, labels, id_logits, m_pos, m_neg, gamma, id_weight)
        return per.mean() if reduction == "mean" else per
    args = (scores, labels, id_logits, float(m_pos), float(m_neg), float(gamma), float(id_weight),
            reduction == "mean")
    if torch.compiler.is_compiling():
        return torch.ops.relext.ranking_loss(*args)[0]
    return _RankingLossFn.apply(*args)


def embed_concat(word_table: torch.Tensor, pos_table: torch.Tensor, words: torch.Tensor,
                 pos1: torch.Tensor, pos2: torch.Tensor, tag_table: torch.Tensor | None = None,
                 tags: torch.Tensor | None = None, pos2_table: torch.Tensor | None = None,
                 padding_idx: int = 0) -> torch.Tensor:
    """[B, L, Dw + 2 Dp + Dt]: word, position-1, position-2 (shared table unless
    pos2_table is given) and tag rows per token, concatenated, in one pass.
    Backward is deterministic when torch.use_deterministic_algorithms(True) is set."""
    if (tag_table is None) != (tags is None):
        raise ValueError("tag_table and tags go together")
    if kernels_for(words.device) == "reference":
        return reference.embed_concat_reference(word_table, pos_table, pos2_table, tag_table,
                                                words, pos1, pos2, tags, padding_idx)
    args = (word_table, pos_table, pos2_table, tag_table, words, pos1, pos2, tags, padding_idx)
    if torch.compiler.is_compiling():
        return torch.ops.relext.embed_concat(*args)
    return _EmbedConcatFn.apply(*args)


def pair_conv_pool(rows: torch.Tensor, group: torch.Tensor, pos1: torch.Tensor, pos2: torch.Tensor,
                   table1: torch.Tensor, table2: torch.Tensor, lengths: torch.Tensor,
                   cuts: torch.Tensor | None = None, pad_left: int = 0, activation: str = "none",
                   pool: str = "max") -> torch.Tensor:
    """Sentence-shared convolution for a batch of pairs: pooled features [B, Q * F].

    Each pair's pre-activation at token t is rows[group[b], t] (its sentence's word and
    tag terms of the convolution, bias included) plus, for each tap j of the width-K
    filter, table1[., j, pos1[b, t + j - pad_left]] and the same for position 2 (index 0:
    padding, adds nothing). Then `activation` (none, relu, tanh) and pooling over the
    pair's first lengths[b] tokens: max, mean, max_mean ([max | mean]) or piecewise
    (three max blocks cut at cuts[b]; an empty piece gives 0). Shapes: see
    `reference.pair_conv_pool_reference`; the math is csrc/pair_conv_pool.h."""
    act, how = reference.ACTIVATIONS.index(activation), reference.POOLS.index(pool)
    if kernels_for(rows.device) == "reference":
        return reference.pair_conv_pool_reference(rows, group, pos1, pos2, table1, table2, lengths, cuts,
                                                  pad_left, activation, pool)
    args = (rows, group, pos1, pos2, table1, table2, lengths, cuts, int(pad_left), act, how)
    if torch.compiler.is_compiling():
        return torch.ops.relext.pair_conv_pool(*args)[0]
    return _PairConvPoolFn.apply(*args)
