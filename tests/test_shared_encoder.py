"""The shared encoder against the dense one (same weights, eval mode: the same scores and
predictions) for the four convolution models and the BiLSTM under both policies, on sentences of 1 to
300 tokens; and the sentence-grouped batches it trains on."""
import dataclasses

import numpy as np
import pytest
import torch
from conftest import make_sentence, tiny_corpus

from relext_bench.data.instances import builder_for
from relext_bench.data.policy import POLICIES
from relext_bench.models import ModelSpec, Sizes, build_model
from relext_bench.models.registry import model_entry
from relext_bench.training.batches import sentence_batches, to_batch

CONV_MODELS = ["ye2019", "cnn", "pcnn", "cr_cnn", "ye2019:pooling=max,norm=none",
               "cnn:widths=3,filters=20,hidden=7,position_dim=5", "cnn:widths=3,filters=20,hidden=7,pool_tanh=false",
               "cr_cnn:position_dim=0"]
# The BiLSTM's shared encoder projects each sentence's input once (its recurrence runs per pair).
LSTM_MODELS = ["att_bilstm", "att_bilstm:markers=true,position_dim=0", "att_bilstm:markers=true,hidden=9",
               "att_bilstm:lstm_dropout=0.3"]
LENGTHS = [1, 2, 3, 7, 16, 17, 40, 129, 300]


def sentences(seed=0):
    """One sentence per length, with up to five mentions (some nested or at the edges)
    and a relation between the first two."""
    rng = np.random.default_rng(seed)
    out = []
    for k, n in enumerate(LENGTHS):
        tokens = [f"w{rng.integers(40)}" for _ in range(n)]
        spans = [(0, 1), (n - 1, n)]  # the first and the last token
        for _ in range(min(3, n)):
            s = int(rng.integers(0, n))
            spans.append((s, int(min(n, s + rng.integers(1, 4)))))
        mentions = [(f"M{i}", s, e, ["PER", "ORG", "GPE"][i % 3]) for i, (s, e) in enumerate(spans)]
        out.append(make_sentence(f"doc1-s{k}", tokens, mentions, [("R1", "ORG-AFF", "M0", "M1")]))
    return out


def batch_for(policy_name, grouped_by):
    corpus = tiny_corpus(sentences())
    policy = POLICIES[policy_name]
    sents = list(corpus.sentences())
    builder = builder_for(corpus, policy, sents)
    inst = builder.build(sents)
    sizes = Sizes(len(builder.words), builder.position_size, len(builder.tags), len(builder.labels))
    index = np.concatenate(grouped_by(inst))
    return inst, index, sizes


@pytest.mark.parametrize("name", CONV_MODELS + LSTM_MODELS)
@pytest.mark.parametrize("policy", ["standard", "paper"])
def test_shared_equals_dense_in_eval_mode(name, policy):
    inst, index, sizes = batch_for(policy, lambda i: sentence_batches(i.sentence, 64, np.random.default_rng(0)))
    assert inst.lengths.max() == (300 if policy == "standard" else 16) and inst.lengths.min() <= 2
    torch.manual_seed(0)
    name, _, params = name.partition(":")
    params = dict(p.split("=") for p in params.split(",") if p)
    dense = build_model(ModelSpec(name, encoder="dense").with_params(**params), sizes)
    shared = build_model(ModelSpec(name, encoder="shared").with_params(**params), sizes)
    batch = to_batch(inst, index, torch.device("cpu"), grouped=True)
    with torch.no_grad():  # BatchNorm statistics of one batch, so that eval mode uses non-trivial ones
        dense.train()(batch)
    shared.load_state_dict(dense.state_dict())
    dense.eval()
    shared.eval()
    with torch.no_grad():
        a, b = dense(batch), shared(batch)
    torch.testing.assert_close(b.scores, a.scores, atol=1e-5, rtol=0)
    assert torch.equal(dense.predict(a), shared.predict(b))


