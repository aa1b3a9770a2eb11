"""`relext-bench bench-train` and the training-speed report built from its JSON."""
import json

import pytest

from relext_bench.cli import main
from relext_bench.training.speed_report import render

TINY = "synth_zh:documents=8"


def test_bench_train_json_has_both_encoders_and_their_ratio(capsys):
    assert main(["bench-train", "--corpus", TINY, "--model", "cnn", "--batches", "2", "--threads", "1",
                 "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    dense, shared = result["encoders"]["dense"], result["encoders"]["shared"]
    assert dense["encoder"] == "dense" and shared["encoder"] == "shared"
    for r in (dense, shared):
        assert r["batches"] == 2 and r["instances"] > 0 and r["instances_per_s"] == r["instances"] / r["seconds"]
    assert result["ratio"] == pytest.approx(shared["instances_per_s"] / dense["instances_per_s"])
    assert result["device"] == "cpu" and result["threads"] == 1 and result["kernel_backend"] in ("cpp", "reference")
    assert len(result["load"]) == 2  # the load average before and after, for the report's load column
    assert "| 1.0/2.5 " in render([result | {"load": [1.0, 2.5]}])


def test_bench_train_one_encoder_and_a_model_without_shared(capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "examples" / "myproj"))
    assert main(["bench-train", "--corpus", TINY, "--model", "myproj:MyModel", "--encoder", "shared",
                 "--batches", "2", "--protocol", "paper"]) == 0
    out = capsys.readouterr().out
    assert "| shared    | dense     |" in out and "shared / dense" not in out  # the example has no shared encoder


def test_bench_train_takes_the_bilstm_with_both_encoders(capsys):
    assert main(["bench-train", "--corpus", TINY, "--model", "att_bilstm", "--batches", "2", "--threads", "1",
                 "--device", "cpu", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [result["encoders"][e]["encoder"] for e in ("dense", "shared")] == ["dense", "shared"]
    assert result["ratio"] > 0


def test_bench_train_errors(capsys):
    assert main(["bench-train", "--corpus", TINY, "--model", "cnn", "--encoder", "sparse"]) == 2
    assert "--encoder takes dense, shared or both" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the parser's range check (tests/test_cli.py)
        main(["bench-train", "--corpus", TINY, "--model", "cnn", "--batches", "1"])
    assert "argument --batches: 1 is less than 2" in capsys.readouterr().err


def result(model, corpus, protocol, threads, dense, shared):
    return {"model": model, "corpus": corpus, "corpus_spec": corpus, "synthetic": corpus == "synth_zh",
            "protocol": protocol, "device": "cpu", "threads": threads, "kernel_backend": "cpp",
            "warmup_batches": 3, "ratio": shared / dense,
            "encoders": {"dense": {"instances_per_s": dense, "batches": 40},
                         "shared": {"instances_per_s": shared, "batches": 40}}}


def test_speed_report_targets():
    text = render([result("ye2019", "chisiec", "standard", 2, 1000, 10500),
                   result("pcnn", "chisiec", "standard", 1, 1000, 3000),
                   result("cnn", "crossre", "standard", 1, 500, 2000),
                   result("ye2019", "synth_zh", "paper", 1, 4000, 9000)])
    lines = {tuple(c.strip() for c in line.split("|")[1:4]): line for line in text.splitlines() if line.startswith("| ")}
    assert "10.50x" in lines[("ye2019", "chisiec", "standard")] and "| yes" in lines[("ye2019", "chisiec", "standard")]
    assert "no (75% of it)" in lines[("pcnn", "chisiec", "standard")]  # 3x against 4x
    assert "| -" in lines[("cnn", "crossre", "standard")]  # no target on CrossRE
    assert "2.25x" in lines[("ye2019", "synth_zh (synthetic)", "paper")]
