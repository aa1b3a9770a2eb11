"""Every model x tag scheme x objective behind one interface; the trainer's guarantees."""
import json
import os
from dataclasses import replace
from unittest.mock import ANY

import numpy as np
import pytest
import torch

from relext_bench.cli import main
from relext_bench.data import registry
from relext_bench.models import ModelSpec, Sizes, build_model, known, model_entry, objectives
from relext_bench.protocols import PROTOCOLS
from relext_bench.records import unpack_labels
from relext_bench.training.batches import epoch_batches
from relext_bench.training.trainer import TrainConfig, train_run

TINY = "synth_zh:documents=12"
SMALL = "synth_zh:documents=6"  # for tests that train a model several times
FAST = TrainConfig(max_epochs=1, batch_size=64, progress=False)


def tiny_run(spec, seed=1, protocol="paper", cfg=FAST, corpus=TINY):
    corpus = registry.load(corpus)
    prot = PROTOCOLS[protocol]
    return train_run(corpus, prot, prot.partitions(corpus)[0], spec, seed, cfg)


@pytest.mark.parametrize("name", ["ye2019", "cnn", "pcnn", "cr_cnn", "att_bilstm"])
@pytest.mark.parametrize("tags", ["none", "bio", "bio_typed", "random"])
@pytest.mark.parametrize("objective", ["ce", "ranking", "multitask"])
def test_every_model_tags_objective_trains_an_epoch(name, tags, objective):
    record = tiny_run(ModelSpec(name, tags=tags, objective=objective))
    assert record["status"] == "finished", record.get("failure")
    assert record["epochs"] == 1 and len(record["curve"]) == 1
    test = record["test"]
    n = record["instances"]["test"]
    assert len(unpack_labels(record["predictions"]["test_pred"])) == n
    assert 0.0 <= test["micro_f1"] <= 1.0
    assert record["model"]["objective"] == objective and record["policy"]["tags"] == tags
    clock = record["timings"]  # the report's wall time, pauses and load come from these
    assert clock["started"] <= clock["finished"] and len(clock["load"]) == 2
    assert 0 < clock["cpu_s"] <= (clock["finished"] - clock["started"]) * os.cpu_count() + 0.1
    assert record["environment"]["pid"] == os.getpid()


def with_groups(batch):
    """Each instance its own row group (what the shared encoder reads)."""
    return {**batch, "group": torch.arange(len(batch["lengths"])), "group_tokens": batch["tokens"],
            "group_tags": batch["tags"]}


@pytest.mark.parametrize("encoder", ["shared", "dense"])
@pytest.mark.parametrize("name", ["ye2019", "cnn", "pcnn", "cr_cnn", "att_bilstm"])
def test_same_interface_and_head_shapes(name, encoder):
    sizes = Sizes(words=30, positions=18, tags=9, labels=7)
    B, L = 5, 11
    g = torch.Generator().manual_seed(0)
    batch = {"tokens": torch.randint(1, 30, (B, L), generator=g), "pos1": torch.randint(1, 18, (B, L), generator=g),
             "pos2": torch.randint(1, 18, (B, L), generator=g), "tags": torch.randint(1, 9, (B, L), generator=g),
             "lengths": torch.tensor([11, 9, 5, 3, 11]), "e1": torch.tensor([[0, 1]] * B),
             "e2": torch.tensor([[2, 3]] * B)}
    batch["mask"] = torch.arange(L)[None, :] < batch["lengths"][:, None]
    for objective, (k, ids) in {"ce": (7, None), "ranking": (6, None), "multitask": (6, (B, 2))}.items():
        model = build_model(ModelSpec(name, objective=objective, encoder=encoder), sizes).eval()
        out = model(with_groups(batch))
        assert out.scores.shape == (B, k)
        assert (out.id_logits.shape if out.id_logits is not None else None) == ids
        assert model.predict(out).shape == (B,)
        # Padding beyond a row's length does not change its output.
        changed = {**batch, "tokens": batch["tokens"].clone()}
        changed["tokens"][3, 5:] = 7
        torch.testing.assert_close(model(with_groups(changed)).scores[3], out.scores[3])


