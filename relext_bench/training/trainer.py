"""One training run: a corpus partition, a model spec, a seed -> a run record.
Longer than the other modules: a run's whole life (build, train, stop early, refit,
score, record) reads here top to bottom; what stands alone lives beside it
(`stopping`, `checkpoint`, `batches`).

One seed drives everything (parameter init, dropout, batch order); on CPU with a fixed
thread count a run is bit-reproducible. Early stopping restores the best weights, on
the dev metric or, as the paper's script does, on validation loss with patience 2.
When a run stops is `stopping.Stopper`'s rule (patience after a minimum of optimizer steps).
A NaN or infinite loss ends the run as a recorded failure.

With `refit` the early-stopped model only chooses the epoch count: a fresh model (same
seed) then trains on train + dev for that many epochs, as papers that train on all their
labelled data do (SemEval-2010 Task 8 has no official dev set), and it is the one scored
on test. The record keeps the early-stopped model's dev scores, its test scores under
`refit.selected_test`, and the refit's instances, steps and time.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from relext_bench.data import embeddings
from relext_bench.data.instances import InstanceSet
from relext_bench.data.model import Corpus
from relext_bench.errors import UserError
from relext_bench.kernels import kernels_for
from relext_bench.metrics import OFFICIAL, evaluate
from relext_bench.models import ModelSpec
from relext_bench.protocols import Partition, Protocol
from relext_bench.records import InstanceCounts, RunRecord, Scores, Timings, pack_labels
from relext_bench.resolve import resolve
from relext_bench.training import checkpoint as checkpoints
from relext_bench.training.batches import sentence_batches, to_batch, training_batches
from relext_bench.training.environment import environment, load_average
from relext_bench.training.leak import leak_probe
from relext_bench.training.stopping import MAX_EPOCHS, MIN_STEPS, PATIENCE, Stopper
from relext_bench.training.threads import default_threads


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "rmsprop"  # the paper's script
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 256
    # Converged by default: early stopping on the dev metric with patience 10 after at
    # least 2000 optimizer steps, under an epoch limit that runs do not reach (reports
    # flag any run whose best epoch is the limit).
    max_epochs: int = MAX_EPOCHS
    early_stopping: str = "dev_metric"  # or "dev_loss"
    patience: int = PATIENCE
    min_steps: int = MIN_STEPS
    grad_clip: float | None = 5.0
    threads: int | None = None  # None: the cores no other process keeps busy (training/threads.py)
    progress: bool = True
    eval_batch_size: int = 1024
    device: str = "auto"  # cpu, cuda, cuda:N or auto (CUDA when available); not part of a run's key
    embeddings: str | None = None  # word2vec text file or named source (data/embeddings.py), keyed by content
    vocabulary: str = "train"  # with embeddings: "train" (its words) or "pretrained" (+ the corpus's covered words)
    refit: bool = False  # score a model retrained on train + dev for the early-stopped run's best epoch count


class TrainingFailed(Exception):
    pass


def load_embeddings(model, source: str, words, training_words: int) -> dict:
    """Pretrained rows for the words the vectors have (the others keep the model's own
    initialisation); returns what the record keeps: source, digest, dim, and coverage of
    the training words (the first `training_words` after padding and unknown)."""
    rows, dim = embeddings.rows(source, words)
    if dim != model.word_dim:
        raise UserError(f"{source}: the embeddings have {dim} dimensions, the model's words {model.word_dim}: "
                        f"add word_dim={dim} to the model spec")
    with torch.no_grad():
        for i, vector in rows.items():
            model.words[i] = torch.from_numpy(vector)
    covered = sum(1 for i in rows if i < training_words + 2)
    return {"file": embeddings.describe(source), "sha256": embeddings.digest(source), "dim": dim,
            "vocabulary": training_words, "covered": covered,
            "coverage": covered / training_words if training_words else 0.0,
            "added": len(words) - 2 - training_words}


def resolve_device(name: str = "auto") -> torch.device:
    """`cpu`, `cuda` (or `cuda:N`), or `auto`: CUDA when a device is available."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: this torch has no CUDA device available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name!r}: use cpu, cuda, cuda:N or auto") from None


