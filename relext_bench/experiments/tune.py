"""`tune`: one Optuna study per corpus, protocol and model spec.

The search space is declared next to each model (`search_space(trial)` in its file);
the objective is the dev metric of the run's best epoch (the test data is never
looked at); a TPE sampler seeded per trial (`--seed` and the trial's number, so
processes sharing a study never propose the same points) proposes, a median pruner stops trials whose
per-epoch dev scores fall behind the earlier trials' median, but only once a trial has
trained as long as the stopping rule's minimum (`--min-steps`): a run's first epochs say
little about where it ends (pruned from the first epoch, 13 of 19 ye2019 trials on
CHisIEC stopped at a dev F1 of 0.09-0.35 where finished ones reached 0.59-0.64).
`--trials` is the number of finished trials the
study should have in all, so re-running resumes a study and several processes sharing
one storage complete it together:

- default: a SQLite file beside the results (one process at a time),
- `journal:FILE`: Optuna's journal file (several processes on one machine),
- a database URL (`postgresql://...`): several machines.

Every trial trains with the same training seed, so trials differ only in their
parameters. After each session a snapshot of the study's trials is written beside the
results and a report is built from it.
"""
from __future__ import annotations

import math
import os
import socket
from dataclasses import replace
from pathlib import Path

from relext_bench.errors import UserError
from relext_bench.experiments.runner import load_corpus
from relext_bench.experiments.storage import (
    load_optuna,
    open_storage,
    public_url,
    scrub,
    storage_error,
)
from relext_bench.files import read_record, write_json_atomic
from relext_bench.models import model_entry
from relext_bench.models.spec import parse_model, spec_text
from relext_bench.protocols import get_protocol
from relext_bench.training.trainer import TrainConfig, train_run

TRAIN_SEED = 1


def study_name(corpus, protocol_name: str, spec) -> str:
    return f"{corpus.name}@{corpus.digest[:8]}-{protocol_name}-{spec.name}-{spec.key()}"