def test_tag_width_follows_the_scheme():
    sizes = Sizes(30, 18, 9, 7)
    assert build_model(ModelSpec("ye2019", tags="none"), sizes).input_width == 300
    assert build_model(ModelSpec("ye2019", tags="bio_typed"), sizes).input_width == 350


def test_prediction_rules():
    scores = torch.tensor([[0.2, 0.4], [0.7, 0.1], [-1.0, -0.5]])
    ids = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0]])
    assert objectives.predict("ranking", scores, None, 0.5).tolist() == [0, 1, 0]
    assert objectives.predict("ranking", scores, None, 0.0).tolist() == [2, 1, 0]
    assert objectives.predict("multitask", scores, ids, 0.5, "paper").tolist() == [0, 1, 0]
    assert objectives.predict("multitask", scores, ids, 0.5, "gated").tolist() == [2, 0, 2]


def test_same_seed_same_run_other_seed_differs():
    spec = ModelSpec("ye2019")
    a, b, c = tiny_run(spec, seed=3), tiny_run(spec, seed=3), tiny_run(spec, seed=4)
    assert a["predictions"] == b["predictions"] and a["test"] == b["test"] and a["curve"][0]["train_loss"] == b["curve"][0]["train_loss"]
    assert a["curve"][0]["train_loss"] != c["curve"][0]["train_loss"]


def test_nan_loss_is_a_recorded_failure():
    record = tiny_run(ModelSpec("cnn"), cfg=TrainConfig(max_epochs=2, lr=1e30, optimizer="sgd", grad_clip=None,
                                                        progress=False))
    assert record["status"] == "failed" and "loss became" in record["failure"]


def test_a_batch_of_one_is_refused_rather_than_never_trained():
    from relext_bench.errors import UserError

    with pytest.raises(UserError, match="batches of at least 2"):
        tiny_run(ModelSpec("cnn"), cfg=TrainConfig(max_epochs=1, batch_size=1, progress=False))


def test_a_refit_trains_on_train_and_dev_for_the_chosen_epochs_and_is_the_model_scored():
    from dataclasses import asdict

    from relext_bench.errors import UserError
    from relext_bench.experiments.runner import settings

    cfg = TrainConfig(max_epochs=4, patience=1, min_steps=0, batch_size=128, progress=False, lr=3e-3)
    plain = tiny_run(ModelSpec("cnn"), protocol="standard", cfg=cfg, corpus=SMALL)
    record = tiny_run(ModelSpec("cnn"), protocol="standard", cfg=replace(cfg, refit=True), corpus=SMALL)
    refit, counts = record["refit"], record["instances"]
    # Early stopping ran as without --refit: it chose the epochs and its dev scores stand.
    assert record["curve"] == [c | {"train_seconds": ANY, "train_instances_per_s": ANY} for c in plain["curve"]]
    assert record["dev"] == plain["dev"] and refit["epochs"] == plain["best_epoch"] == record["best_epoch"]
    assert refit["selected_test"]["micro_f1"] == plain["test"]["micro_f1"]
    # The refit saw train + dev, for exactly that many epochs: more steps per epoch than on train alone.
    assert refit["instances"] == counts["train"] + counts["dev"] and len(refit["curve"]) == refit["epochs"]
    assert refit["steps"] / refit["epochs"] > plain["curve"][0]["steps"]
    # Its predictions are the ones scored on test.
    gold, pred = (unpack_labels(record["predictions"][k]) for k in ("test_gold", "test_pred"))
    assert record["test"]["micro_f1"] == pytest.approx(evaluate_micro(gold, pred, record["labels"]))
    assert "refit" not in settings(cfg, None) and settings(replace(cfg, refit=True), None)["refit"] is True
    assert asdict(TrainConfig())["refit"] is False
    with pytest.raises(UserError, match="refit needs a test set of its own"):
        tiny_run(ModelSpec("cnn"), protocol="paper", cfg=replace(cfg, refit=True), corpus=SMALL)