def subsample_negatives(instances: InstanceSet, ratio: float, seed: int) -> InstanceSet:
    """Every positive and at most `ratio` negatives per positive, drawn without
    replacement by a generator seeded with the run's seed; order kept."""
    negatives = np.flatnonzero(instances.labels == 0)
    keep = min(len(negatives), int(round(ratio * instances.positives)))
    drawn = np.random.default_rng([seed, 1]).choice(negatives, size=keep, replace=False)
    return instances.subset(np.sort(np.concatenate([np.flatnonzero(instances.labels > 0), drawn])))


LONG_INPUT = 1024  # tokens: past this, one instance's input costs memory worth a warning (docs/corpora.md)


def warn_long_inputs(corpus_name: str, *sets: InstanceSet) -> int:
    """Warns when instances' inputs (whole sentences, or windows) are longer than
    LONG_INPUT tokens: a batch pads to its longest input and the encoders hold
    [batch, length, width] activations (and att_bilstm's attention more), so one very
    long sentence can cost gigabytes. Returns how many such instances there are."""
    lengths = np.concatenate([s.lengths for s in sets])
    long = int((lengths > LONG_INPUT).sum())
    if long:
        print(f"relext-bench: warning: {corpus_name}: {long:,} instances have inputs longer than {LONG_INPUT} "
              f"tokens (the longest {int(lengths.max()):,}); memory and time grow with the longest input of a "
              "batch: split such sentences, or use a windowed protocol (standard-window)", file=sys.stderr)
    return long


def make_optimizer(cfg: TrainConfig, params):
    name = cfg.optimizer.lower()
    if name == "rmsprop":
        # Keras's RMSprop: rho 0.9, epsilon 1e-7.
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=0.9, eps=1e-7, weight_decay=cfg.weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def train_step(model, optim, batch: dict[str, torch.Tensor], cfg: TrainConfig) -> float:
    """One optimiser step on a batch; returns the loss (a non-finite loss takes no step)."""
    loss = model.loss(model(batch), batch["labels"])
    value = loss.item()
    if not math.isfinite(value):
        return value
    optim.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optim.step()
    return value


@torch.no_grad()
def predict(model, instances: InstanceSet, cfg: TrainConfig, device) -> tuple[np.ndarray, float]:
    """Predicted labels and the mean loss over the set."""
    model.eval()
    if model.batches_by_sentence:
        batches = sentence_batches(instances.sentence, cfg.eval_batch_size, lengths=instances.lengths)
    else:  # batches of similar length
        order = np.argsort(instances.lengths, kind="stable")
        batches = [order[i:i + cfg.eval_batch_size] for i in range(0, len(instances), cfg.eval_batch_size)]
    preds, total = np.zeros(len(instances), dtype=np.int64), 0.0
    for index in batches:
        batch = to_batch(instances, index, device, model.batches_by_sentence)
        out = model(batch)
        total += float(model.loss(out, batch["labels"])) * len(index)
        preds[index] = model.predict(out).cpu().numpy()
    return preds, total / max(len(instances), 1)


@dataclass
class Fit:
    """What training left: the epoch curve, the best epoch and its weights, the steps;
    after a resume, the epoch it resumed after and the training seconds before it."""

    curve: list[dict]
    best_epoch: int | None = None
    best_state: dict | None = None
    steps: int = 0
    resumed_after: int | None = None
    train_s_before: float = 0.0


def scores(gold: np.ndarray, pred: np.ndarray, labels: list[str], corpus_name: str) -> Scores:
    return Scores(**evaluate(gold, pred, labels, corpus_name))


