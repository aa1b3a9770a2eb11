"""Fused ops vs the eager reference vs torch.compile(reference), forward + backward;
the sentence-shared convolution also against the dense convolution it replaces.

Each case is a benchmark group; `python -m relext_bench.kernels.report` turns the JSON of
one run into the ratio table of reports/kernels.md. In a plain test run (timing off)
only the smallest sizes run once, and torch.compile and the copy are left out.
"""
import pytest
import torch
from kernel_testing import DEVICES, require_extension

from relext_bench.kernels import embed_concat, pair_conv_pool, ranking_loss
from relext_bench.kernels.reference import (
    embed_concat_reference,
    pair_conv_pool_reference,
    ranking_loss_reference,
)
from relext_bench.models.base import SharedInput, masked_max, masked_mean, same_conv, shared_conv

IMPLS = ["fused", "reference", "compiled"]


def _timed(request):
    return not request.config.option.benchmark_disable


def _skip_when_untimed(request, impl, large):
    if not _timed(request) and (impl == "compiled" or large):
        pytest.skip("timing is off: only the smallest sizes, without torch.compile")


def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def _loss_fn(impl):
    if impl == "fused":
        return lambda s, y, i: ranking_loss(s, y, i)
    ref = lambda s, y, i: ranking_loss_reference(s, y, i).mean()  # noqa: E731
    return torch.compile(ref, dynamic=False) if impl == "compiled" else ref


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("C", [6, 18])
@pytest.mark.parametrize("B", [256, 4096, 65536])
def test_bench_ranking_loss(benchmark, request, device, impl, C, B):
    require_extension()
    _skip_when_untimed(request, impl, B > 256)
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(B, C, generator=g).to(device).requires_grad_()
    ids = torch.randn(B, 2, generator=g).to(device).requires_grad_()
    labels = torch.randint(0, C, (B,), generator=g)
    labels[torch.rand(B, generator=g) < 0.9] = -1  # about 10 negatives per positive
    labels = labels.to(device)
    fn = _loss_fn(impl)

    def step():
        loss = fn(scores, labels, ids)
        grads = torch.autograd.grad(loss, (scores, ids))
        _sync(device)
        return grads

    step()  # warm-up (and compilation)
    benchmark.group = f"ranking_loss {device} B={B} C={C}"
    benchmark.extra_info.update(op="ranking_loss", impl=impl, device=device, B=B, C=C,
                                threads=torch.get_num_threads())
    grads = benchmark(step)
    assert torch.isfinite(grads[0]).all()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("L", [16, 100])
def test_bench_embed_concat(benchmark, request, device, impl, L):
    require_extension()
    _skip_when_untimed(request, impl, L > 16)
    B, V, P, T = 256, 20000, 18, 133  # the paper's widths: 200 + 2 x 50 + 50
    g = torch.Generator().manual_seed(0)
    wt = torch.randn(V, 200, generator=g).to(device).requires_grad_()
    pt = torch.randn(P, 50, generator=g).to(device).requires_grad_()
    tt = torch.randn(T, 50, generator=g).to(device).requires_grad_()
    words, pos1, pos2, tags = (torch.randint(0, n, (B, L), generator=g).to(device) for n in (V, P, P, T))
    upstream = torch.randn(B, L, 350, generator=g).to(device)
    if impl == "fused":
        fn = lambda: embed_concat(wt, pt, words, pos1, pos2, tt, tags)  # noqa: E731
    else:
        ref = lambda: embed_concat_reference(wt, pt, None, tt, words, pos1, pos2, tags)  # noqa: E731
        fn = torch.compile(ref, dynamic=False) if impl == "compiled" else ref

    def step():
        out = fn()
        grads = torch.autograd.grad(out, (wt, pt, tt), upstream)
        _sync(device)
        return grads

    step()
    benchmark.group = f"embed_concat {device} B={B} L={L}"
    benchmark.extra_info.update(op="embed_concat", impl=impl, device=device, B=B, L=L,
                                threads=torch.get_num_threads(),
                                bytes=(B * L * 350 * 4) * 2)  # output written + upstream read
    grads = benchmark(step)
    assert grads[0].shape == wt.shape