def test_a_run_killed_in_mid_training_resumes_from_its_checkpoint_and_computes_the_same(tmp_path, monkeypatch):
    """A run stopped after its second epoch (here by an exception from `on_epoch`, as a
    kill would) resumes from the file at its last saved epoch and ends with the record
    of the run that was never stopped."""
    from relext_bench.training import checkpoint

    monkeypatch.setattr(checkpoint, "EVERY_S", 0.0)  # save after every epoch
    corpus, prot = registry.load(SMALL), PROTOCOLS["standard"]
    part = prot.partitions(corpus)[0]
    cfg = TrainConfig(max_epochs=3, patience=1, min_steps=0, batch_size=128, progress=False, lr=3e-3, threads=1)
    spec = ModelSpec("cnn", params=(("dropout", "0.5"),))  # dropout: the torch generator must be restored too
    whole = train_run(corpus, prot, part, spec, 3, cfg)
    path = tmp_path / "run.ckpt"

    def kill(epoch, steps, metric):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_run(corpus, prot, part, spec, 3, cfg, on_epoch=kill, checkpoint=path)
    assert torch.load(path, weights_only=False)["epoch"] == 1  # epoch 2's end was never saved
    resumed = train_run(corpus, prot, part, spec, 3, cfg, checkpoint=path)
    assert resumed["timings"]["resumed_after_epoch"] == 1
    untimed = {"train_seconds": ANY, "train_instances_per_s": ANY}
    assert resumed["curve"] == [c | untimed for c in whole["curve"]]
    assert resumed["best_epoch"] == whole["best_epoch"] and resumed["test"] == whole["test"]
    assert resumed["predictions"] == whole["predictions"]
    # A file that does not fit the model is set aside and the run starts over.
    torch.save({"model": {"other": torch.zeros(1)}}, path)
    again = train_run(corpus, prot, part, spec, 3, cfg, checkpoint=path)
    assert "resumed_after_epoch" not in again["timings"] and again["test"] == whole["test"]
    assert (tmp_path / "run.ckpt.unused").exists()


def evaluate_micro(gold, pred, labels) -> float:
    from relext_bench.metrics import evaluate

    return evaluate(gold, pred, labels)["micro_f1"]


@pytest.mark.parametrize("criterion", ["dev_loss", "dev_metric"])
def test_early_stopping_restores_best_and_stops(criterion):
    cfg = TrainConfig(max_epochs=30, patience=1, min_steps=0, progress=False, lr=3e-3, early_stopping=criterion)
    record = tiny_run(ModelSpec("cnn"), cfg=cfg)
    assert record["status"] == "finished"
    if criterion == "dev_loss":
        best = int(np.argmin([c["dev_loss"] for c in record["curve"]]))
    else:  # the paper protocol's metric; the first epoch that reached the best score
        best = int(np.argmax([c["dev_weighted_f1"] for c in record["curve"]]))
    assert record["best_epoch"] == best + 1
    assert record["epochs"] < 30 and record["epochs"] - record["best_epoch"] == 2
    # The restored model is the best epoch's: its dev score is the curve's at that epoch.
    if criterion == "dev_metric":
        assert record["dev"]["weighted_f1"] == pytest.approx(record["curve"][best]["dev_weighted_f1"])


def test_training_converges_by_default():
    cfg = TrainConfig()
    assert (cfg.early_stopping, cfg.patience, cfg.min_steps, cfg.max_epochs) == ("dev_metric", 10, 2000, 200)