def train_run(corpus: Corpus, protocol: Protocol, partition: Partition, spec: ModelSpec, seed: int,
              cfg: TrainConfig = TrainConfig(), device: str | None = None, neg_ratio: float | None = None,
              on_epoch: Callable[[int, int, float], None] | None = None, checkpoint: Path | None = None) -> dict:
    """Trains and evaluates one run; returns its record (a failure is a record too), in
    the JSON form of `relext_bench.records.RunRecord`. With `checkpoint`, training
    resumes from that file when it holds this run's progress, and saves it as it goes
    (`training/checkpoint.py`).

    `neg_ratio` subsamples the training negatives to that many per positive (dev and
    test untouched). `on_epoch(epoch, steps, dev_metric)` is called after every epoch
    (`steps`: optimizer steps so far); an exception it raises (a tuner's pruning
    signal) ends the run and propagates."""
    spec = spec.resolved()
    if cfg.refit and partition.test is partition.dev:
        raise UserError(f"{corpus.name} {partition.name}: --refit trains on the dev data, but this protocol "
                        "scores on the dev data too; refit needs a test set of its own")
    started, load, cpu = time.time(), load_average(), time.process_time()
    torch.set_num_threads(cfg.threads or default_threads())  # default: the cores not busy elsewhere
    torch_device = resolve_device(device or cfg.device)
    train_sents = [s for d in partition.train for s in d.sentences]
    t0 = time.perf_counter()
    run = resolve(corpus, protocol, spec, train_sents,
                  extra_words=embeddings.table_words(cfg.embeddings, cfg.vocabulary, corpus))
    builder = run.builder
    train = builder.build(train_sents)
    if train.positives == 0:
        raise UserError(f"{corpus.name} {partition.name}: the training data has "
                        f"{'no candidate pairs' if len(train) == 0 else 'no relation'} to learn from "
                        f"({len(train_sents)} sentences); refusing to report scores of an untrained model")
    negatives_before = len(train) - train.positives
    if neg_ratio is not None:
        train = subsample_negatives(train, neg_ratio, seed)
    dev = builder.build([s for d in partition.dev for s in d.sentences])
    test = dev if partition.test is partition.dev else builder.build([s for d in partition.test for s in d.sentences])
    warn_long_inputs(corpus.name, *([train, dev] if test is dev else [train, dev, test]))
    timings = Timings(train_s=0.0, build_s=time.perf_counter() - t0, started=started, load=[load])
    record = RunRecord(
        status="running", model=spec.to_dict() | {"key": spec.key(), "label": spec.label()},
        partition=partition.name, seed=seed, protocol=protocol.name,
        corpus={"name": corpus.name, "digest": corpus.digest, "synthetic": corpus.synthetic,
                "language": corpus.language},
        metric=protocol.metric, policy=run.policy.to_dict() | {"digest": run.policy.digest()},
        symmetric_types=list(run.policy.undirected(corpus.symmetric_types)), train_config=asdict(cfg),
        device=str(torch_device), neg_ratio=neg_ratio,
        instances=InstanceCounts(len(train), len(dev), len(test), train.positives, negatives_before,
                                 dict(builder.skipped)),
        leak_probe={"train": leak_probe(train), "test": leak_probe(test)}, labels=builder.labels, timings=timings)

    torch.manual_seed(seed)
    model = run.model().to(torch_device)
    if cfg.embeddings:
        record.embeddings = load_embeddings(model, cfg.embeddings, builder.words, builder.words.counted)
    record.parameters = sum(p.numel() for p in model.parameters())
    t1 = time.perf_counter()
    fit = Fit([])
    try:
        fit = train_model(model, train, dev, cfg, protocol.metric, builder.labels, torch_device, seed, fit, on_epoch,
                          checkpoint)
    except TrainingFailed as e:
        record.status, record.failure, record.curve, record.best_epoch = "failed", str(e), fit.curve, fit.best_epoch
        record.timings.train_s = fit.train_s_before + time.perf_counter() - t1
        return clock_out(record, torch_device, cpu)
    timings.train_s = fit.train_s_before + time.perf_counter() - t1
    timings.resumed_after_epoch = fit.resumed_after
    model.load_state_dict(fit.best_state)

    t2 = time.perf_counter()
    dev_pred, _ = predict(model, dev, cfg, torch_device)
    test_pred, _ = predict(model, test, cfg, torch_device)
    timings.evaluate_s = time.perf_counter() - t2
    timings.train_instances_per_s = float(np.mean([c["train_instances_per_s"] for c in fit.curve
                                                   if c["train_instances_per_s"]]))
    record.status, record.curve, record.epochs, record.best_epoch = "finished", fit.curve, len(fit.curve), fit.best_epoch
    record.dev = scores(dev.labels, dev_pred, builder.labels, corpus.name)
    record.test = scores(test.labels, test_pred, builder.labels, corpus.name)
    if cfg.refit:
        try:
            test, test_pred = refit(record, corpus, protocol, spec, partition, seed, cfg, neg_ratio, torch_device)
        except TrainingFailed as e:
            record.status, record.failure = "failed", f"refit on train + dev: {e}"
            return clock_out(record, torch_device, cpu)
    record.predictions = {"test_gold": pack_labels(test.labels), "test_pred": pack_labels(test_pred)}
    if corpus.name in OFFICIAL:  # its official scorer reads answers by the task's sentence IDs
        record.predictions["test_ids"] = [test.sentence_ids[i] for i in test.sentence]
    return clock_out(record, torch_device, cpu)