# One convolution of a model over a sentence-grouped batch like CHisIEC's: 256 pairs
# from 6 sentences of 20-48 tokens; inputs word 200 + 2 x position 50 + tag 50.
PAIR_CONV_CASES = {"ye2019": dict(F=64, K=3, activation="relu", pool="max_mean"),
                   "cnn": dict(F=150, K=5, activation="none", pool="max")}


def _pair_conv_batch(device, G=6, B=256, L=48, P=102, seed=0):
    g = torch.Generator().manual_seed(seed)
    sent_len = torch.randint(20, L + 1, (G,), generator=g)
    sent_len[0] = L
    group = torch.arange(B) % G
    lengths = sent_len[group]
    valid = torch.arange(L)[None, :] < lengths[:, None]
    pos1, pos2 = (torch.randint(1, P, (B, L), generator=g) * valid for _ in range(2))
    mask = valid
    return {k: v.to(device) for k, v in dict(group=group, lengths=lengths, pos1=pos1, pos2=pos2, mask=mask).items()}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("impl", IMPLS + ["dense"])
@pytest.mark.parametrize("model", list(PAIR_CONV_CASES))
def test_bench_pair_conv(benchmark, request, device, impl, model):
    require_extension()
    _skip_when_untimed(request, impl, large=model != "ye2019")
    case = PAIR_CONV_CASES[model]
    F, K, act, pool = case["F"], case["K"], case["activation"], case["pool"]
    G, B, L, P = 6, 256, 48, 102
    batch = _pair_conv_batch(device, G, B, L, P)
    g = torch.Generator().manual_seed(1)
    conv = torch.nn.Conv1d(350, F, K).to(device)
    table = torch.randn(P, 50, generator=g).to(device).requires_grad_()
    if impl == "dense":  # every pair's embedded tokens, convolved pair by pair
        x = torch.randn(B, 350, L, generator=g).to(device).requires_grad_()
        activate = {"relu": torch.relu, "none": lambda h: h}[act]

        def fn():
            h = activate(same_conv(x, conv)).transpose(1, 2)
            pooled = [masked_max(h, batch["mask"])]
            return torch.cat(pooled + [masked_mean(h, batch["mask"])] if pool == "max_mean" else pooled, dim=1)
        leaves = (x, conv.weight)
    else:  # each sentence's word and tag channels once, positions through the tables
        x = torch.randn(G, 250, L, generator=g).to(device).requires_grad_()
        op = pair_conv_pool if impl == "fused" else pair_conv_pool_reference

        def fn():
            shared = SharedInput(x, table[None], table[None])
            return shared_conv(shared, conv, 200, 50, batch, act, pool, op=op)
        if impl == "compiled":
            fn = torch.compile(fn, dynamic=False)
        leaves = (x, conv.weight, table)
    upstream = torch.randn(B, F * (2 if pool == "max_mean" else 1), generator=g).to(device)

    def step():
        grads = torch.autograd.grad(fn(), leaves, upstream)
        _sync(device)
        return grads

    step()
    benchmark.group = f"pair_conv_pool {device} {model}"
    benchmark.extra_info.update(op="pair_conv_pool", impl=impl, device=device, B=B, L=L, G=G, F=F, K=K,
                                model=model, threads=torch.get_num_threads())
    grads = benchmark(step)
    assert grads[1].shape == conv.weight.shape


@pytest.mark.parametrize("device", DEVICES)
def test_bench_copy(benchmark, request, device):
    """The device's copy bandwidth: the yardstick for embed_concat at its largest size
    (a tensor the size of its output, read and written once)."""
    _skip_when_untimed(request, "copy", large=True)
    src = torch.randn(256, 100, 350, generator=torch.Generator().manual_seed(0)).to(device)
    dst = torch.empty_like(src)

    def step():
        dst.copy_(src)
        _sync(device)

    step()
    benchmark.group = f"copy {device}"
    benchmark.extra_info.update(op="copy", impl="copy", device=device, threads=torch.get_num_threads(),
                                bytes=2 * src.numel() * src.element_size())
    benchmark(step)
    assert torch.equal(dst, src)
