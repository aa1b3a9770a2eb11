"""What every experiment shares: a plan of runs (model x partition x seed x negative
ratio), a manifest naming them (`records.Manifest`), and a pool that runs what the store
does not have yet: this process, local worker processes, or a Dask cluster (cluster.py).

Workers only train and return records; this process stores each one as it comes back,
keyed by corpus digest, protocol key, model spec, partition, seed and training
settings. A run that fails, or whose worker dies, is stored with its reason (and
reported as failed, never averaged in).
"""
from __future__ import annotations

import os
import time
import traceback
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from relext_bench.corpus_stats import corpus_stats
from relext_bench.data import access, embeddings, registry
from relext_bench.errors import UserError
from relext_bench.experiments.claims import Claims
from relext_bench.experiments.cluster import Pool, connect, local_workers
from relext_bench.experiments.store import Store, run_key
from relext_bench.files import check_writable
from relext_bench.models.spec import ModelSpec, spec_text
from relext_bench.protocols import DEFAULT as DEFAULT_PROTOCOL
from relext_bench.protocols import get_protocol
from relext_bench.records import Manifest, RoleEntry, RunEntry, RunRecord
from relext_bench.training.threads import default_threads
from relext_bench.training.trainer import TrainConfig, train_run

# Settings that do not change what a run computes stay out of its key.
UNKEYED = {"progress", "threads", "eval_batch_size", "device"}


@dataclass(frozen=True)
class Role:
    """A model as an experiment names it: "Baseline+Tag", "pcnn (no tags)", ..."""

    name: str
    spec: ModelSpec
    seeds: int | None = None  # runs only the experiment's first `seeds` seeds (None: all)


@dataclass(frozen=True)
class Job:
    role: str
    spec: ModelSpec
    partition: str
    seed: int
    neg_ratio: float | None
    key: str


def settings(cfg: TrainConfig, neg_ratio: float | None) -> dict:
    """What a run's key holds of its training settings: pretrained embeddings by their
    file's content, not its path (and not at all without them: keys stay as they were);
    `refit` only when set, for the same reason."""
    keyed = {k: v for k, v in asdict(cfg).items() if k not in UNKEYED} | {"neg_ratio": neg_ratio}
    if not keyed["refit"]:
        del keyed["refit"]
    path, vocabulary = keyed.pop("embeddings"), keyed.pop("vocabulary")
    if path:
        keyed["embeddings_sha256"] = embeddings.digest(path)
        if vocabulary != "train":  # runs with the training words only keep the keys they had
            keyed["vocabulary"] = vocabulary
    return keyed


def plan(corpus, protocol, roles: list[Role], seeds: list[int], cfg: TrainConfig,
         ratios: list[float | None] = (None,)) -> list[Job]:
    """Seed-major order: every model's first seed runs before any model's second, so a
    stopped experiment has comparable runs for every model. A role with `seeds` set
    takes part in the first that many seeds only."""
    digest = corpus.digest
    return [Job(role.name, role.spec, part.name, seed, ratio,
                run_key(digest, protocol.key(corpus), role.spec.key(), part.name, seed, settings(cfg, ratio)))
            for seed in seeds for ratio in ratios for role in roles
            if seed in seeds[:role.seeds] for part in protocol.partitions(corpus)]


_loaded: dict[str, object] = {}


def load_corpus(corpus_spec: str):
    """The corpus, loaded once per process (workers run many jobs each)."""
    if corpus_spec not in _loaded:
        _loaded[corpus_spec] = registry.load(corpus_spec)
    return _loaded[corpus_spec]


def spread_devices(cfg: TrainConfig, k: int) -> TrainConfig:
    """With several CUDA devices, run k goes to device k mod count (cuda or auto)."""
    import torch

    count = torch.cuda.device_count() if cfg.device in ("auto", "cuda") else 0
    return replace(cfg, device=f"cuda:{k % count}") if count > 1 else cfg


def _run_job(source, protocol_name: str, job: Job, cfg: TrainConfig, checkpoint: Path | None = None) -> dict:
    """One run's record (the submitting process stores it). `source`: the corpus, or its
    spec (loaded once per worker process); `checkpoint`: the file its progress is kept
    in, on this machine (a Dask worker elsewhere gets none). Never raises: a crash is a
    failed record."""
    try:
        corpus = load_corpus(source) if isinstance(source, str) else source
        protocol = get_protocol(protocol_name)
        part = next(p for p in protocol.partitions(corpus) if p.name == job.partition)
        return train_run(corpus, protocol, part, job.spec, job.seed, cfg, neg_ratio=job.neg_ratio,
                         checkpoint=checkpoint)
    except Exception as e:  # recorded, shown as failed in reports
        return failure(job, protocol_name, f"{type(e).__name__}: {e}", traceback.format_exc(limit=5))


