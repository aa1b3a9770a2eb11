"""relext::pair_conv_pool (the sentence-shared convolution) against its pure-PyTorch
reference, on every device."""
import pytest
import torch
from kernel_testing import DEVICES, require_extension

from relext_bench.kernels import pair_conv_pool
from relext_bench.kernels.reference import ACTIVATIONS, POOLS, pair_conv_pool_reference

pytestmark = pytest.mark.parametrize("device", DEVICES)


@pytest.fixture(autouse=True)
def _ext():
    require_extension()


def random_inputs(device, dtype=torch.float32, G=3, L=13, F=40, K=3, P=9, B=10, per_group=False, seed=0):
    """Rows, group, positions, tables, lengths and cuts of a batch; positions are padding
    (0) beyond each pair's length, cuts are sorted and may fall outside the pair."""
    g = torch.Generator().manual_seed(seed)
    Gt = G if per_group else 1
    rows = torch.randn(G, L, F, generator=g, dtype=torch.float64)
    t1, t2 = (torch.randn(Gt, K, P, F, generator=g, dtype=torch.float64) for _ in range(2))
    group = torch.randint(0, G, (B,), generator=g)
    lengths = torch.randint(1, L + 1, (B,), generator=g)
    valid = torch.arange(L)[None, :] < lengths[:, None]
    pos1 = torch.randint(1, P, (B, L), generator=g) * valid
    pos2 = torch.randint(1, P, (B, L), generator=g) * valid
    cuts = torch.randint(-1, L + 2, (B, 2), generator=g).sort(dim=1).values
    floats = [x.to(dtype).to(device) for x in (rows, t1, t2)]
    index = [x.to(device) for x in (group, pos1, pos2, lengths, cuts)]
    return floats, index


def run(fn, floats, index, pad_left, activation, pool, weights=None):
    """Output and the gradients of rows and both tables under a weighted sum."""
    rows, t1, t2 = (x.detach().clone().requires_grad_() for x in floats)
    group, pos1, pos2, lengths, cuts = index
    out = fn(rows, group, pos1, pos2, t1, t2, lengths, cuts, pad_left, activation, pool)
    w = weights if weights is not None else torch.linspace(-1, 2, out.numel(), dtype=out.dtype,
                                                           device=out.device).reshape(out.shape)
    (out * w).sum().backward()
    return out.detach(), rows.grad, t1.grad, t2.grad


def registered(rows, group, pos1, pos2, t1, t2, lengths, cuts, pad_left, activation, pool):
    """The op called directly: its autograd is the one registered on it."""
    return torch.ops.relext.pair_conv_pool(rows, group, pos1, pos2, t1, t2, lengths, cuts, pad_left,
                                           ACTIVATIONS.index(activation), POOLS.index(pool))[0]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("K, pad_left", [(1, 0), (2, 0), (3, 1), (5, 2)])
