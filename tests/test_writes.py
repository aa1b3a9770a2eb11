"""A results directory that cannot be written: refused before training; a write that
fails later is one clear error, and the record is kept in a fallback file."""
import errno
import json
import re
from pathlib import Path

import pytest

import relext_bench.experiments.runner  # noqa: F401  (imported before a test patches the trainer)
from relext_bench import files
from relext_bench.cli import main

TINY = ["--corpus", "synth_zh:documents=6", "--protocol", "paper", "--max-epochs", "1"]


def test_train_refuses_an_output_it_cannot_write_before_training(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    from relext_bench.training import trainer

    monkeypatch.setattr(trainer, "train_run", lambda *a, **k: pytest.fail("trained before checking --out"))
    assert main(["train", "--model", "pcnn", *TINY, "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert f"{blocker / 'sub'}: cannot write there" in err and err.count("\n") == 1


def failing_under(directory: Path, monkeypatch):
    """write_json_atomic fails (disk full) under `directory`, works elsewhere."""
    real = files.write_json_atomic

    def write(path, data, compact=False):
        if Path(directory) in Path(path).parents:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data, compact)

    monkeypatch.setattr(files, "write_json_atomic", write)


def kept(err: str) -> dict:
    path = re.search(r"it is kept in (\S+)", err).group(1)
    return json.loads(Path(path).read_text())


def test_train_keeps_the_record_when_the_write_fails(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    failing_under(out, monkeypatch)
    assert main(["train", "--model", "pcnn", *TINY, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "could not write the record (No space left on device)" in err and err.count("\n") == 1
    assert kept(err)["status"] == "finished"


def test_compare_stops_on_a_failed_store_write_and_keeps_the_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    failing_under(out / "runs", monkeypatch)
    assert main(["compare", *TINY, "--models", "pcnn", "--seeds", "1", "--out", str(out),
                 "--reports", str(tmp_path)]) == 2
    (err,) = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert "could not write the record" in err
    assert kept(err)["status"] == "finished" and kept(err)["key"]
