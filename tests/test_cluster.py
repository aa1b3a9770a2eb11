"""Runs on a Dask cluster (`--scheduler local:N`): the same records as local workers,
a killed client resumes with nothing lost or run twice, a lost task is a recorded
failure, and a scheduler that cannot be reached is one line."""
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future

from relext_bench.cli import main
from relext_bench.experiments import cluster, runner
from relext_bench.experiments.compare import compare
from relext_bench.experiments.runner import Options
from relext_bench.experiments.store import Store
from relext_bench.training.trainer import TrainConfig

CORPUS = "synth_zh:documents=6"
SMALL = "filters=8,word_dim=16,position_dim=4,tag_dim=4"
MODELS = f"pcnn:{SMALL},cnn:{SMALL}"
ARGS = ["compare", "--corpus", CORPUS, "--models", MODELS, "--max-epochs", "2", "--threads", "1"]


def stored(out) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "runs").glob("*.json")}


def test_a_local_cluster_trains_the_same_records_as_one_local_worker(tmp_path):
    cluster_out, local_out = tmp_path / "cluster", tmp_path / "local"
    assert main([*ARGS, "--seeds", "2", "--scheduler", "local:2", "--out", str(cluster_out),
                 "--reports", str(tmp_path / "rep")]) == 0
    assert main([*ARGS, "--seeds", "2", "--workers", "1", "--out", str(local_out),
                 "--reports", str(tmp_path / "rep")]) == 0
    on_cluster, here = stored(cluster_out), stored(local_out)
    assert len(on_cluster) == 4 and on_cluster.keys() == here.keys()
    for name in here:
        a, b = json.loads(on_cluster[name]), json.loads(here[name])
        assert a["status"] == b["status"] == "finished"
        assert a["predictions"] == b["predictions"]  # bit-identical predictions
        assert [c["train_loss"] for c in a["curve"]] == [c["train_loss"] for c in b["curve"]]
        assert a["test"] == b["test"]


def test_a_killed_client_resumes_with_no_run_lost_or_repeated(tmp_path, capsys):
    out = tmp_path / "res"
    command = [sys.executable, "-m", "relext_bench", *ARGS, "--seeds", "5", "--scheduler", "local:2",
               "--out", str(out), "--reports", str(tmp_path / "rep")]
    log = tmp_path / "client.log"
    with open(log, "w") as fh:
        client = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=fh,
                                  start_new_session=True)  # the client and its local cluster: one group
    try:
        deadline = time.monotonic() + 300
        while not stored(out) and time.monotonic() < deadline and client.poll() is None:
            time.sleep(0.05)
    finally:  # also when the test is stopped: no client left to disturb the next tests
        os.killpg(client.pid, signal.SIGKILL)
        client.wait()
    before = stored(out)
    assert 0 < len(before) < 10, f"the client was to be killed mid-way: {log.read_text()[-2000:]}"

    assert main([*ARGS, "--seeds", "5", "--scheduler", "local:2", "--out", str(out),
                 "--reports", str(tmp_path / "rep")]) == 0
    assert f"10 runs: {len(before)} already stored, {10 - len(before)} run now" in capsys.readouterr().out
    after = stored(out)
    assert len(after) == 10 and all(after[name] == data for name, data in before.items())  # none run again
    assert not list((out / "runs").glob("*.claim"))


class LostWorkers(cluster.Pool):
    """A pool whose every task comes back as a lost worker's error."""

    def __init__(self):
        super().__init__(None, 2, CORPUS)

    def submit(self, fn, *args):
        future = Future()
        future.set_exception(RuntimeError("KilledWorker: worker tcp://10.0.0.7:40000 died running it"))
        return future


def test_a_task_whose_worker_died_is_a_recorded_failure_and_is_retried(tmp_path, monkeypatch):
    out = str(tmp_path / "res")
    cfg = TrainConfig(max_epochs=1, threads=1)
    monkeypatch.setattr(runner, "open_pool", lambda *args: LostWorkers())
    result = compare(Options(CORPUS, seeds=2, out=out, train=cfg, progress=False), [f"pcnn:{SMALL}"])
    records = Store(out).records()
    assert len(result["failed"]) == 2 and {r.status for r in records} == {"failed"}
    assert all("worker tcp://10.0.0.7:40000 died" in r.failure for r in records)
    monkeypatch.undo()
    again = compare(Options(CORPUS, seeds=2, out=out, train=cfg, progress=False), [f"pcnn:{SMALL}"])
    assert not again["failed"] and len(again["ran"]) == 2


def test_an_unreachable_scheduler_or_two_runners_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    assert main([*ARGS, "--seeds", "1", "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:1: cannot reach the Dask scheduler" in err and len(err.splitlines()) == 1
    assert main([*ARGS, "--seeds", "1", "--scheduler", "local:2", "--workers", "2", "--out", str(tmp_path)]) == 2
    assert "give one" in capsys.readouterr().err
    assert main([*ARGS, "--seeds", "1", "--scheduler", "local:x", "--out", str(tmp_path)]) == 2
    assert "write local:N" in capsys.readouterr().err


def _trim_threshold():
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def test_local_workers_train_without_dask_s_malloc_trim_setting():
    """Under Dask's default MALLOC_TRIM_THRESHOLD_=65536 training ran 40% slower."""
    pool = cluster.connect("local:1", corpus=None)
    try:
        assert pool.slots == 1
        assert pool.submit(_trim_threshold).result() is None
    finally:
        pool.close()


def test_worker_processes_reach_corpora_as_the_planning_process_does():
    from relext_bench.data import access

    access.configure(access.Access(offline=True, ldc_dir="/where/the/ldc/copy/is"))
    pool = None
    try:
        pool = runner.open_pool(None, 2, None, CORPUS)
        seen = pool.submit(access.current).result(timeout=120)
    finally:
        access.configure(access.Access())
        if pool:
            pool.close()
    assert seen == access.Access(offline=True, ldc_dir="/where/the/ldc/copy/is")
    assert access.current().offline is None  # this process is back to the environment's default