def test_windowed_policy_shares_rows_per_window():
    inst, index, _ = batch_for("paper", lambda i: [np.arange(len(i))])
    rows = inst.rows(index, grouped=True)
    windows = {(s, w) for s, w in zip(inst.sentence[index], inst.w0[index])}
    assert len(rows["group_tokens"]) == len(windows) < len(index)
    # Every instance's own token row is its group's row.
    assert (rows["group_tokens"][rows["group"]] == rows["tokens"]).all()
    assert (rows["group_tags"][rows["group"]] == rows["tags"]).all()


def test_sentence_batches_pack_whole_sentences():
    sentence = np.repeat(np.arange(40), np.random.default_rng(0).integers(1, 30, 40))
    sentence[sentence == 7] = 39  # one sentence of more than a batch's worth is split
    sentence = np.sort(np.concatenate([sentence, np.full(70, 5)]))
    rng = np.random.default_rng(1)
    batches = sentence_batches(sentence, 50, rng)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(sentence)))  # every instance once
    assert max(len(b) for b in batches) <= 50
    split = {s for s in range(40) if sum(s in set(sentence[b]) for b in batches) > 1}
    assert split == {5}  # only the sentence with more instances than a batch
    # Shuffled: another generator orders the batches differently.
    assert [b.tolist() for b in batches] != [b.tolist() for b in sentence_batches(sentence, 50, rng)]


def test_prediction_batches_go_by_length():
    sentence = np.array([0, 0, 1, 1, 1, 2, 3, 3])
    lengths = np.array([9, 9, 2, 2, 2, 30, 5, 5])
    batches = sentence_batches(sentence, 3, lengths=lengths)
    # By length: 1 (3 instances), 3, 0, 2; 2's one instance still fits beside 0's two.
    assert [sorted(set(sentence[b].tolist())) for b in batches] == [[1], [3], [0, 2]]


@pytest.mark.parametrize("name", ["ye2019", "pcnn"])
def test_model_under_torch_compile_fullgraph(name):
    inst, index, sizes = batch_for("standard", lambda i: sentence_batches(i.sentence, 64, np.random.default_rng(0)))
    batch = to_batch(inst, index, torch.device("cpu"), grouped=True)
    model = build_model(ModelSpec(name), sizes).eval()
    expected = model(batch).scores  # eager first: the extension loads outside the trace
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(batch).scores, expected)
    model.train()
    loss = model.loss(compiled(batch), batch["labels"])
    loss.backward()
    assert model.words.grad is not None and model.positions.grad.abs().sum() > 0


# ---- the encoder option, devices ----------------------------------------------------

def test_runs_stored_before_encoders_keep_their_keys():
    """Dense runs keep the keys they had before the option existed (a dense spec's key
    leaves the encoder out): a dense spec with their settings has their key, and the
    shared one another. Checked on the published parity runs."""
    import json
    from pathlib import Path

    runs = sorted((Path(__file__).parents[1] / "reports/results/chisiec-standard-encoders/runs").glob("*.json"))
    dense = [m for m in (json.loads(p.read_text())["model"] for p in runs) if m.get("encoder", "dense") == "dense"]
    assert dense
    for model in dense:
        fields = {k: model[k] for k in ("name", "tags", "objective", "predict_rule", "threshold")}
        params = tuple(sorted(model["params"].items()))
        assert ModelSpec(**fields, params=params, encoder="dense").key() == model["key"]
        if model["name"] != "att_bilstm":
            assert ModelSpec(**fields, params=params).key() != model["key"]


def test_encoder_in_specs():
    from relext_bench.errors import UserError
    from relext_bench.models.spec import parse_model, spec_text

    assert parse_model("ye2019").resolved().encoder == "shared"
    dense = parse_model("cnn:encoder=dense,filters=10")
    assert dense.encoder == "dense" and parse_model(spec_text(dense)) == dense.resolved()
    assert "enc=dense" in dense.label() and "enc=" not in parse_model("cnn").label()
    assert parse_model("att_bilstm").resolved().encoder == "shared"
    assert parse_model("att_bilstm").key() != parse_model("att_bilstm:encoder=dense").key()
    with pytest.raises(UserError, match="unknown encoder 'sparse'"):
        parse_model("cnn:encoder=sparse")


