"""A user's rough edges at the boundaries: names, folders, signals, lost servers,
leftover files and extreme spec values each end in one clear line (or are cleaned up),
never in a traceback or a silent surprise."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import optuna
import pytest

from relext_bench.cli import main
from relext_bench.errors import UserError
from relext_bench.experiments.claims import Claims
from relext_bench.models.spec import parse_model

CORPUS = "synth_zh:documents=6"


def one_line_error(capsys, code=2) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_report_name_too_long_for_a_file_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["compare", "--name", "n" * 250])
    assert stop.value.code == 2 and "at most 100" in one_line_error(capsys)


@pytest.mark.parametrize("command", [["compare", "--models", "cnn"], ["report", "somewhere"]])
def test_reports_below_a_regular_file_are_refused_before_anything_runs(tmp_path, capsys, command):
    (tmp_path / "file").write_text("")
    argv = [*command, "--reports", str(tmp_path / "file" / "reports")]
    if command[0] == "compare":
        argv += ["--corpus", CORPUS, "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert "cannot write there" in one_line_error(capsys)
    assert not (tmp_path / "out" / "runs").exists()  # nothing trained


def test_a_journal_below_a_regular_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    argv = ["tune", "--corpus", CORPUS, "--model", "cnn", "--storage", f"journal:{tmp_path / 'file' / 'j.log'}",
            "--out", str(tmp_path / "out"), "--reports", str(tmp_path / "rep")]
    assert main(argv) == 2
    assert "cannot write there" in one_line_error(capsys)


@pytest.mark.parametrize("text, message", [
    ("cnn:filters=" + "9" * 100_000, "characters)"),
    ("cnn:filters=10,filters=20", "'filters' is given twice ('10' and '20')"),
    ("cnn:dropout=nan", "is not a finite number"),
    ("cnn:dropout=inf", "is not a finite number"),
])
def test_spec_values_are_one_short_line(text, message):
    with pytest.raises(UserError) as e:
        parse_model(text)
    assert message in str(e.value) and len(str(e.value)) < 400


def test_a_long_value_is_clipped_on_the_terminal_too(capsys):
    assert main(["corpora", "stats", "synth_zh:colour=" + "x" * 100_000]) == 2
    assert len(one_line_error(capsys)) < 700


def test_fullwidth_digits_are_the_digits_they_show():
    assert parse_model("cnn:filters=１００").key() == parse_model("cnn:filters=100").key()


def test_a_foreign_manifest_does_not_block_another_kind_s_report(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["compare", "--corpus", CORPUS, "--models", "cnn:filters=8", "--seeds", "1", "--max-epochs", "1",
            "--min-steps", "0", "--out", str(out), "--reports", str(tmp_path / "rep")]
    assert main(argv) == 0
    (out / "sweep.json").write_text(json.dumps({"kind": "something else"}))
    assert main(["report", str(out), "--kind", "compare", "--reports", str(tmp_path / "rep2")]) == 0
    assert main(["report", str(out), "--kind", "sweep", "--reports", str(tmp_path / "rep2")]) == 2  # it is named


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claims_of_dead_processes_are_cleared_when_an_experiment_starts(tmp_path, capsys):
    out = tmp_path / "out"
    runs = out / "runs"
    runs.mkdir(parents=True)
    (runs / "finished-long-ago.claim").write_text(json.dumps({"host": socket.gethostname(), "pid": dead_pid()}))
    (runs / "alive.claim").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    assert Claims(runs).clear_stale() == 1
    assert sorted(p.name for p in runs.glob("*.claim")) == ["alive.claim"]


def test_an_interrupted_compile_ends_its_compilers_and_removes_its_locks(tmp_path, monkeypatch):
    from torch.utils import cpp_extension

    from relext_bench.kernels import build

    monkeypatch.setenv("RELEXT_BENCH_HOME", str(tmp_path))
    compilers = []

    def interrupted_load(build_directory, **kwargs):
        for lock in ("lock", ".ninja_lock"):
            (tmp_path / build_directory / lock).write_text("")
        # A compiler that ninja started: it runs in the build directory and outlives ninja.
        compilers.append(subprocess.Popen(["sleep", "60"], cwd=build_directory, start_new_session=True))
        time.sleep(0.2)
        raise KeyboardInterrupt

    monkeypatch.setattr(cpp_extension, "load", interrupted_load)
    with pytest.raises(KeyboardInterrupt):
        build.build()
    (compiler,) = compilers
    assert compiler.wait(timeout=10) == -signal.SIGTERM
    directory = build.build_dir(build.cuda_wanted())
    assert not (directory / "lock").exists() and not (directory / ".ninja_lock").exists()


def test_a_killed_builder_s_compilers_end_before_the_next_build(tmp_path, monkeypatch):
    """A builder SIGKILLed mid-compile leaves torch's lock file and its compilers running;
    the next build ends them and builds, instead of waiting on the lock for ever."""
    from torch.utils import cpp_extension

    from relext_bench.kernels import build

    monkeypatch.setenv("RELEXT_BENCH_HOME", str(tmp_path))
    directory = build.build_dir(build.cuda_wanted())
    directory.mkdir(parents=True)
    (directory / "lock").write_text("")
    stray = subprocess.Popen(["sleep", "60"], cwd=directory, start_new_session=True)
    seen = []

    def load(build_directory, **kwargs):  # the build starts only once the stray compiler ended
        seen.append((stray.wait(timeout=10), (directory / "lock").exists()))
        raise RuntimeError("compiler missing")

    monkeypatch.setattr(cpp_extension, "load", load)
    try:
        with pytest.raises(RuntimeError, match="compiler missing"):
            build.build()
    finally:
        stray.kill()
    assert seen == [(-signal.SIGTERM, False)]


def test_warns_about_inputs_longer_than_it_can_afford(capsys):
    import numpy as np

    from relext_bench.training.trainer import LONG_INPUT, warn_long_inputs

    class Set:
        def __init__(self, lengths):
            self.lengths = np.array(lengths)

        def __len__(self):
            return len(self.lengths)

    assert warn_long_inputs("mine", Set([10, LONG_INPUT])) == 0
    assert capsys.readouterr().err == ""
    assert warn_long_inputs("mine", Set([10, 5000, 5000]), Set([])) == 2
    err = capsys.readouterr().err
    assert "mine: 2 instances have inputs longer than 1024 tokens (the longest 5,000)" in err


TUNE = [sys.executable, "-m", "relext_bench", "tune", "--corpus", "synth_zh:documents=30", "--model",
        "cnn:word_dim=16,position_dim=4,tag_dim=4", "--max-epochs", "50", "--min-steps", "100000",
        "--threads", "1", "--trials", "3"]


def running_trials(storage: str, out) -> list:
    from relext_bench.experiments.storage import open_storage

    store = open_storage(storage, out)
    names = optuna.study.get_all_study_names(store)
    if not names:
        return []
    return optuna.load_study(study_name=names[0], storage=store).get_trials(
        states=(optuna.trial.TrialState.RUNNING,))


def wait_for_a_running_trial(storage, out, proc, limit=120.0) -> None:
    end = time.time() + limit
    while time.time() < end and proc.poll() is None:
        if running_trials(storage, out):
            time.sleep(1.0)  # into its training
            return
        time.sleep(0.5)
    pytest.fail("no trial started")


@pytest.mark.slow
def test_sigterm_during_tune_marks_the_trial_failed(tmp_path):
    out, storage = tmp_path / "out", f"journal:{tmp_path / 'j.log'}"
    proc = subprocess.Popen([*TUNE, "--storage", storage, "--out", str(out), "--reports", str(tmp_path / "rep")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_a_running_trial(storage, out, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "terminated" in err and "Traceback" not in err
    assert running_trials(storage, out) == []  # failed, not RUNNING for ever


@pytest.mark.slow
def test_a_trial_whose_process_was_killed_is_failed_when_the_study_next_runs(tmp_path):
    from relext_bench.experiments.storage import open_storage
    from relext_bench.experiments.tune import ORPHAN, fail_orphans

    out, storage = tmp_path / "out", f"journal:{tmp_path / 'j.log'}"
    proc = subprocess.Popen([*TUNE, "--storage", storage, "--out", str(out), "--reports", str(tmp_path / "rep")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_a_running_trial(storage, out, proc)
    proc.kill()  # as a lost server or a SIGKILL leaves it: RUNNING, its process gone
    proc.wait()
    (orphan,) = running_trials(storage, out)
    study = optuna.load_study(study_name=optuna.study.get_all_study_names(open_storage(storage, out))[0],
                              storage=open_storage(storage, out))
    assert fail_orphans(study) == 1
    failed = study.get_trials()[orphan.number]
    assert failed.state.name == "FAIL" and failed.user_attrs["failure"] == ORPHAN


@pytest.mark.slow
def test_a_database_that_stops_mid_trial_is_one_line_and_the_study_goes_on(tmp_path):
    import tempfile
    from pathlib import Path

    from storages import ROOT, server_binary

    if not server_binary():
        pytest.skip("no PostgreSQL server binary (initdb)")
    where = Path(tempfile.mkdtemp(prefix="relext-postgres-"))  # the server's user must reach it
    server = [str(ROOT / ".ci" / "postgres")]
    started = subprocess.run([*server, "start", str(where)], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    url, out = started.stdout.strip(), tmp_path / "out"
    argv = [*TUNE, "--storage", url, "--out", str(out), "--reports", str(tmp_path / "rep")]
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_a_running_trial(url, out, proc)
        subprocess.run([*server, "stop", str(where)], check=True)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 2 and "Traceback" not in err, err
        (line,) = [x for x in err.splitlines() if x.startswith("relext-bench:")]
        assert "stopped answering" in line and "marked failed when the study next runs" in line
        subprocess.run([*server, "resume", str(where)], check=True)
        fast = [a if a != "50" else "1" for a in argv]  # --max-epochs 1: the rest of the study, quickly
        again = subprocess.run(fast, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr
        assert "3 finished trials" in again.stdout and running_trials(url, out) == []
    finally:
        subprocess.run([*server, "stop", str(where)], capture_output=True)
        subprocess.run(["rm", "-rf", str(where)])


def test_a_brat_span_annotated_twice_is_kept_once_and_its_relations_follow_it():
    from relext_bench.data import brat
    from relext_bench.data.problems import Problems

    text = "Ann works for Acme."
    ann = ("T1\tPerson 0 3\tAnn\nT2\tPerson 0 3\tAnn\nT3\tOrganization 14 18\tAcme\n"
           "R1\tWork Arg1:T2 Arg2:T3\nR2\tSame Arg1:T1 Arg2:T2\n")
    problems = Problems()
    doc = brat.parse_ann(text, ann, "doc.ann", problems)
    (sentence,) = brat.to_sentences("doc", text, doc, "en", problems, "doc.ann")
    assert [m.id for m in sentence.entities] == ["doc:T1", "doc:T3"]
    (work,) = sentence.relations  # R1 moves to the kept T1; R2 would pair T1 with its copy
    assert (work.type, work.arg1, work.arg2) == ("Work", "doc:T1", "doc:T3")
    assert problems.skipped() == {"skipped: duplicate entity span (the first kept)": 1,
                                  "skipped: relation from a mention to itself": 1}


def test_parameters_tuned_on_another_corpus_get_a_warning(capsys):
    from relext_bench.experiments.tune import warn_if_tuned_elsewhere

    tuned = {"study": "s", "snapshot": {"attrs": {"corpus": {"name": "chisiec", "digest": "c97b31765dba"}}}}
    warn_if_tuned_elsewhere(tuned, CORPUS)
    err = capsys.readouterr().err
    assert "study s was tuned on chisiec (digest c97b3176)" in err and err.count("\n") == 1


@pytest.mark.slow
def test_sigterm_stops_a_compare_at_once_and_leaves_no_worker_or_claim(tmp_path):
    import psutil

    out = tmp_path / "out"
    argv = [sys.executable, "-m", "relext_bench", "compare", "--corpus", "synth_zh:documents=30", "--models",
            "cnn,pcnn", "--seeds", "2", "--workers", "2", "--threads", "1", "--min-steps", "100000",
            "--out", str(out), "--reports", str(tmp_path / "rep")]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    end = time.time() + 120
    while time.time() < end and len(list((out / "runs").glob("*.claim"))) < 2:
        time.sleep(0.5)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(2.0)  # into their training
    start = time.time()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated" in err and "Traceback" not in err
    assert time.time() - start < 20  # not after the runs in flight (minutes each)
    assert not list((out / "runs").glob("*.claim")) and not list((out / "runs").glob("*.json"))
    psutil.wait_procs(workers, timeout=10)
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
