"""`compare`: models x seeds (x folds under the paper protocol) on one corpus.

Runs spread over local worker processes; each finished run is stored at once, keyed
by corpus digest, protocol, model spec, partition and seed; a run that fails is stored
with its reason (and reported as failed, never averaged in).
"""
from __future__ import annotations

import os
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context

from tqdm import tqdm

from relext_bench.data import registry
from relext_bench.errors import UserError
from relext_bench.experiments.store import Store, run_key
from relext_bench.models import ModelSpec
from relext_bench.protocols import get_protocol
from relext_bench.training.trainer import TrainConfig, train_run

# The paper's four variants of ye2019, then the baselines.
DEFAULT_MODELS = (
    "ye2019:tags=none,objective=ranking", "ye2019:tags=bio_typed,objective=ranking",
    "ye2019:tags=none,objective=multitask", "ye2019:tags=bio_typed,objective=multitask",
    "cnn", "pcnn", "cr_cnn", "att_bilstm",
)
SPEC_FIELDS = {"tags", "objective", "predict_rule", "threshold"}


def split_models(text: str) -> list[str]:
    """`a:k=v,k2=v2,b` -> [`a:k=v,k2=v2`, `b`]: a key=value item belongs to the spec before it."""
    specs: list[str] = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" in item and ":" not in item and specs:
            specs[-1] += "," + item
        else:
            specs.append(item)
    return specs


def parse_model(text: str) -> ModelSpec:
    """`name` or `name:key=value,...`; tags, objective, predict_rule and threshold are
    options of every model, other keys are the model's hyper-parameters."""
    name, _, rest = text.strip().partition(":")
    fields, params = {}, {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"model spec {text!r}: expected key=value, found {item!r}")
        if key in SPEC_FIELDS:
            fields[key] = float(value) if key == "threshold" else value
        else:
            params[key] = value
    spec = ModelSpec(name, **fields).with_params(**params)
    spec.resolved()  # unknown names fail here, before any run starts
    return spec


@dataclass(frozen=True)
class Job:
    spec: ModelSpec
    partition: str
    seed: int
    key: str


def plan(corpus, protocol, specs: list[ModelSpec], seeds: list[int]) -> list[Job]:
    digest = corpus.digest
    return [Job(spec, part.name, seed, run_key(digest, protocol.name, spec.key(), part.name, seed))
            for spec in specs for part in protocol.partitions(corpus) for seed in seeds]


_loaded: dict[str, object] = {}


def _corpus(corpus_spec: str):
    """The corpus, loaded once per process (workers run many jobs each)."""
    if corpus_spec not in _loaded:
        _loaded[corpus_spec] = registry.load(corpus_spec)
    return _loaded[corpus_spec]


def _run_job(corpus_spec: str, protocol_name: str, spec: ModelSpec, partition: str, seed: int,
             cfg: TrainConfig, out: str, key: str) -> str:
    """One run: load (once per process), train, store. Never raises: a crash is a record."""
    store = Store(out)
    try:
        corpus = _corpus(corpus_spec)
        protocol = get_protocol(protocol_name)
        part = next(p for p in protocol.partitions(corpus) if p.name == partition)
        record = train_run(corpus, protocol, part, spec, seed, cfg)
    except Exception as e:  # recorded, shown as failed in reports
        record = {"status": "failed", "failure": f"{type(e).__name__}: {e}",
                  "traceback": traceback.format_exc(limit=5), "model": spec.to_dict() | {"label": spec.label()},
                  "partition": partition, "seed": seed, "protocol": protocol_name}
    store.put(key, record | {"corpus_spec": corpus_spec})
    return key


def compare(corpus_spec: str, protocol_name: str = "standard", models: list[str] | None = None,
            seeds: int = 5, workers: int = 1, out: str = "results", cfg: TrainConfig | None = None,
            progress: bool = True) -> dict:
    protocol = get_protocol(protocol_name)
    corpus = _corpus(corpus_spec)
    specs = [parse_model(m) for m in (models or DEFAULT_MODELS)]
    jobs = plan(corpus, protocol, specs, list(range(1, seeds + 1)))
    store = Store(out)
    store.clean()
    todo = [j for j in jobs if not store.has(j.key)]
    cfg = cfg or TrainConfig()
    threads = max(1, (os.cpu_count() or 1) // max(workers, 1))
    cfg = replace(cfg, progress=False, threads=cfg.threads or threads)
    bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc=f"compare {corpus.name}",
               disable=not progress, unit="run")
    ran = []
    if workers <= 1:
        for job in todo:
            ran.append(_run_job(corpus_spec, protocol.name, job.spec, job.partition, job.seed, cfg, out, job.key))
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(_run_job, corpus_spec, protocol.name, j.spec, j.partition, j.seed, cfg, out, j.key)
                       for j in todo]
            for f in as_completed(futures):
                ran.append(f.result())
                bar.update()
    bar.close()
    return {"jobs": len(jobs), "already_done": len(jobs) - len(todo), "ran": ran,
            "train_config": asdict(cfg)}