def test_devices(monkeypatch):
    from relext_bench.errors import UserError
    from relext_bench.experiments.runner import spread_devices
    from relext_bench.training.trainer import TrainConfig, resolve_device

    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        with pytest.raises(UserError, match="no CUDA device"):
            resolve_device("cuda:1")
    with pytest.raises(UserError, match="use cpu, cuda, cuda:N or auto"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert [spread_devices(TrainConfig(), k).device for k in range(3)] == ["cuda:0", "cuda:1", "cuda:0"]
    assert spread_devices(TrainConfig(device="cpu"), 1).device == "cpu"


def test_cuda_without_cuda_kernels_runs_the_reference_after_one_warning(monkeypatch):
    import warnings

    from relext_bench.kernels import kernels_for, ops

    monkeypatch.setitem(ops._state, "backend", "cpp")  # built without the CUDA kernels
    monkeypatch.delitem(ops._state, "warned_cuda", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert kernels_for("cuda") == kernels_for(torch.device("cuda:0")) == "reference"
    assert len(caught) == 1 and "without its CUDA kernels" in str(caught[0].message)
    assert kernels_for("cpu") == "cpp"
    monkeypatch.setitem(ops._state, "backend", "cpp+cuda")
    assert kernels_for("cuda") == "cuda"


# ---- the BiLSTM's recurrence ------------------------------------------------------

def test_recurrence_backward_is_the_gradient_of_its_forward():
    from relext_bench_baselines.recurrence import recurrence, reference

    torch.manual_seed(0)
    lengths = [6, 4, 4, 2, 1]
    sizes = [2 * sum(n > t for n in lengths) for t in range(max(lengths))]
    x = torch.randn(sum(sizes), 12, dtype=torch.double, requires_grad=True)
    w = torch.randn(2, 3, 12, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: recurrence(x, w, sizes), (x, w))
    out, ref = recurrence(x, w, sizes), reference(x, w, sizes)
    torch.testing.assert_close(out, ref)
    grads = torch.autograd.grad(out.sin().sum(), (x, w)), torch.autograd.grad(ref.sin().sum(), (x, w))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", CONV_MODELS + ["att_bilstm:hidden=7", "att_bilstm:markers=true,position_dim=0,hidden=7"])
def test_encoders_have_the_same_gradients_without_dropout(name):
    """In training, with no dropout to draw, the two encoders give the same loss and the
    same gradient for every parameter (the shared convolutions' products and the
    BiLSTM's recurrence have backward passes of their own making)."""
    inst, index, sizes = batch_for("standard", lambda i: sentence_batches(i.sentence, 64, np.random.default_rng(0)))
    base_name, _, params = name.partition(":")
    params = dict(p.split("=") for p in params.split(",") if p)
    fields = dataclasses.fields(model_entry(base_name).config)
    params.update({f.name: 0.0 for f in fields if f.name.endswith("dropout")})
    spec = ModelSpec(base_name).with_params(**params)
    torch.manual_seed(0)
    dense = build_model(dataclasses.replace(spec, encoder="dense"), sizes).train()
    shared = build_model(spec, sizes).train()
    shared.load_state_dict(dense.state_dict())
    batch = to_batch(inst, index, torch.device("cpu"), grouped=True)
    losses = [m.loss(m(batch), batch["labels"]) for m in (dense, shared)]
    for loss in losses:
        loss.backward()
    torch.testing.assert_close(losses[1], losses[0], atol=1e-6, rtol=0)
    for (name_, a), b in zip(dense.named_parameters(), shared.parameters()):
        if a.numel() == 0:  # position_dim=0: an empty table
            continue
        # Tolerance on the tensor's scale: under BatchNorm's batch statistics a bias's gradient
        # is a near-cancelling sum, so single entries carry rounding of the whole tensor's size.
        torch.testing.assert_close(b.grad, a.grad, atol=1e-5 + 1e-4 * a.grad.abs().max().item(), rtol=1e-4,
                                   msg=name_)
