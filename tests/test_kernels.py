"""The fused ops against their pure-PyTorch reference, on every device."""
import subprocess
import sys
import warnings

import pytest
import torch
from kernel_testing import DEVICES, require_extension

from relext_bench.kernels import embed_concat, ops, ranking_loss
from relext_bench.kernels.reference import embed_concat_reference, ranking_loss_reference

pytestmark = pytest.mark.parametrize("device", DEVICES)


@pytest.fixture(autouse=True)
def _ext():
    require_extension()


def random_batch(B, C, device, dtype=torch.float32, positives=0.3, seed=0, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    scores = (torch.randn(B, C, generator=g, dtype=torch.float64) * scale).to(dtype)
    labels = torch.randint(0, C, (B,), generator=g)
    labels[torch.rand(B, generator=g) >= positives] = -1
    ids = torch.randn(B, 2, generator=g, dtype=torch.float64).to(dtype)
    return scores.to(device), labels.to(device), ids.to(device)


def both(scores, labels, ids, **kw):
    """(fused, reference) per-instance losses and gradients."""
    out = []
    for fn in (lambda *a: ranking_loss(*a, reduction="none", **kw), lambda *a: ranking_loss_reference(*a, **kw)):
        s = scores.detach().clone().requires_grad_()
        i = ids.detach().clone().requires_grad_() if ids is not None else None
        loss = fn(s, labels, i)
        (loss * torch.linspace(0.5, 1.5, len(loss), device=loss.device, dtype=loss.dtype)).sum().backward()
        out.append((loss.detach(), s.grad, i.grad if i is not None else None))
    return out


def assert_close_all(a, b, **tol):
    for x, y in zip(a, b):
        if x is None:
            assert y is None
        else:
            torch.testing.assert_close(x, y, **tol)


@pytest.mark.parametrize("B", [1, 7, 256, 5000])
@pytest.mark.parametrize("C", [1, 6, 18])
@pytest.mark.parametrize("with_id", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ranking_loss_matches_reference(device, B, C, with_id, dtype):
    for positives in (0.0, 0.3, 1.0):  # all negative, mixed, all positive
        scores, labels, ids = random_batch(B, C, device, dtype, positives, seed=B * C)
        fused, ref = both(scores, labels, ids if with_id else None)
        assert_close_all(fused, ref)


def test_ranking_loss_paper_parameters_and_weight(device):
    scores, labels, ids = random_batch(64, 6, device)
    fused, ref = both(scores, labels, ids, m_pos=1.0, m_neg=0.25, gamma=3.0, id_weight=0.3)
    assert_close_all(fused, ref)


def test_ranking_loss_hand_value(device):
    # Positive, gold 0, competitor 1 (score 0.5); gamma 2, m+ 2.5, m- 0.5.
    s = torch.tensor([[1.0, 0.5, -1.0]], device=device)
    got = ranking_loss(s, torch.tensor([0], device=device), reduction="none")
    expect = torch.log1p(torch.exp(torch.tensor(2 * (2.5 - 1.0)))) + torch.log1p(torch.exp(torch.tensor(2 * (0.5 + 0.5))))
    torch.testing.assert_close(got.cpu(), expect.reshape(1))
    neg = ranking_loss(s, torch.tensor([-1], device=device), reduction="none")
    torch.testing.assert_close(neg.cpu(), torch.log1p(torch.exp(torch.tensor([2 * (0.5 + 1.0)]))))


def test_ranking_loss_ties_go_to_lowest_index(device):
    scores = torch.zeros(4, 6, device=device)
    scores[:, 2] = scores[:, 4] = 1.0  # a tie between 2 and 4
    labels = torch.tensor([-1, 0, 2, 4], device=device)
    fused, ref = both(scores, labels, None)
    assert_close_all(fused, ref)
    g = fused[1]
    assert g[0, 2] > 0 and g[0, 4] == 0  # negative: competitor is index 2
    assert g[2, 4] > 0 and g[3, 2] > 0  # positives: the other tied class competes


def test_ranking_loss_huge_scores_stay_finite(device):
    scores, labels, ids = random_batch(300, 6, device, scale=1e4)
    fused, ref = both(scores, labels, ids * 1e4)
    assert torch.isfinite(fused[0]).all() and torch.isfinite(fused[1]).all()
    assert_close_all(fused, ref)


def test_ranking_loss_nan_in_nan_out(device):
    scores, labels, ids = random_batch(8, 6, device, positives=0.5)
    scores[3, 5] = float("nan")
    loss = ranking_loss(scores, labels, ids, reduction="none")
    assert torch.isnan(loss[3]) and torch.isfinite(loss[torch.arange(8, device=device) != 3]).all()
    assert torch.isnan(ranking_loss(scores, labels, ids))


def test_ranking_loss_non_contiguous(device):
    base, labels, ids = random_batch(200, 12, device)
    scores = base[:, ::2]  # strided columns
    wide = torch.randn(200, 4, device=device)
    ids_nc = wide[:, 1:4:2]  # strided id logits
    assert not scores.is_contiguous() and not ids_nc.is_contiguous()
    labels = labels.clamp(max=5)
    assert_close_all(both(scores, labels, ids_nc)[0], both(scores.contiguous(), labels, ids_nc.contiguous())[1])
    assert_close_all(both(scores.t().contiguous().t(), labels, None)[0], both(scores.contiguous(), labels, None)[1])


def test_ranking_loss_bad_labels_raise(device):
    scores, labels, _ = random_batch(4, 6, device)
    with pytest.raises(RuntimeError, match="outside"):
        ranking_loss(scores, torch.tensor([0, 1, 6, -1], device=device))
    with pytest.raises(RuntimeError, match="labels must be"):
        ranking_loss(scores, torch.tensor([0, 1], device=device))


def registered_ranking_loss(s, y, i, reduction="mean"):
    """The op called directly: its autograd is the one registered on it, not ops.py's
    eager Function."""
    return torch.ops.relext.ranking_loss(s, y, i, 2.5, 0.5, 2.0, 1.0, reduction == "mean")[0]


@pytest.mark.parametrize("reduction", ["none", "mean"])
@pytest.mark.parametrize("fn", [ranking_loss, registered_ranking_loss], ids=["eager", "registered"])
def test_ranking_loss_gradcheck(device, reduction, fn):
    scores, labels, ids = random_batch(6, 4, device, torch.float64, positives=0.5, seed=3)
    scores.requires_grad_()
    ids.requires_grad_()
    assert torch.autograd.gradcheck(lambda s, i: fn(s, labels, i, reduction=reduction), (scores, ids))


def test_ranking_loss_mean_matches_reference(device):
    scores, labels, ids = random_batch(300, 6, device)
    s1, s2 = scores.clone().requires_grad_(), scores.clone().requires_grad_()
    fused = ranking_loss(s1, labels, ids)
    ref = ranking_loss_reference(s2, labels, ids).mean()
    fused.backward()
    ref.backward()
    torch.testing.assert_close(fused, ref)
    torch.testing.assert_close(s1.grad, s2.grad)


def test_ranking_loss_opcheck(device):
    scores, labels, ids = random_batch(16, 6, device)
    for mean in (True, False):
        torch.library.opcheck(torch.ops.relext.ranking_loss.default,
                              (scores.requires_grad_(), labels, ids.requires_grad_(), 2.5, 0.5, 2.0, 1.0, mean))
        torch.library.opcheck(torch.ops.relext.ranking_loss.default,
                              (scores, labels, None, 2.5, 0.5, 2.0, 1.0, mean))


# ---- embed_concat --------------------------------------------------------------

def random_tables(device, dtype=torch.float32, V=50, P=18, T=9, widths=(20, 5, 7), two_pos=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    Dw, Dp, Dt = widths

    def t(rows, w):
        return torch.randn(rows, w, generator=g, dtype=torch.float64).to(dtype).to(device)

    return t(V, Dw), t(P, Dp), (t(P + 3, Dp + 1) if two_pos else None), t(T, Dt)


def random_index(B, L, rows, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, rows, (B, L), generator=g)
    idx[:, -2:] = 0  # padding at the end of every row
    return idx.to(device)


def embed_both(tables, index, with_tags=True):
    out = []
    for fn in (embed_concat, None):
        ts = [t.detach().clone().requires_grad_() if t is not None else None for t in tables]
        wt, pt, p2t, tt = ts
        words, pos1, pos2, tags = index
        if fn is None:
            y = embed_concat_reference(wt, pt, p2t, tt if with_tags else None, words, pos1, pos2,
                                       tags if with_tags else None)
        else:
            y = embed_concat(wt, pt, words, pos1, pos2, tag_table=tt if with_tags else None,
                             tags=tags if with_tags else None, pos2_table=p2t)
        weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        (y * weight.to(y.dtype).to(y.device)).sum().backward()
        out.append((y.detach(), *[t.grad if t is not None else None for t in ts]))
    return out


@pytest.mark.parametrize("B, L", [(1, 3), (8, 16), (64, 100)])
@pytest.mark.parametrize("two_pos", [False, True])
@pytest.mark.parametrize("with_tags", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_embed_concat_matches_reference(device, B, L, two_pos, with_tags, dtype):
    tables = random_tables(device, dtype, two_pos=two_pos, seed=B + L)
    P2 = tables[2].shape[0] if two_pos else tables[1].shape[0]
    index = (random_index(B, L, 50, device, 1), random_index(B, L, 18, device, 2),
             random_index(B, L, P2, device, 3), random_index(B, L, 9, device, 4))
    fused, ref = embed_both(tables, index, with_tags)
    if not with_tags:
        fused, ref = fused[:4] + (None,), ref[:4] + (None,)
    # Gradients are sums over up to B*L tokens in another order than the reference's.
    tol = {"rtol": 1e-5, "atol": 1e-4} if dtype == torch.float32 else {}
    assert_close_all(fused, ref, **tol)
    y = fused[0]
    assert y.is_contiguous() and y.shape == (B, L, 20 + 5 + (6 if two_pos else 5) + (7 if with_tags else 0))


def test_embed_concat_padding_is_zero_with_no_gradient(device):
    tables = random_tables(device)
    index = tuple(random_index(4, 10, rows, device, k) for k, rows in enumerate((50, 18, 18, 9)))
    fused, _ = embed_both(tables, index)
    y, gw, gp, _, gt = fused
    assert (y[:, -2:] == 0).all()  # the table's row 0 is random, yet padding reads as zero
    assert (gw[0] == 0).all() and (gp[0] == 0).all() and (gt[0] == 0).all()


def test_embed_concat_non_contiguous_indices(device):
    tables = random_tables(device)
    big = random_index(8, 40, 9, device, 7)
    index = tuple(big[:, ::2] for _ in range(4))
    assert not index[0].is_contiguous()
    fused, ref = embed_both(tables, index)
    assert_close_all(fused, ref)


def test_embed_concat_bad_index_raises(device):
    wt, pt, _, tt = random_tables(device)
    ok = random_index(2, 5, 9, device)
    bad = ok.clone()
    bad[1, 3] = 50
    with pytest.raises(IndexError, match="words"):
        embed_concat(wt, pt, bad, ok, ok, tt, ok)
    with pytest.raises(IndexError, match="pos2"):
        embed_concat(wt, pt, ok, ok, -ok - 1, tt, ok)
    with pytest.raises(IndexError, match="tags"):
        embed_concat(wt, pt, ok, ok, ok, tt, ok + 5)


@pytest.mark.parametrize("registered", [False, True], ids=["eager", "registered"])
def test_embed_concat_gradcheck(device, registered):
    tables = [t.requires_grad_() if t is not None else None
              for t in random_tables(device, torch.float64, V=7, P=5, T=4, widths=(3, 2, 2))]
    wt, pt, _, tt = tables
    idx = [random_index(2, 4, rows, device, k) for k, rows in enumerate((7, 5, 5, 4))]
    if registered:  # the op called directly, through the autograd registered on it
        fn = lambda a, b, c: torch.ops.relext.embed_concat(a, b, None, c, *idx, 0)  # noqa: E731
    else:
        fn = lambda a, b, c: embed_concat(a, b, idx[0], idx[1], idx[2], c, idx[3])  # noqa: E731
    assert torch.autograd.gradcheck(fn, (wt, pt, tt))


def test_embed_concat_opcheck(device):
    wt, pt, p2t, tt = random_tables(device, two_pos=True)
    idx = [random_index(3, 6, rows, device, k) for k, rows in enumerate((50, 18, 21, 9))]
    torch.library.opcheck(torch.ops.relext.embed_concat.default,
                          (wt.requires_grad_(), pt.requires_grad_(), p2t.requires_grad_(), tt.requires_grad_(),
                           *idx, 0))
    torch.library.opcheck(torch.ops.relext.embed_concat.default,
                          (wt, pt, None, None, idx[0], idx[1], idx[1], None, 0))


def test_both_ops_under_torch_compile_fullgraph(device):
    wt, pt, _, tt = (t.requires_grad_() if t is not None else None for t in random_tables(device))
    head = torch.nn.Linear(20 + 5 + 5 + 7, 6).to(device)
    idx = [random_index(4, 10, rows, device, k) for k, rows in enumerate((50, 18, 18, 9))]
    labels = torch.tensor([0, -1, 3, -1], device=device)

    def step(words, pos1, pos2, tags):
        x = embed_concat(wt, pt, words, pos1, pos2, tt, tags)
        return ranking_loss(head(x.max(dim=1).values), labels)

    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    loss = compiled(*idx)
    loss.backward()
    torch.testing.assert_close(loss, step(*idx))
    assert wt.grad is not None and tt.grad is not None


def test_backend_is_recorded_and_fallback_warns(device, monkeypatch):
    from relext_bench.kernels import backend, build

    assert backend() in ("cpp", "cpp+cuda")
    saved = dict(ops._state)
    monkeypatch.setattr(build, "build", lambda: (_ for _ in ()).throw(RuntimeError("no compiler")))
    ops._state.pop("backend")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert backend() == "reference"
        assert len(caught) == 1 and "no compiler" in str(caught[0].message)
        scores, labels, ids = random_batch(5, 6, device)
        torch.testing.assert_close(ranking_loss(scores, labels, ids),
                                   ranking_loss_reference(scores, labels, ids).mean())
    finally:
        ops._state.clear()
        ops._state.update(saved)


def test_reference_backend_by_environment(device):
    code = "from relext_bench.kernels import backend; print(backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "RELEXT_BENCH_KERNELS": "reference"})
    assert out.stdout.strip() == "reference"