def failure(job: Job, protocol_name: str, reason: str, trace: str | None = None) -> dict:
    return RunRecord(status="failed", failure=reason, traceback=trace,
                     model=job.spec.to_dict() | {"label": job.spec.label(), "key": job.spec.key()},
                     partition=job.partition, seed=job.seed, protocol=protocol_name,
                     neg_ratio=job.neg_ratio).to_dict()


POLL_S = 2.0  # how often a process whose remaining runs are all claimed elsewhere looks again


def _run_claimed(pool: Pool, todo: list[Job], store: Store, claims: Claims, bar, corpus_spec: str,
                 protocol_name: str, cfg: TrainConfig) -> list[str]:
    """Runs the jobs that this process can claim, at most `pool.slots` at a time, and
    stores each record as it comes back; a job claimed by another live process is left
    to it (and looked at again until its record is stored, or its claim goes stale and
    is taken over here). A task that raises or whose worker died is stored as failed."""
    queue, waiting, in_flight, ran, k = deque(todo), [], {}, [], 0
    write_error: UserError | None = None
    while queue or waiting or in_flight:
        if write_error:  # the directory cannot take records: start nothing new
            queue.clear()
            waiting.clear()
        while queue and len(in_flight) < pool.slots:
            job = queue.popleft()
            if store.finished(job.key):  # finished elsewhere
                bar.update()
                continue
            if not claims.try_claim(job.key):
                waiting.append(job)
                continue
            if store.finished(job.key):  # stored just before our claim
                claims.release(job.key)
                bar.update()
                continue
            bar.set_postfix_str(f"{job.role} {job.partition} seed {job.seed}")
            run_cfg, checkpoint = (spread_devices(cfg, k), store.checkpoint(job.key)) if pool.local else (cfg, None)
            in_flight[pool.submit(_run_job, pool.source, protocol_name, job, run_cfg, checkpoint)] = job
            k += 1
        if in_flight:
            for future in pool.wait_first(in_flight):
                job = in_flight.pop(future)
                try:
                    record = future.result()
                except Exception as e:  # the worker died, or the pool broke
                    record = failure(job, protocol_name, f"{type(e).__name__}: {' '.join(str(e).split())}")
                try:
                    store.put(job.key, record | {"corpus_spec": corpus_spec})
                    ran.append(job.key)
                except UserError as e:  # the record could not be stored (and was kept elsewhere)
                    write_error = write_error or e
                finally:
                    claims.release(job.key)
                bar.update()
        elif waiting:
            time.sleep(POLL_S)
        if not queue:
            queue.extend(waiting)
            waiting.clear()
    if write_error:
        raise write_error
    return ran


def fold_ratios(ratios: list[float | None], stats: dict) -> list[float | None]:
    """Negative ratios at or above the training split's own (CHisIEC has 3.9 negatives
    per positive) keep every negative: they are the same runs as `None` (all), so they
    run once, as `None`."""
    train = stats.get("splits", {}).get("train")
    if not train or not train.get("positives"):
        return ratios
    natural = train["negatives"] / train["positives"]
    folded = [None if r is not None and r >= natural else r for r in ratios]
    return list(dict.fromkeys(folded))


def open_pool(scheduler: str | None, workers: int, corpus, corpus_spec: str) -> Pool:
    """Where runs go: a Dask cluster, local worker processes, or this process."""
    if scheduler:
        return connect(scheduler, corpus)
    if workers <= 1:
        return Pool(_Inline(), 1, corpus)
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                   initializer=_start_worker, initargs=(os.getpid(), access.current()))
    return Pool(executor, workers, corpus_spec)


class _Inline:
    """An executor that runs each job at once in this process (one worker)."""

    def submit(self, fn, *args) -> Future:
        future = Future()
        future.set_result(fn(*args))
        return future


def _start_worker(parent: int, settings: access.Access) -> None:
    """Worker initializer: the planning process's corpus access (--offline, --ldc-dir),
    and the worker ends when the process that started it does (also after a SIGKILL,
    which leaves no chance to shut the pool down)."""
    import ctypes
    import signal
    import threading

    access.configure(settings)
    try:  # Linux: the kernel sends SIGKILL when the parent exits
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="relext-parent-watch", daemon=True).start()


