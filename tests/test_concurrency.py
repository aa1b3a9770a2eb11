"""Several processes on one results directory split an experiment's runs (none trained
twice); a dead process's claims are taken over; workers die with their parent."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from relext_bench.experiments.claims import Claims

COMPARE = [sys.executable, "-m", "relext_bench", "compare", "--corpus", "synth_zh:documents=10", "--protocol",
           "paper", "--models", "pcnn,cr_cnn:filters=50", "--seeds", "2", "--max-epochs", "1", "--threads", "1"]


def ran_now(output: str) -> int:
    return int(re.search(r"(\d+) run now", output).group(1))


@pytest.mark.slow
def test_two_processes_split_the_runs_and_train_none_twice(tmp_path):
    out = tmp_path / "out"
    cmd = COMPARE + ["--out", str(out), "--reports", str(tmp_path / "reports")]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    counts = [ran_now(o) for o in outputs]
    records = sorted((out / "runs").glob("*.json"))
    assert len(records) == 20 and sum(counts) == 20, counts  # each run trained by exactly one process
    assert all(c > 0 for c in counts), counts  # and both did some of the work
    assert not list((out / "runs").glob("*.claim*"))  # every claim released


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claims(tmp_path):
    mine, other = Claims(tmp_path), Claims(tmp_path)
    assert mine.try_claim("a") and not other.try_claim("a")  # a live holder (this process)
    assert mine.holder("a")["pid"] == os.getpid()
    mine.release("a")
    assert other.try_claim("a")
    # A claim of a process of this machine that no longer exists is taken over.
    (tmp_path / "b.claim").write_text(json.dumps({"host": socket.gethostname(), "pid": dead_pid()}))
    assert mine.try_claim("b") and mine.holder("b")["pid"] == os.getpid()
    # Another machine's claim: live while refreshed, stale after STALE_S without.
    (tmp_path / "c.claim").write_text(json.dumps({"host": "elsewhere", "pid": 1}))
    assert not mine.try_claim("c")
    old = time.time() - 2 * mine.stale_s
    os.utime(tmp_path / "c.claim", (old, old))
    assert mine.try_claim("c")
    mine.release_all()
    other.release_all()
    assert not list(tmp_path.glob("*.claim*"))


def test_a_dead_process_claim_does_not_block_a_run(tmp_path):
    from relext_bench.cli import main

    out = tmp_path / "out"
    argv = ["compare", "--corpus", "synth_zh:documents=6", "--protocol", "paper", "--models", "pcnn", "--seeds", "1",
            "--max-epochs", "1", "--out", str(out), "--reports", str(tmp_path)]
    assert main([*argv, "--no-run"]) == 0
    key = json.loads((out / "compare.json").read_text())["runs"][0]["key"]
    (out / "runs").mkdir(exist_ok=True)
    (out / "runs" / f"{key}.claim").write_text(json.dumps({"host": socket.gethostname(), "pid": dead_pid()}))
    assert main(argv) == 0
    assert (out / "runs" / f"{key}.json").exists() and not (out / "runs" / f"{key}.claim").exists()


@pytest.mark.slow
def test_workers_die_with_their_parent(tmp_path):
    cmd = COMPARE + ["--workers", "2", "--out", str(tmp_path / "out"), "--reports", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.time() + 120
    workers = []
    while time.time() < deadline and len(workers) < 2:
        workers = [c for c in parent.children(recursive=True) if "resource_tracker" not in " ".join(c.cmdline())]
        time.sleep(0.5)
    assert len(workers) >= 2, "the pool's workers should have started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, [p.pid for p in alive]


def test_clean_up_leaves_another_writers_temporary_file(tmp_path):
    from relext_bench.experiments.store import Store

    runs = tmp_path / "runs"
    runs.mkdir()
    live = runs / f".k1.json.{os.getpid()}.abc123.tmp"  # a write in progress in a live process
    dead = runs / f".k2.json.{dead_pid()}.def456.tmp"  # left by a killed writer
    for path in (live, dead):
        path.write_text("{")
    assert Store(tmp_path).clean() == 1
    assert live.exists() and not dead.exists()
