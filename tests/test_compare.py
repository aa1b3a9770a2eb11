"""compare: runs stored at once, keyed; a killed comparison resumes, losing and repeating nothing."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from relext_bench.cli import main
from relext_bench.experiments.compare import compare
from relext_bench.experiments.runner import Options
from relext_bench.experiments.store import Store
from relext_bench.models.spec import parse_model
from relext_bench.specs import split_specs as split_models
from relext_bench.training.trainer import TrainConfig

CORPUS = "synth_zh:documents=6"
MODELS = "pcnn:filters=16,cnn:filters=8"
ARGS = ["--corpus", CORPUS, "--protocol", "paper", "--models", MODELS, "--seeds", "1",
        "--max-epochs", "1", "--threads", "1"]


def test_split_and_parse_models():
    assert split_models("ye2019:tags=none,objective=ranking,cnn,pcnn:filters=10") == \
        ["ye2019:tags=none,objective=ranking", "cnn", "pcnn:filters=10"]
    spec = parse_model("ye2019:tags=none,objective=ranking,filters=32")
    assert (spec.tags, spec.objective, dict(spec.params)) == ("none", "ranking", {"filters": "32"})


def test_sigkill_then_resume_loses_and_repeats_nothing(tmp_path):
    out = tmp_path / "results"
    cmd = [sys.executable, "-m", "relext_bench", "compare", *ARGS, "--out", str(out),
           "--reports", str(tmp_path / "reports")]
    log = tmp_path / "compare.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=fh, start_new_session=True)
    runs = out / "runs"
    try:
        deadline = time.time() + 300
        while time.time() < deadline and len(list(runs.glob("*.json")) if runs.exists() else []) < 2:
            time.sleep(0.2)
    finally:  # also when the test is stopped: no comparison left to disturb the next tests
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = {p.name: p.read_bytes() for p in runs.glob("*.json")}
    assert 2 <= len(before) < 10, f"the comparison should be killed mid-way: {log.read_text()[-2000:]}"
    result = compare(Options(CORPUS, "paper", seeds=1, out=str(out), train=TrainConfig(max_epochs=1, threads=1),
                             progress=False), split_models(MODELS))
    assert result["jobs"] == 10  # 2 models x 5 folds x 1 seed
    assert result["already_done"] == len(before) and len(result["ran"]) == 10 - len(before)
    assert not set(result["ran"]) & {name[:-5] for name in before}
    after = {p.name: p.read_bytes() for p in runs.glob("*.json")}
    assert len(after) == 10 and all(after[name] == data for name, data in before.items())
    assert not list(runs.glob(".*.tmp"))
    again = compare(Options(CORPUS, "paper", seeds=1, out=str(out), train=TrainConfig(max_epochs=1, threads=1),
                            progress=False), split_models(MODELS))
    assert again["ran"] == []


def test_each_run_keeps_its_progress_beside_its_record_until_the_record_is_stored(tmp_path, monkeypatch):
    from relext_bench.training import checkpoint

    saved, save = [], checkpoint.save
    monkeypatch.setattr(checkpoint, "EVERY_S", 0.0)
    monkeypatch.setattr(checkpoint, "save", lambda path, state: (saved.append(path), save(path, state)))
    result = compare(Options(CORPUS, "standard", seeds=1, out=str(tmp_path), progress=False,
                             train=TrainConfig(max_epochs=2, min_steps=0, threads=1)), split_models("cnn:filters=8"))
    (key,) = result["ran"]
    assert len(saved) == 2 and set(saved) == {Store(tmp_path).checkpoint(key)}  # after each epoch
    assert not list((tmp_path / "runs").glob("*.ckpt")) and Store(tmp_path).has(key)


def test_failed_run_is_recorded_not_averaged(tmp_path, capsys):
    from relext_bench.cli import main

    assert main(["compare", "--corpus", CORPUS, "--models", "cnn:filters=8", "--seeds", "1", "--max-epochs", "1",
                 "--out", str(tmp_path), "--reports", str(tmp_path / "reports")]) == 0
    assert "test micro_f1" in capsys.readouterr().out
    # A run whose training diverges is stored as failed.
    bad = TrainConfig(max_epochs=2, lr=1e30, optimizer="sgd", grad_clip=None)
    result = compare(Options(CORPUS, "standard", seeds=1, out=str(tmp_path / "bad"), train=bad, progress=False),
                     ["cnn:filters=8"])
    (record,) = Store(tmp_path / "bad").records()
    assert record.status == "failed" and "loss became" in record.failure and result["ran"]


@pytest.mark.parametrize("workers", [2])
def test_workers_produce_the_same_records_as_one_process(tmp_path, workers):
    cfg = TrainConfig(max_epochs=1, threads=1)
    compare(Options(CORPUS, "standard", seeds=2, out=str(tmp_path / "one"), train=cfg, progress=False),
            ["pcnn:filters=16"])
    compare(Options(CORPUS, "standard", seeds=2, workers=workers, out=str(tmp_path / "many"), train=cfg,
                    progress=False), ["pcnn:filters=16"])
    one = {r.key: r.test for r in Store(tmp_path / "one").records()}
    many = {r.key: r.test for r in Store(tmp_path / "many").records()}
    assert one == many and len(one) == 2


@pytest.mark.parametrize("spec, message", [
    ("cnn:foo=1", "unknown hyper-parameter 'foo'"),
    ("cnn:word_dim=-5", "its hyper-parameters do not make a model"),
    ("cnn:dropout=2", "its hyper-parameters do not make a model"),
    ("cnn:threshold=abc", "threshold 'abc' is not a number"),
    ("cnn:threshold=nan", "threshold 'nan' is not finite"),
    ("cnn:filters=x", "'x' is not a int"),
])
def test_bad_hyper_parameters_are_refused_before_any_run(tmp_path, capsys, spec, message):
    out = tmp_path / "out"
    assert main(["compare", "--corpus", "synth_zh:documents=6", "--models", spec, "--seeds", "1",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (out / "runs").exists()  # nothing ran, nothing stored


def test_failed_runs_are_retried_and_fail_the_exit_status(tmp_path, capsys, monkeypatch):
    from relext_bench.experiments import runner

    argv = ["compare", "--corpus", "synth_zh:documents=6", "--protocol", "paper", "--models", "pcnn",
            "--seeds", "1", "--max-epochs", "1", "--out", str(tmp_path / "out"), "--reports", str(tmp_path)]
    real = runner.train_run
    monkeypatch.setattr(runner, "train_run", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk on fire")))
    assert main(argv) == 1
    assert "5 run(s) FAILED" in capsys.readouterr().err
    monkeypatch.setattr(runner, "train_run", real)
    assert main(argv) == 0  # the failures are retried, not kept
    out = capsys.readouterr().out
    assert "0 already stored, 5 run now" in out
    assert main(argv) == 0 and "5 already stored, 0 run now" in capsys.readouterr().out


def test_named_experiments_keep_their_own_manifests(tmp_path, capsys):
    out, reports = tmp_path / "out", tmp_path / "reports"
    common = ["compare", "--corpus", "synth_zh:documents=6", "--protocol", "paper", "--seeds", "1",
              "--max-epochs", "1", "--out", str(out), "--reports", str(reports)]
    assert main([*common, "--models", "pcnn", "--name", "first"]) == 0
    assert main([*common, "--models", "pcnn,cr_cnn", "--name", "second"]) == 0
    assert "5 already stored, 5 run now" in capsys.readouterr().out  # pcnn's runs are shared
    store = Store(out)
    assert sorted(store.manifests()) == ["compare@first", "compare@second"]
    assert len(store.manifest("compare@first").runs) == 5 and len(store.manifest("compare@second").runs) == 10
    for path in reports.glob("*.md"):
        path.unlink()
    assert main(["report", str(out), "--reports", str(reports)]) == 0  # rebuilds both
    assert sorted(p.name for p in reports.glob("*.md")) == ["first.md", "second.md"]
    assert "cr_cnn" in (reports / "second.md").read_text() and "cr_cnn" not in (reports / "first.md").read_text()


DAMAGE = {
    "truncated": lambda path, other: path.write_text(path.read_text()[:200]),
    "empty": lambda path, other: path.write_text(""),
    "list": lambda path, other: path.write_text("[]"),
    "null": lambda path, other: path.write_text("null"),
    "missing field": lambda path, other: path.write_text(
        json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != "test"})),
    "another run's record": lambda path, other: path.write_text(other.read_text()),
    "not UTF-8": lambda path, other: path.write_bytes(b"\xff\xfe{"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_records_are_set_aside_and_trained_again(tmp_path, capsys, damage):
    out, reports = tmp_path / "out", tmp_path / "reports"
    argv = ["compare", "--corpus", "synth_zh:documents=6", "--protocol", "paper", "--models", "pcnn",
            "--seeds", "1", "--max-epochs", "1", "--out", str(out), "--reports", str(reports)]
    assert main(argv) == 0
    capsys.readouterr()
    first, second = sorted((out / "runs").glob("*.json"))[:2]
    DAMAGE[damage](first, second)
    assert main(["report", str(out), "--reports", str(reports)]) == 0  # no traceback: shown as missing
    err = capsys.readouterr().err
    assert f"{first}:" in err and "moved to" in err and err.count("\n") == 1
    assert "1 run(s) not finished yet" in (reports / "synth_zh-paper-compare.md").read_text()
    assert (out / "runs" / "damaged" / first.name).exists()
    assert main(argv) == 0
    assert "4 already stored, 1 run now" in capsys.readouterr().out
    assert json.loads(first.read_text())["key"] == first.stem


@pytest.mark.parametrize("content", ["", "{", "[]", '{"kind": "compare"}'])
def test_a_damaged_manifest_is_one_line(tmp_path, capsys, content):
    (tmp_path / "compare.json").write_text(content)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "compare.json" in err and err.count("\n") == 1


def test_ablate_takes_the_baselines_it_is_given(tmp_path, capsys):
    from relext_bench.experiments.compare import ablation_roles

    names = [r.name for r in ablation_roles(baselines=("cnn",))]
    assert names[-2:] == ["cnn", "cnn+Tag"] and not any(n.startswith(("pcnn", "att_bilstm")) for n in names)
    assert main(["ablate", "--corpus", CORPUS, "--baselines", "cnn,lstm", "--no-run", "--out", str(tmp_path)]) == 2
    assert "'lstm' is not a baseline" in capsys.readouterr().err