def test_no_early_stop_before_min_steps():
    cfg = TrainConfig(max_epochs=30, patience=1, progress=False, lr=3e-3)
    quick, held = tiny_run(ModelSpec("cnn"), cfg=replace(cfg, min_steps=0)), tiny_run(ModelSpec("cnn"), cfg=cfg)
    assert quick["epochs"] < 30 and held["epochs"] == 30  # a tiny corpus never reaches 2000 steps
    assert held["curve"][-1]["steps"] < 2000
    dev = [c["dev_weighted_f1"] for c in held["curve"]]  # the same run, only longer
    assert [c["dev_weighted_f1"] for c in quick["curve"]] == dev[:quick["epochs"]]


def test_leak_probe_informative_under_paper_not_standard():
    paper = tiny_run(ModelSpec("pcnn"), protocol="paper")["leak_probe"]["train"]
    standard = tiny_run(ModelSpec("pcnn"), protocol="standard")["leak_probe"]["train"]
    ordered = tiny_run(ModelSpec("pcnn"), protocol="ordered")["leak_probe"]["train"]
    assert paper["reversed_share_of_negatives"] == 0.0 and paper["reversed_share_of_positives"] > 0.2
    assert paper["informative"] and paper["lift"] > 5
    assert not ordered["informative"] and 0.8 < ordered["lift"] < 1.2
    assert not standard["informative"] and standard["reversed_share_of_positives"] == 0.0


def test_record_carries_what_a_report_needs():
    r = tiny_run(ModelSpec("cr_cnn"))
    for key in ("corpus", "protocol", "partition", "policy", "model", "seed", "dev", "test", "curve",
                "timings", "environment", "predictions", "leak_probe"):
        assert key in r
    assert r["corpus"]["synthetic"] is True and r["environment"]["kernel_backend"] in ("cpp", "reference")
    assert r["device"] == "cpu" and r["model"]["encoder"] == "shared"
    assert r["timings"]["train_instances_per_s"] > 0
    json.dumps(r)