def refit(record: RunRecord, corpus: Corpus, protocol: Protocol, spec: ModelSpec, partition: Partition,
          seed: int, cfg: TrainConfig, neg_ratio: float | None, device) -> tuple[InstanceSet, np.ndarray]:
    """Trains a fresh model on train + dev (its word table from both) for the early-stopped
    run's best epoch count, keeps its last weights and scores it on test: `record.test`
    becomes its scores, the early-stopped model's move to `record.refit`. Returns the test
    instances and their predictions."""
    sentences = [s for d in (*partition.train, *partition.dev) for s in d.sentences]
    t0 = time.perf_counter()
    run = resolve(corpus, protocol, spec, sentences,
                  extra_words=embeddings.table_words(cfg.embeddings, cfg.vocabulary, corpus))
    if run.builder.labels != record.labels:
        raise UserError(f"{corpus.name} {partition.name}: train + dev have other labels than train; cannot refit")
    train = run.builder.build(sentences)
    if neg_ratio is not None:
        train = subsample_negatives(train, neg_ratio, seed)
    test = run.builder.build([s for d in partition.test for s in d.sentences])
    torch.manual_seed(seed)
    model = run.model().to(device)
    if cfg.embeddings:
        load_embeddings(model, cfg.embeddings, run.builder.words, run.builder.words.counted)
    t1 = time.perf_counter()
    fit = Fit([])
    try:
        train_model(model, train, None, replace(cfg, max_epochs=record.best_epoch), protocol.metric,
                    run.builder.labels, device, seed, fit)
    finally:
        selected = {k: v for k, v in asdict(record.test).items() if isinstance(v, float)}
        record.refit = {"epochs": record.best_epoch, "instances": len(train), "words": len(run.builder.words),
                        "steps": fit.steps, "curve": fit.curve, "build_s": t1 - t0,
                        "train_s": time.perf_counter() - t1, "selected_test": selected}
    test_pred, _ = predict(model, test, cfg, device)
    record.test = scores(test.labels, test_pred, run.builder.labels, corpus.name)
    return test, test_pred


def clock_out(record: RunRecord, device: torch.device, cpu_started: float) -> dict:
    """The record's end: when it finished, the machine's load then, the CPU time its
    process spent on it (against the wall time: how much of it the run was running), where
    it ran."""
    record.timings.finished = time.time()
    record.timings.cpu_s = time.process_time() - cpu_started
    record.timings.load = [*record.timings.load, load_average()]
    record.environment = environment(kernels_for(device))
    return record.to_dict()