def tune(corpus_spec: str, protocol_name: str, model: str, trials: int = 20, timeout: float | None = None,
         storage: str | None = None, out: str = "results", cfg: TrainConfig | None = None, seed: int = 1) -> dict:
    optuna = load_optuna()
    from optuna.trial import TrialState

    corpus = load_corpus(corpus_spec)
    protocol = get_protocol(protocol_name)
    spec = parse_model(model)
    space = model_entry(spec.name).search_space
    if space is None:
        raise UserError(f"model {spec.name} declares no search space")
    fixed = dict(spec.params)  # what the spec sets is not searched
    searched = set(space(_Probe()))
    if not searched - set(fixed):
        raise UserError(f"--model {model}: the spec fixes every parameter of {spec.name}'s search space "
                        f"({', '.join(sorted(searched))}); nothing is left to tune")
    partition = protocol.partitions(corpus)[0]  # the fixed split, or fold 1 under cross-validation
    cfg = replace(cfg or TrainConfig(), progress=False)
    name = study_name(corpus, protocol.short_key(corpus), spec)
    store = open_storage(storage, out)
    study = optuna.create_study(
        study_name=name, storage=store, direction="maximize", load_if_exists=True,
        sampler=trial_seeded_tpe(optuna, seed), pruner=optuna.pruners.MedianPruner(n_startup_trials=5))
    study.set_user_attr("corpus", {"spec": corpus_spec, "name": corpus.name, "digest": corpus.digest,
                                   "synthetic": corpus.synthetic})
    study.set_user_attr("protocol", protocol.name)
    study.set_user_attr("metric", protocol.metric)
    study.set_user_attr("model", spec_text(spec))
    study.set_user_attr("partition", partition.name)

    ran = 0  # trials this process ran (others sharing the storage run theirs)

    def objective(trial) -> float:
        nonlocal ran
        trial.set_user_attr("pid", os.getpid())
        trial.set_user_attr("host", socket.gethostname())
        if _taken(study, before=trial.number) >= trials:  # others filled the study meanwhile
            study.stop()
            trial.set_user_attr("failure", SURPLUS)
            return math.nan  # recorded as failed, never counted as finished
        ran += 1
        params = {k: v for k, v in space(_FixedTrial(trial, fixed)).items() if k not in fixed}

        def report(epoch: int, steps: int, dev_metric: float) -> None:
            trial.report(dev_metric, epoch)
            # Pruned only where the stopping rule would let the run stop on its own: the
            # dev score of the first epochs says little about where a run ends.
            if steps >= cfg.min_steps and trial.should_prune():
                raise optuna.TrialPruned()

        record = train_run(corpus, protocol, partition, spec.with_params(**params), TRAIN_SEED, cfg,
                           on_epoch=report)
        if record["status"] != "finished":
            trial.set_user_attr("failure", record.get("failure"))
            return math.nan  # Optuna records the trial as failed
        trial.set_user_attr("epochs", record["epochs"])
        trial.set_user_attr("train_s", record["timings"]["train_s"])
        return record["dev"][protocol.metric]

    fail_orphans(study)
    if _taken(study) < trials:
        def stop(study, trial) -> None:  # other processes' running trials count: `--trials N` is N in all
            if _taken(study) >= trials:
                study.stop()

        try:
            study.optimize(objective, timeout=timeout, callbacks=[stop], catch=())
        except Exception as e:
            if (lost := storage_error(e)) is None:
                raise
            cause = " ".join(str(getattr(lost, "orig", None) or lost).split())[:300]
            raise UserError(f"--storage {public_url(storage)} stopped answering ({type(lost).__name__}: "
                            f"{scrub(cause, storage or '')}); the trial in flight is marked failed when the "
                            "study next runs, and `tune` resumes it") from None
    snapshot = write_snapshot(study, out, public_url(storage))
    complete = any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False))  # pruned ones have no best
    summary = {"study": name, "storage": public_url(storage), "ran": ran, "finished": _finished(study),
               "pruned": sum(t.state == TrialState.PRUNED for t in study.trials), "metric": protocol.metric,
               "best_value": study.best_value if complete else None,
               "best_params": study.best_params if complete else {}, "snapshot": str(snapshot)}
    return summary


class _FixedTrial:
    """The trial as a model's search space sees it, with the spec's own values fixed:
    a parameter the user set (`cnn:filters=100`) is neither suggested nor searched."""

    def __init__(self, trial, fixed: dict):
        self._trial, self._fixed = trial, fixed

    def __getattr__(self, name: str):
        attr = getattr(self._trial, name)
        if not name.startswith("suggest_"):
            return attr
        return lambda param, *a, **k: self._fixed[param] if param in self._fixed else attr(param, *a, **k)


class _Probe:
    """A stand-in trial, for the names of the parameters a search space returns."""

    def __getattr__(self, name: str):
        if not name.startswith("suggest_"):
            raise AttributeError(name)
        return lambda *a, **k: None


SURPLUS = "not run: the study had its finished trials when this one started"


def trial_seeded_tpe(optuna, seed: int):
    """A TPE sampler whose random draws for trial N come from (seed, N). Trial numbers
    are unique in a study, so processes sharing a storage never propose the same
    points (a sampler seeded once per process gives every process the same
    sequence), and one process's study is reproducible. Running trials count as bad
    ones while they run (constant liar), so parallel TPE proposals spread out."""
    import numpy as np

    class TrialSeededTPE(optuna.samplers.TPESampler):
        def before_trial(self, study, trial) -> None:
            state = np.random.SeedSequence([seed, trial.number]).generate_state(2)
            self._rng.rng.seed(int(state[0]))
            self._random_sampler._rng.rng.seed(int(state[1]))
            super().before_trial(study, trial)

    return TrialSeededTPE(seed=seed, constant_liar=True)


ORPHAN = "its process ended before the trial finished"