def test_epoch_batches_cover_everything_once_and_bucket():
    lengths = np.random.default_rng(0).integers(1, 300, 5000)
    batches = epoch_batches(lengths, 64, np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(5000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 50  # random batches would span about 290


def test_train_cli_writes_record(tmp_path, capsys):
    assert main(["train", "--corpus", TINY, "--model", "pcnn", "--tags", "bio", "--objective", "ranking",
                 "--protocol", "paper", "--fold", "2", "--max-epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "test micro P/R/F1" in out and "leak probe" in out
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    assert record["partition"] == "fold-2" and record["model"]["tags"] == "bio"


@pytest.mark.parametrize("argv, message", [
    (["--model", "nope"], "unknown model 'nope'"),
    (["--model", "cnn", "--param", "filters=abc"], "'abc' is not a int"),
    (["--model", "cnn", "--param", "colour=1"], "unknown hyper-parameter 'colour'"),
    (["--model", "cnn", "--fold", "2"], "--fold applies to the paper protocol"),
])
def test_train_cli_errors(tmp_path, capsys, argv, message):
    assert main(["train", "--corpus", TINY, "--max-epochs", "1", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_the_registry_finds_the_built_in_model_and_the_installed_baselines():
    build_model(ModelSpec("cnn"), Sizes(5, 5, 5, 3))
    assert set(known()) == {"ye2019", "cnn", "pcnn", "cr_cnn", "att_bilstm"}
    for name in known():  # the harness's own: no identity in their keys, so stored runs keep theirs
        assert model_entry(name).identity is None
    assert model_entry("cnn").model.__module__ == "relext_bench_baselines.cnn"


def vectors(tmp_path, dim, words=8):
    """A word2vec file for the first `words` tokens of the tiny corpus."""
    corpus = registry.load(TINY)
    tokens = list(dict.fromkeys(t for s in corpus.sentences() for t in s.tokens))[:words]
    path = tmp_path / "vectors.txt"
    path.write_text("".join(f"{t} " + " ".join(f"{0.01 * (k + d):.2f}" for d in range(dim)) + "\n"
                            for k, t in enumerate(tokens)), encoding="utf-8")
    return path


def test_train_with_pretrained_embeddings(tmp_path, capsys):
    path = vectors(tmp_path, 6)
    assert main(["train", "--corpus", TINY, "--model", "cnn", "--param", "word_dim=6", "--protocol", "paper",
                 "--max-epochs", "1", "--embeddings", str(path), "--out", str(tmp_path / "out")]) == 0
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")]
    emb = record["embeddings"]
    assert emb["file"] == "vectors.txt" and emb["dim"] == 6 and 0 < emb["covered"] <= 8
    assert emb["coverage"] == emb["covered"] / emb["vocabulary"] and len(emb["sha256"]) == 64
    capsys.readouterr()
    assert main(["train", "--corpus", TINY, "--model", "cnn", "--protocol", "paper", "--max-epochs", "1",
                 "--embeddings", str(path), "--out", str(tmp_path / "out2")]) == 2
    assert "the embeddings have 6 dimensions, the model's words 200: add word_dim=6" in capsys.readouterr().err


def test_embeddings_are_part_of_a_runs_key(tmp_path, capsys):
    from relext_bench.experiments.runner import settings

    path = vectors(tmp_path, 4)
    plain, pretrained = settings(FAST, None), settings(replace(FAST, embeddings=str(path)), None)
    assert "embeddings" not in plain and "embeddings_sha256" not in plain  # keys without embeddings unchanged
    assert len(pretrained["embeddings_sha256"]) == 64
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1 nan\n")
    assert main(["compare", "--corpus", TINY, "--models", "cnn:word_dim=3", "--seeds", "1",
                 "--embeddings", str(bad), "--out", str(tmp_path / "out"), "--reports", str(tmp_path)]) == 2
    assert "bad.txt:1: 'nan' is not a finite number" in capsys.readouterr().err
    assert not list((tmp_path / "out").rglob("*.json"))  # refused before any run


def test_the_pretrained_vocabulary_gives_words_unseen_in_training_their_vectors(tmp_path):
    from relext_bench.data.embeddings import table_words
    from relext_bench.data.instances import builder_for
    from relext_bench.experiments.runner import settings
    from relext_bench.training.trainer import load_embeddings

    corpus = registry.load(TINY)
    part = PROTOCOLS["paper"].partitions(corpus)[0]
    train_sents = [s for d in part.train for s in d.sentences]
    seen = {t for s in train_sents for t in s.tokens}
    unseen = sorted({t for s in corpus.sentences() for t in s.tokens} - seen)[:3]
    assert len(unseen) == 3, "the tiny corpus's held-out fold has words its training folds lack"
    path = tmp_path / "vectors.txt"
    path.write_text("".join(f"{t} {k} 0.5 -1\n" for k, t in enumerate([*sorted(seen)[:2], *unseen, "absent"])),
                    encoding="utf-8")
    policy = PROTOCOLS["paper"].policy
    cfg = replace(FAST, embeddings=str(path))
    assert table_words(cfg.embeddings, cfg.vocabulary, corpus) == set()  # the default: the training words only
    wide = replace(cfg, vocabulary="pretrained")
    assert table_words(wide.embeddings, wide.vocabulary, corpus) == {*sorted(seen)[:2], *unseen}  # the corpus's words only
    narrow, full = builder_for(corpus, policy, train_sents), builder_for(corpus, policy, train_sents, extra_words=unseen)
    assert full.words.itos[:len(narrow.words)] == narrow.words.itos  # training words keep their ids
    assert full.words.itos[len(narrow.words):] == unseen
    model = build_model(ModelSpec("cnn", params=(("word_dim", 3),)), Sizes(len(full.words), 10, 3, 3))
    record = load_embeddings(model, str(path), full.words, len(narrow.words) - 2)
    assert record["covered"] == 2 and record["added"] == 3 and record["vocabulary"] == len(narrow.words) - 2
    assert model.words[full.words.stoi[unseen[1]]].tolist() == [3, 0.5, -1]  # its own pretrained row
    assert "vocabulary" not in settings(cfg, None)  # runs with the training words keep their keys
    assert settings(wide, None)["vocabulary"] == "pretrained"


@pytest.mark.parametrize("e1, e2, expected", [
    ((1, 2), (3, 5), ["a", "<e1>", "b", "</e1>", "c", "<e2>", "d", "e", "</e2>"]),
    ((0, 1), (1, 2), ["<e1>", "a", "</e1>", "<e2>", "b", "</e2>", "c", "d", "e"]),  # adjacent mentions
    ((3, 5), (0, 2), ["<e2>", "a", "b", "</e2>", "c", "<e1>", "d", "e", "</e1>"]),
])
def test_att_bilstm_markers_stand_at_the_mentions_edges(e1, e2, expected):
    from relext_bench_baselines.att_bilstm import with_markers

    from relext_bench.models.spec import parse_model

    model = build_model(parse_model("att_bilstm:markers=true,position_dim=0,word_dim=4,tag_dim=2"),
                        Sizes(words=8, positions=5, tags=3, labels=3))
    width = model.input_width
    names = ["a", "b", "c", "d", "e"]
    tokens = torch.stack([torch.full((width,), float(10 + k)) for k in range(5)] + [torch.zeros(width)])  # + padding
    x = tokens.unsqueeze(0)  # [1, 6, D]: five tokens and one padding
    batch = {"e1": torch.tensor([e1]), "e2": torch.tensor([e2]), "lengths": torch.tensor([5])}
    out, lengths = with_markers(x, batch, model.marker_vectors)
    markers = {tuple(v.tolist()): n for v, n in zip(model.marker_vectors, ["<e1>", "</e1>", "<e2>", "</e2>"])}
    seen = [names[int(row[0]) - 10] if row[0] >= 10 else markers[tuple(row.tolist())] for row in out[0, :9]]
    assert seen == expected and lengths.tolist() == [9] and (out[0, 9] == 0).all()


def test_att_bilstm_s_lstm_dropout_acts_on_its_outputs_in_training_only():
    from relext_bench.models.spec import parse_model

    def attention_input(spec: str, train: bool) -> torch.Tensor:
        torch.manual_seed(0)
        model = build_model(parse_model(spec), Sizes(words=8, positions=5, tags=3, labels=3)).train(train)
        seen = []
        model.attention.register_forward_hook(lambda module, args, out: seen.append(args[0]))
        x = torch.randn(2, 6, model.input_width)
        model.encode(x, {"lengths": torch.tensor([6, 4]), "mask": torch.ones(2, 6, dtype=torch.bool)})
        return torch.atanh(seen[0])  # the attention reads tanh(h)

    plain, zhou = "att_bilstm:word_dim=4,dropout=0.0,input_dropout=0.0", "att_bilstm:word_dim=4,dropout=0.0,input_dropout=0.0,lstm_dropout=0.5"
    h, dropped = attention_input(plain, True), attention_input(zhou, True)
    zeroed = dropped == 0
    assert 0.3 < zeroed.float().mean() < 0.7  # about half of h's units
    torch.testing.assert_close(dropped[~zeroed], 2 * h[~zeroed], rtol=1e-4, atol=1e-5)  # the rest scaled by 1 / (1 - p)
    torch.testing.assert_close(attention_input(zhou, False), attention_input(plain, False))


def test_zeng_2014_s_cnn_has_its_hidden_layer():
    from relext_bench.models.spec import parse_model

    model = build_model(parse_model("cnn:widths=3,filters=200,hidden=100,word_dim=50,position_dim=5"),
                        Sizes(words=8, positions=5, tags=3, labels=3))
    assert model.hidden.in_features == 200 and model.classifier.in_features == 100


def test_zeng_2014_s_convolution_is_linear_before_its_hidden_layer():
    """`pool_tanh=false`: features tanh(W max_t conv), without the tanh on the pooled
    convolutions that the multi-width CNN applies."""
    from relext_bench.models.spec import parse_model

    spec = "cnn:widths=3,filters=6,hidden=4,word_dim=5,position_dim=2,dropout=0.0"
    sizes = Sizes(words=8, positions=5, tags=3, labels=3)
    torch.manual_seed(0)
    zeng, ours = build_model(parse_model(spec + ",pool_tanh=false"), sizes), build_model(parse_model(spec), sizes)
    ours.load_state_dict(zeng.state_dict())
    x = torch.randn(2, 7, zeng.input_width) * 3
    batch = {"mask": torch.ones(2, 7, dtype=torch.bool)}
    pooled = torch.nn.functional.conv1d(x.transpose(1, 2), zeng.convs[0].weight, zeng.convs[0].bias, padding=1).amax(-1)
    zeng.eval(), ours.eval()
    torch.testing.assert_close(zeng.encode(x, batch), torch.tanh(zeng.hidden(pooled)))
    torch.testing.assert_close(ours.encode(x, batch), torch.tanh(ours.hidden(torch.tanh(pooled))))


def test_cr_cnn_between_the_nominals_reads_as_if_the_input_were_cropped_to_them():
    """`span=between`: the features of a sentence equal those of the same model on the
    words from the first nominal to the second alone; outside them nothing counts."""
    from relext_bench.errors import UserError
    from relext_bench.models.spec import parse_model

    spec = "cr_cnn:filters=6,word_dim=5,position_dim=2,encoder=dense"
    sizes = Sizes(words=8, positions=5, tags=3, labels=3)
    torch.manual_seed(0)
    between, whole = build_model(parse_model(spec + ",span=between"), sizes), build_model(parse_model(spec), sizes)
    whole.load_state_dict(between.state_dict())
    between.eval(), whole.eval()
    x = torch.randn(2, 9, between.input_width)
    batch = {"mask": torch.tensor([[True] * 9, [True] * 7 + [False] * 2]),
             "e1": torch.tensor([[2, 3], [5, 7]]), "e2": torch.tensor([[6, 7], [1, 2]])}  # the second pair reversed
    got = between.encode(x, batch)
    for i, (a, b) in enumerate([(2, 7), (1, 7)]):
        cropped = {"mask": torch.ones(1, b - a, dtype=torch.bool)}
        torch.testing.assert_close(got[i:i + 1], whole.encode(x[i:i + 1, a:b], cropped))
    changed = x.clone()
    changed[0, :2], changed[0, 7:] = 9.0, -9.0  # words outside the span
    torch.testing.assert_close(between.encode(changed, batch)[0], got[0])
    assert not torch.allclose(whole.encode(changed, batch)[0], whole.encode(x, batch)[0])
    with pytest.raises(UserError, match="add encoder=dense"):
        build_model(parse_model("cr_cnn:span=between"), sizes)
    with pytest.raises(UserError, match="span must be sentence or between"):
        build_model(parse_model("cr_cnn:span=middle,encoder=dense"), sizes)


def test_ranking_with_other_as_a_class():
    """dos Santos et al.'s alternative to omitting Other: one more class vector, the
    ranking loss over all C + 1 scores (Other the class 0), prediction by argmax."""
    from relext_bench.kernels.reference import ranking_loss_reference

    spec = ModelSpec("cr_cnn", tags="none", objective="ranking_other")
    assert objectives.head_sizes("ranking_other", 6) == (7, 0) and spec.resolved().threshold == 0.0
    scores = torch.tensor([[3.0, 1.0, -2.0], [0.5, 2.0, 1.0], [-1.0, -1.0, 0.2]])
    labels = torch.tensor([0, 1, 2])  # Other is scored like any class
    loss = objectives.loss("ranking_other", scores, None, labels)
    torch.testing.assert_close(loss, ranking_loss_reference(scores, labels).mean())
    assert objectives.predict("ranking_other", scores, None).tolist() == [0, 1, 2]
    record = tiny_run(spec)
    assert record["status"] == "finished" and record["model"]["objective"] == "ranking_other"