@pytest.mark.parametrize("per_group", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_reference(device, activation, pool, K, pad_left, per_group, dtype):
    floats, index = random_inputs(device, dtype, K=K, per_group=per_group, F=70, seed=K)
    fused = run(pair_conv_pool, floats, index, pad_left, activation, pool)
    ref = run(pair_conv_pool_reference, floats, index, pad_left, activation, pool)
    for a, b in zip(fused, ref):
        torch.testing.assert_close(a, b)


def test_hand_value(device):
    # One pair of 3 tokens, one filter of width 2 (pad_left 0): token t reads t and t+1.
    rows = torch.tensor([[[1.0], [2.0], [-4.0]]], device=device)
    t1 = torch.tensor([[[[0.0], [10.0], [20.0]], [[0.0], [100.0], [200.0]]]], device=device)  # [1, 2, 3, 1]
    t2 = torch.zeros_like(t1)
    pos1 = torch.tensor([[1, 2, 1]], device=device)
    zeros = torch.zeros_like(pos1)
    group, lengths = torch.tensor([0], device=device), torch.tensor([3], device=device)
    # t=0: 1 + 10 + 200 = 211; t=1: 2 + 20 + 100 = 122; t=2: -4 + 10 (+ nothing past the end) = 6
    out = pair_conv_pool(rows, group, pos1, zeros, t1, t2, lengths, pool="max_mean")
    torch.testing.assert_close(out.cpu(), torch.tensor([[211.0, (211 + 122 + 6) / 3]]))
    # Padding positions add nothing: with length 2, token 1 no longer reads token 2.
    out = pair_conv_pool(rows, group, pos1 * (torch.arange(3, device=device) < 2), zeros, t1, t2,
                         torch.tensor([2], device=device), pool="mean")
    torch.testing.assert_close(out.cpu(), torch.tensor([[(211 + 22) / 2]]))


def test_empty_piece_pools_to_zero_without_gradient(device):
    floats, index = random_inputs(device, torch.float64, B=4)
    group, pos1, pos2, lengths, _ = index
    cuts = torch.tensor([[0, 0], [0, 20], [3, 3], [20, 20]], device=device)  # pieces 1, 3, 2, 2-3 empty
    out, *_ = run(pair_conv_pool, floats, [group, pos1, pos2, lengths, cuts], 1, "tanh", "piecewise")
    F = floats[0].shape[2]
    empty = [(0, 0), (0, 1), (1, 2), (2, 1), (3, 1), (3, 2)]
    for b, q in empty:
        assert (out[b, q * F:(q + 1) * F] == 0).all()
    ref = run(pair_conv_pool_reference, floats, [group, pos1, pos2, lengths, cuts], 1, "tanh", "piecewise")
    torch.testing.assert_close(out, ref[0])


@pytest.mark.parametrize("fn", [pair_conv_pool, registered], ids=["eager", "registered"])
@pytest.mark.parametrize("pool", POOLS)
def test_gradcheck(device, fn, pool):
    (rows, t1, t2), (group, pos1, pos2, lengths, cuts) = random_inputs(
        device, torch.float64, G=2, L=5, F=3, K=2, P=4, B=4, per_group=True, seed=5)
    inputs = tuple(x.requires_grad_() for x in (rows, t1, t2))
    assert torch.autograd.gradcheck(
        lambda r, a, b: fn(r, group, pos1, pos2, a, b, lengths, cuts, 1, "tanh", pool), inputs)


def test_opcheck(device):
    for pool in POOLS:
        (rows, t1, t2), (group, pos1, pos2, lengths, cuts) = random_inputs(device, per_group=pool == "mean")
        args = (rows.requires_grad_(), group, pos1, pos2, t1.requires_grad_(), t2.requires_grad_(), lengths,
                cuts if pool == "piecewise" else None, 1, ACTIVATIONS.index("relu"), POOLS.index(pool))
        torch.library.opcheck(torch.ops.relext.pair_conv_pool.default, args)


def test_nan_in_nan_out(device):
    floats, index = random_inputs(device)
    floats[0][index[0][0], 0, 3] = float("nan")  # token 0 of the first pair's row group
    for pool in POOLS:
        out = pair_conv_pool(*floats[:1], *index[:3], *floats[1:], *index[3:], pad_left=1, activation="tanh",
                             pool=pool)
        ref = pair_conv_pool_reference(*floats[:1], *index[:3], *floats[1:], *index[3:], 1, "tanh", pool)
        assert torch.equal(out.isnan(), ref.isnan()) and out[0].isnan().any(), pool


@pytest.mark.parametrize("what, change, message", [
    ("group", lambda i: i[0].fill_(7), "group value 7"),
    ("pos1", lambda i: i[1].__setitem__((0, 0), 99), "pos1 value 99"),
    ("lengths", lambda i: i[3].__setitem__(0, 14), "lengths value 14"),
])
def test_bad_index_is_an_error(device, what, change, message):
    if device == "cuda":
        message = f"a value of {what}"
    floats, index = random_inputs(device)
    change(index)
    with pytest.raises(IndexError, match=message):
        pair_conv_pool(floats[0], *index[:3], *floats[1:], *index[3:])


def test_piecewise_needs_cuts(device):
    floats, index = random_inputs(device)
    with pytest.raises(RuntimeError, match="piecewise pooling needs cuts"):
        pair_conv_pool(floats[0], *index[:3], *floats[1:], index[3], None, pool="piecewise")


def test_backward_does_not_depend_on_thread_count(device):
    if device != "cpu":
        pytest.skip("the CPU kernel's determinism")
    floats, index = random_inputs(device, F=150, B=64, G=4, L=40, seed=9)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = run(pair_conv_pool, floats, index, 1, "relu", "max_mean")
        torch.set_num_threads(2)
        two = run(pair_conv_pool, floats, index, 1, "relu", "max_mean")
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(one, two):
        assert torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_on_cuda(device, dtype):
    if device != "cuda":
        pytest.skip("half and bfloat16 run on CUDA only")
    floats, index = random_inputs(device, torch.float32)
    ref = run(pair_conv_pool_reference, floats, index, 1, "relu", "max_mean")
    low = run(pair_conv_pool, [x.to(dtype) for x in floats], index, 1, "relu", "max_mean",
              weights=torch.linspace(-1, 2, ref[0].numel(), device=device).reshape(ref[0].shape).to(dtype))
    for a, b in zip(low, ref):
        torch.testing.assert_close(a.float(), b, atol=0.1, rtol=0.05)


def test_under_torch_compile_fullgraph(device):
    floats, index = random_inputs(device)
    rows, t1, t2 = (x.requires_grad_() for x in floats)
    group, pos1, pos2, lengths, cuts = index

    def step(rows, t1, t2):
        return pair_conv_pool(rows, group, pos1, pos2, t1, t2, lengths, cuts, 1, "relu", "piecewise").sum()

    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    loss = compiled(rows, t1, t2)
    loss.backward()
    torch.testing.assert_close(loss, step(rows, t1, t2))
    assert rows.grad is not None and t1.grad is not None