@dataclass(frozen=True)
class Options:
    """How an experiment runs, the same for compare, ablate and sweep: the corpus, the
    protocol, seeds 1..`seeds`, where runs go and how many run at once, the training
    settings, and whether to train at all (`run` False: the report shows the missing
    runs as not finished). `scheduler`: a Dask scheduler's address or local:N
    (cluster.py) instead of `workers`. `report_name`: the report's file name, kept in
    the manifest (default CORPUS-PROTOCOL-KIND)."""

    corpus: str
    protocol: str = DEFAULT_PROTOCOL
    seeds: int = 5
    workers: int = 1
    out: str = "results"
    train: TrainConfig = field(default_factory=TrainConfig)
    progress: bool = True
    run: bool = True
    report_name: str | None = None
    scheduler: str | None = None


@dataclass(frozen=True)
class About:
    """What the manifest says of an experiment besides its runs: the model the others
    are tested against, tuned studies, and the preset it ran (`--quick`)."""

    reference: str | None = None
    tuned: list[dict] | None = None
    preset: str | None = None


def run_experiment(kind: str, options: Options, roles: list[Role], ratios: list[float | None] = (None,),
                   about: About = About()) -> dict:
    """Plans the runs, writes the manifest, runs what is missing; returns a summary."""
    corpus_spec, workers, scheduler, seeds = options.corpus, options.workers, options.scheduler, options.seeds
    protocol = get_protocol(options.protocol)
    corpus = load_corpus(corpus_spec)
    cfg = options.train
    if scheduler:  # a local cluster shares this machine's cores; a remote one gets --threads or 1
        workers = local_workers(scheduler) or 0
    if not cfg.threads:  # the cores not busy elsewhere, shared by the workers (0: a remote cluster gets 1)
        cfg = replace(cfg, threads=default_threads(workers) if workers else 1)
    cfg = replace(cfg, progress=False)
    seed_list = list(range(1, seeds + 1))
    stats = corpus_stats(corpus, protocol)
    ratios = fold_ratios(list(ratios), stats)
    jobs = plan(corpus, protocol, roles, seed_list, cfg, ratios)
    store = Store(options.out)
    check_writable(store.runs)  # before any run trains
    if cfg.embeddings:  # a bad file is one error before any run, not a failure per run
        from relext_bench.data.vocab import Vocab

        cfg = replace(cfg, embeddings=embeddings.resolve(cfg.embeddings))
        embeddings.rows(cfg.embeddings, Vocab.build([]))
    store.clean()
    Claims(store.runs).clear_stale()
    # A finished run is never run again; a failed one is (its failure is recorded, not final).
    stored = {j.key for j in jobs if store.finished(j.key)}
    todo = [j for j in jobs if options.run and j.key not in stored]
    pool = open_pool(scheduler, workers, corpus, corpus_spec) if todo else None
    workers = pool.slots if pool else workers
    ident = store.put_manifest(Manifest(
        kind=kind, corpus_spec=corpus_spec,
        corpus={"name": corpus.name, "digest": corpus.digest, "synthetic": corpus.synthetic,
                "language": corpus.language},
        protocol=protocol.name, metric=protocol.metric, seeds=seed_list,
        partitions=[p.name for p in protocol.partitions(corpus)], ratios=ratios,
        train_config=asdict(cfg), workers=workers,
        roles=[RoleEntry(r.name, spec_text(r.spec), r.spec.label(), r.spec.key(), seed_list[:r.seeds])
               for r in roles],
        runs=[RunEntry(j.role, j.partition, j.seed, j.key, j.neg_ratio) for j in jobs],
        corpus_stats=stats, report_name=options.report_name,
        reference=about.reference, tuned=about.tuned, preset=about.preset))
    bar = tqdm(total=len(jobs), initial=len(stored), desc=f"{kind} {corpus.name}",
               disable=not options.progress, unit="run", dynamic_ncols=True)
    t0 = time.perf_counter()
    claims = Claims(store.runs)
    try:
        ran = _run_claimed(pool, todo, store, claims, bar, corpus_spec, protocol.name, cfg) if pool else []
    except BaseException:  # Ctrl-C, SIGTERM, a store that fails: nothing waits for the runs in flight
        if pool:
            pool.abort()
            pool = None
        raise
    finally:
        claims.release_all()
        bar.close()
        if pool:
            pool.close()
    failed = [j.key for j in jobs if j.key not in stored and (r := store.get(j.key)) and r.status == "failed"]
    return {"manifest": ident, "jobs": len(jobs), "already_done": len(stored), "ran": ran, "failed": failed,
            "seconds": time.perf_counter() - t0, "train_config": asdict(cfg), "ratios": ratios}
