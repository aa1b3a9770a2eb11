"""Tuning shared by several processes, run over every storage backend (tests/storages.py):
a journal file and a real PostgreSQL database."""
import json
import os
import re
import subprocess
import sys

import optuna
from storages import postgres_server, storage  # noqa: F401  (fixtures)

from relext_bench.cli import main
from relext_bench.experiments.store import Store
from relext_bench.experiments.tune import open_storage

CORPUS = "synth_zh:documents=6"
SMALL = "word_dim=16,position_dim=4,tag_dim=4"
TUNE = ["tune", "--corpus", CORPUS, "--protocol", "paper", "--model", f"pcnn:{SMALL}", "--max-epochs", "2",
        "--threads", "1"]
SUMMARY = re.compile(r"(\d+) finished trials \((\d+) pruned, (\d+) run now\); best dev \S+ (\S+)")


def test_two_processes_complete_one_study_together(tmp_path, storage):  # noqa: F811
    out, rep = tmp_path / "res", tmp_path / "rep"
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    # The same seed in both (the default): they must still draw distinct trials.
    procs = [subprocess.Popen([sys.executable, "-m", "relext_bench", *TUNE, "--trials", "6",
                               "--storage", storage, "--out", str(out), "--reports", str(rep)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    ran = [int(SUMMARY.search(stdout).group(3)) for stdout, _ in outputs]
    assert all(n > 0 for n in ran)  # both processes did trials

    (name,) = optuna.study.get_all_study_names(open_storage(storage, out))
    study = optuna.load_study(study_name=name, storage=open_storage(storage, out))
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    surplus = [t for t in study.trials if t not in finished]  # started as the other filled the study
    assert len(finished) == 6 and sum(ran) == 6  # --trials 6: six finished in all, none counted twice
    assert all(t.state.name == "FAIL" and t.user_attrs["failure"].startswith("not run") for t in surplus)
    assert len({json.dumps(t.params, sort_keys=True) for t in finished}) == 6  # no trial drawn twice
    assert {t.user_attrs["pid"] for t in finished} == {p.pid for p in procs}

    # Resuming with the same target runs nothing and reads the same best trial.
    again = subprocess.run([sys.executable, "-m", "relext_bench", *TUNE, "--trials", "6", "--storage", storage,
                            "--out", str(out), "--reports", str(rep)], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    finished, _, now, best = SUMMARY.search(again.stdout).groups()
    assert (int(finished), int(now)) == (6, 0)
    assert float(best) == round(study.best_value, 4)
    data = json.loads(next((out / "tune").glob("*.json")).read_text())
    assert data["best"]["number"] == study.best_trial.number and data["best"]["params"] == study.best_params

    # compare --tuned runs the model with its defaults and with the best parameters.
    assert main(["compare", "--corpus", CORPUS, "--protocol", "paper", "--models", f"pcnn:{SMALL}", "--seeds", "1",
                 "--max-epochs", "1", "--tuned", data["study"], "--storage", storage, "--out", str(out),
                 "--reports", str(rep)]) == 0
    roles = {r["name"]: r["key"] for r in json.loads((out / "compare.json").read_text())["roles"]}
    assert set(roles) == {f"pcnn:{SMALL}", f"pcnn:{SMALL} (tuned)"}
    records = list(Store(out).records())
    assert len(records) == 10  # one seed x 5 folds, twice
    for record in records:
        tuned = record.model["key"] == roles[f"pcnn:{SMALL} (tuned)"]
        assert tuned == ({k: record.model["params"].get(k) for k in study.best_params} == study.best_params)
    text = (rep / "synth_zh-paper-compare.md").read_text()
    assert "## Tuning: pcnn" in text and "(tuned)" in text