def train_model(model, train: InstanceSet, dev: InstanceSet | None, cfg: TrainConfig, metric: str, labels: list[str],
                device: torch.device, seed: int, fit: Fit, on_epoch=None, checkpoint: Path | None = None) -> Fit:
    """Trains until `stopping.Stopper` says so, keeping the best epoch's weights; fills
    `fit` as it goes (so a failure still has its curve) and returns it. Without a dev set
    (`dev` None: a refit) it trains `cfg.max_epochs` epochs and keeps the last weights."""
    if cfg.batch_size < 2:  # every batch of one is skipped below: nothing would be learned
        raise UserError(f"batch size {cfg.batch_size}: training takes batches of at least 2 instances")
    np_rng = np.random.default_rng(seed)
    optim = make_optimizer(cfg, model.parameters())
    stopper = Stopper(cfg.patience, cfg.min_steps)
    first, stopped, t0 = 1, False, time.perf_counter()
    saved = checkpoints.load(checkpoint, model, device) if checkpoint is not None else None
    if saved is not None:
        stopper, first, stopped = checkpoints.restore(saved, model, optim, np_rng, device, fit)
    last_save = time.perf_counter()
    label = model.spec.label()
    # One bar per run that moves with every batch: an epoch on a large corpus takes minutes.
    bar = tqdm(desc=label, disable=not cfg.progress, leave=False, unit="batch", dynamic_ncols=True)
    try:
        last = first - 1 if stopped else cfg.max_epochs  # a resumed run that had stopped trains no more
        for epoch in range(first, last + 1):
            model.train()
            total, seen, te = 0.0, 0, time.perf_counter()
            batches = training_batches(model, train, cfg.batch_size, np_rng)
            bar.reset(total=len(batches))
            bar.set_description(f"{label} epoch {epoch}/{cfg.max_epochs}")
            for k, index in enumerate(batches):
                bar.update()
                if len(index) < 2:  # BatchNorm needs two instances
                    continue
                value = train_step(model, optim, to_batch(train, index, device, model.batches_by_sentence), cfg)
                fit.steps += 1
                if not math.isfinite(value):
                    raise TrainingFailed(f"loss became {value} in epoch {epoch} at batch {k}")
                total += value * len(index)
                seen += len(index)
            train_s = time.perf_counter() - te
            if dev is None:
                fit.curve.append({"epoch": epoch, "train_loss": total / max(seen, 1), "steps": fit.steps,
                                  "train_seconds": train_s})
                continue
            dev_pred, dev_loss = predict(model, dev, cfg, device)
            dev_metric = evaluate(dev.labels, dev_pred, labels)[metric]
            fit.curve.append({"epoch": epoch, "train_loss": total / max(seen, 1), "dev_loss": dev_loss,
                              f"dev_{metric}": dev_metric, "steps": fit.steps, "train_seconds": train_s,
                              "train_instances_per_s": seen / train_s if train_s else None})
            bar.set_postfix(loss=f"{total / max(seen, 1):.3f}", dev=f"{dev_metric:.3f}")
            if on_epoch is not None:
                on_epoch(epoch, fit.steps, dev_metric)
            score = -dev_loss if cfg.early_stopping == "dev_loss" else dev_metric
            stop = False
            if stopper.improved(epoch, score):
                fit.best_state = copy.deepcopy(model.state_dict())
                fit.best_epoch = epoch
            else:
                stop = stopper.should_stop(fit.steps)
            if checkpoint is not None and (stop or time.perf_counter() - last_save >= checkpoints.EVERY_S):
                checkpoints.save(checkpoint, checkpoints.capture(model, optim, np_rng, device, stopper, fit, epoch,
                                                                 stop, fit.train_s_before + time.perf_counter() - t0))
                last_save = time.perf_counter()
            if stop:
                break
    finally:
        bar.close()
    return fit