def fail_orphans(study) -> int:
    """Marks failed the RUNNING trials whose process, on this machine, no longer exists
    (killed, or cut off from the storage); returns how many. Left RUNNING, they would
    hold places of `--trials` for ever. (Optuna's own heartbeat does this for database
    storages across machines, after its grace period; the journal has none.)"""
    from optuna.trial import TrialState

    from relext_bench.experiments.claims import pid_alive

    host, failed = socket.gethostname(), 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") == host and isinstance(pid, int) and pid != os.getpid() and not pid_alive(pid):
            study._storage.set_trial_user_attr(t._trial_id, "failure", ORPHAN)
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            failed += 1
    return failed


def _taken(study, before: int | None = None) -> int:
    """Trials finished or running (by any process); with `before`, only those numbered
    below it."""
    from optuna.trial import TrialState

    return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
               and (before is None or t.number < before) for t in study.get_trials(deepcopy=False))


def _finished(study) -> int:
    from optuna.trial import TrialState

    return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.get_trials(deepcopy=False))


def _describe(dist) -> str:
    kind = type(dist).__name__
    if kind == "CategoricalDistribution":
        return "one of " + ", ".join(map(str, dist.choices))
    scale = ", log scale" if getattr(dist, "log", False) else ""
    step = f", step {dist.step}" if getattr(dist, "step", None) not in (None, 1) else ""
    return f"{'integer' if kind == 'IntDistribution' else 'float'} in [{dist.low}, {dist.high}]{scale}{step}"


def write_snapshot(study, out: str | Path, storage: str) -> Path:
    """The study's trials as JSON beside the results: what reports are built from."""
    space = {}
    for t in study.trials:
        for k, d in t.distributions.items():
            space.setdefault(k, _describe(d))
    data = {
        "study": study.study_name, "storage": storage, "attrs": study.user_attrs, "search_space": space,
        "train_seed": TRAIN_SEED,
        "trials": [{"number": t.number, "state": t.state.name, "params": t.params, "value": t.value,
                    "intermediate": {str(k): v for k, v in sorted(t.intermediate_values.items())},
                    "pid": t.user_attrs.get("pid"), "epochs": t.user_attrs.get("epochs"),
                    "failure": t.user_attrs.get("failure"),
                    "seconds": t.duration.total_seconds() if t.duration else None} for t in study.trials],
    }
    complete = [t for t in data["trials"] if t["state"] == "COMPLETE" and t["value"] is not None]
    data["best"] = max(complete, key=lambda t: t["value"]) if complete else None
    path = Path(out) / "tune" / f"{study.study_name}.json"
    write_json_atomic(path, data)
    return path


def best_params(study: str, storage: str | None, out: str | Path) -> dict:
    """For `compare --tuned STUDY`: the best parameters and the snapshot they come from."""
    optuna = load_optuna()
    store = open_storage(storage, out)
    if study not in optuna.study.get_all_study_names(store):
        raise UserError(f"no study {study!r} in {public_url(storage)} (run `relext-bench tune` first)")
    s = optuna.load_study(study_name=study, storage=store)
    snapshot = read_record(write_snapshot(s, out, public_url(storage)))
    if snapshot["best"] is None:
        raise UserError(f"study {study!r} has no finished trial yet")
    return {"study": study, "model": parse_model(s.user_attrs["model"]).name,
            "params": snapshot["best"]["params"], "snapshot": snapshot}


def warn_if_tuned_elsewhere(tuned: dict, corpus_spec: str) -> None:
    """A warning line when `compare --tuned` applies a study's parameters to another corpus."""
    import sys

    digest = load_corpus(corpus_spec).digest
    where = tuned["snapshot"]["attrs"].get("corpus", {})
    if where.get("digest") != digest:
        print(f"relext-bench: warning: study {tuned['study']} was tuned on {where.get('name', 'another corpus')} "
              f"(digest {str(where.get('digest'))[:8]}); this comparison runs on {corpus_spec} (digest "
              f"{digest[:8]}): its parameters were not chosen for this data", file=sys.stderr)
