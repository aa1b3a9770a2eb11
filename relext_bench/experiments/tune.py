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
import random
import time
from dataclasses import replace
from pathlib import Path

from relext_bench.errors import UserError
from relext_bench.experiments.runner import load_corpus
from relext_bench.files import read_record, write_json_atomic
from relext_bench.models import MODELS
from relext_bench.models.spec import parse_model, spec_text
from relext_bench.protocols import get_protocol
from relext_bench.reporting.tuning import write_report
from relext_bench.training.trainer import TrainConfig, train_run

TRAIN_SEED = 1


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(url: str | None, out: str | Path):
    """An Optuna storage from a URL (see the module docstring)."""
    optuna = _optuna()
    if url is None:
        Path(out).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(out) / 'tune.db'}"
    if url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = Path(url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    try:
        return _open_database(optuna, url)
    except Exception as e:  # a bad URL, a missing database driver, a server that does not answer
        # The driver's own error under SQLAlchemy's wrapper, the missing module under Optuna's.
        cause = getattr(e, "orig", None) or (e.__cause__ if isinstance(e, ImportError) else None) or e
        detail = " ".join(str(cause).split())  # one line
        missing = isinstance(e, ImportError) or type(e).__name__ == "NoSuchModuleError"
        hint = " (install its driver, e.g. pip install 'psycopg[binary]' for postgresql://)" if missing else ""
        raise UserError(f"--storage {public_url(url)}: {type(cause).__name__}: {scrub(detail, url)}{hint}") from None


def _open_database(optuna, url: str, attempts: int = 5):
    """RDBStorage, which creates its tables in a new database: two processes doing that
    at once make one fail on a duplicate type or table (optuna/optuna#1092). That one
    tries again, and then finds the tables the other made."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url)
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 + random.random() * (attempt + 1))


SECRET_KEYS = {"password", "passwd", "pass", "pwd", "sslpassword", "secret", "token"}


def public_url(url: str | None) -> str:
    """The storage as a message or report may show it: no user information (which
    holds the password, '@' in it included), no secret query parameter, no
    directories; text that is not a URL is not shown at all."""
    if url is None:
        return "sqlite (tune.db beside the results)"
    if url.startswith("journal:"):
        return f"journal ({Path(url.removeprefix('journal:')).name})"
    if url.startswith("sqlite:"):
        return f"sqlite ({Path(url.split('///', 1)[-1]).name})"
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "(a storage that is not a URL; not shown)"
    base, q, query = rest.rsplit("@", 1)[-1].partition("?")
    items = [f"{k}=***" if k.lower() in SECRET_KEYS else f"{k}{eq}{v}"
             for k, eq, v in (item.partition("=") for item in query.split("&") if item)]
    return f"{scheme}://{base}" + (q + "&".join(items) if items else "")


def _secrets(url: str) -> set[str]:
    """Every piece of a storage URL that may be a password, as written and decoded."""
    from urllib.parse import unquote

    _, sep, rest = url.partition("://")
    found = {url} if not sep else set()
    if "@" in rest:
        userinfo = rest.rsplit("@", 1)[0]
        found |= {userinfo, userinfo.partition(":")[2]}
    for item in rest.partition("?")[2].split("&"):
        key, _, value = item.partition("=")
        if key.lower() in SECRET_KEYS:
            found.add(value)
    return {v for s in found for v in (s, unquote(s)) if v}


def scrub(text: str, url: str) -> str:
    """`text` (an exception's message) with the URL and anything in it that may be a
    password replaced by its public form or ***."""
    text = text.replace(url, public_url(url))
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def study_name(corpus, protocol_name: str, spec) -> str:
    return f"{corpus.name}@{corpus.digest[:8]}-{protocol_name}-{spec.name}-{spec.key()}"


def tune(corpus_spec: str, protocol_name: str, model: str, trials: int = 20, timeout: float | None = None,
         storage: str | None = None, out: str = "results", cfg: TrainConfig | None = None, seed: int = 1,
         reports: str | Path | None = "reports", report_name: str | None = None) -> dict:
    optuna = _optuna()
    from optuna.trial import TrialState

    corpus = load_corpus(corpus_spec)
    protocol = get_protocol(protocol_name)
    spec = parse_model(model)
    space = MODELS[spec.name].search_space
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
        if _taken(study, before=trial.number) >= trials:  # others filled the study meanwhile
            study.stop()
            trial.set_user_attr("failure", SURPLUS)
            return math.nan  # recorded as failed, never counted as finished
        ran += 1
        params = {k: v for k, v in space(_FixedTrial(trial, fixed)).items() if k not in fixed}
        trial.set_user_attr("pid", os.getpid())

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

    if _taken(study) < trials:
        # Trials other processes are running count: `--trials N` is N finished in all.
        stop = optuna.study.MaxTrialsCallback(
            trials, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING))
        study.optimize(objective, timeout=timeout, callbacks=[stop], catch=())
    snapshot = write_snapshot(study, out, public_url(storage))
    complete = any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False))  # pruned ones have no best
    summary = {"study": name, "storage": public_url(storage), "ran": ran, "finished": _finished(study),
               "pruned": sum(t.state == TrialState.PRUNED for t in study.trials), "metric": protocol.metric,
               "best_value": study.best_value if complete else None,
               "best_params": study.best_params if complete else {}, "snapshot": str(snapshot)}
    if reports is not None:
        summary["report"] = str(write_report(read_record(snapshot), Path(reports), report_name))
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
    optuna = _optuna()
    store = open_storage(storage, out)
    if study not in optuna.study.get_all_study_names(store):
        raise UserError(f"no study {study!r} in {public_url(storage)} (run `relext-bench tune` first)")
    s = optuna.load_study(study_name=study, storage=store)
    snapshot = read_record(write_snapshot(s, out, public_url(storage)))
    if snapshot["best"] is None:
        raise UserError(f"study {study!r} has no finished trial yet")
    return {"study": study, "model": parse_model(s.user_attrs["model"]).name,
            "params": snapshot["best"]["params"], "snapshot": snapshot}
