"""One training run: a corpus partition, a model spec, a seed -> a run record.

One seed drives everything (parameter init, dropout, batch order); on CPU with a fixed
thread count a run is bit-reproducible. Early stopping restores the best weights, on
the dev metric or, as the paper's script does, on validation loss with patience 2.
When a run stops is `stopping.Stopper`'s rule (patience after a minimum of optimizer steps).
A NaN or infinite loss ends the run as a recorded failure.
"""
from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from relext_bench.data import embeddings
from relext_bench.data.instances import InstanceSet
from relext_bench.data.model import Corpus
from relext_bench.data.vocab import Vocab
from relext_bench.errors import UserError
from relext_bench.kernels import kernels_for
from relext_bench.metrics import OFFICIAL, evaluate
from relext_bench.models import ModelSpec
from relext_bench.protocols import Partition, Protocol
from relext_bench.records import RECORD_VERSION, RunRecord, pack_labels
from relext_bench.resolve import resolve
from relext_bench.training.environment import environment
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


class TrainingFailed(Exception):
    pass


def to_batch(instances: InstanceSet, index: np.ndarray, device: torch.device,
             grouped: bool = False) -> dict[str, torch.Tensor]:
    rows = instances.rows(index, grouped=grouped)
    batch = {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in rows.items()}
    batch["mask"] = torch.arange(batch["tokens"].shape[1], device=device)[None, :] < batch["lengths"][:, None]
    return batch


def epoch_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator,
                  chunk: int = 50) -> list[np.ndarray]:
    """Length-bucketed batches: shuffle, sort each chunk of `chunk` batches by length,
    cut into batches, shuffle the batches. Padding then follows each batch's own
    longest window (whole-sentence instances vary from a few tokens to hundreds)."""
    order = rng.permutation(len(lengths))
    batches = []
    span = batch_size * chunk
    for start in range(0, len(order), span):
        part = order[start:start + span]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def sentence_batches(sentence: np.ndarray, batch_size: int, rng: np.random.Generator | None = None,
                     lengths: np.ndarray | None = None) -> list[np.ndarray]:
    """Sentence-grouped batches, for the shared encoder: whole sentences packed into
    batches of at most `batch_size` instances (a sentence with more is split). With
    `rng` (training): sentences in random order, then the batches shuffled. Without
    (prediction): sentences by length (`lengths` of their instances), so that a batch
    pads little. A sentence's instances keep their order."""
    order = np.argsort(sentence, kind="stable")
    ids, starts = np.unique(sentence[order], return_index=True)
    members = np.split(order, starts[1:]) if len(order) else []
    if rng is not None:
        members = [members[i] for i in rng.permutation(len(members))]
    elif lengths is not None:
        members.sort(key=lambda m: int(lengths[m].max()))
    batches, current, size = [], [], 0
    for m in members:
        for piece in (m[i:i + batch_size] for i in range(0, len(m), batch_size)):
            if size + len(piece) > batch_size and current:
                batches.append(np.concatenate(current))
                current, size = [], 0
            current.append(piece)
            size += len(piece)
    if current:
        batches.append(np.concatenate(current))
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


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


def training_batches(model, instances: InstanceSet, cfg: TrainConfig, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches: sentence-grouped for the shared encoder, else length-bucketed."""
    if model.batches_by_sentence:
        return sentence_batches(instances.sentence, cfg.batch_size, rng)
    return epoch_batches(instances.lengths, cfg.batch_size, rng)


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


def train_run(corpus: Corpus, protocol: Protocol, partition: Partition, spec: ModelSpec, seed: int,
              cfg: TrainConfig = TrainConfig(), device: str | None = None, extra: dict | None = None,
              neg_ratio: float | None = None, on_epoch: Callable[[int, int, float], None] | None = None) -> dict:
    """Trains and evaluates one run; returns its record (a failure is a record too), in
    the JSON form of `relext_bench.records.RunRecord`, which checks it.

    `neg_ratio` subsamples the training negatives to that many per positive (dev and
    test untouched). `on_epoch(epoch, steps, dev_metric)` is called after every epoch
    (`steps`: optimizer steps so far); an
    exception it raises (a tuner's pruning signal) ends the run and propagates."""
    spec = spec.resolved()
    torch.set_num_threads(cfg.threads or default_threads())  # default: the cores not busy elsewhere
    torch_device = resolve_device(device or cfg.device)
    train_sents = [s for d in partition.train for s in d.sentences]
    t0 = time.perf_counter()
    run = resolve(corpus, protocol, spec, train_sents,
                  extra_words=embeddings.table_words(cfg.embeddings, cfg.vocabulary, corpus))
    policy, builder = run.policy, run.builder
    record = {
        "version": RECORD_VERSION, "status": "running",
        "corpus": {"name": corpus.name, "digest": corpus.digest, "synthetic": corpus.synthetic,
                   "language": corpus.language},
        "protocol": protocol.name, "metric": protocol.metric, "partition": partition.name,
        "policy": policy.to_dict() | {"digest": policy.digest()},
        "symmetric_types": list(policy.undirected(corpus.symmetric_types)),
        "model": spec.to_dict() | {"key": spec.key(), "label": spec.label()},
        "train_config": asdict(cfg), "seed": seed, "device": str(torch_device), **(extra or {}),
    }
    timings = {}
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
    timings["build_s"] = time.perf_counter() - t0
    record["instances"] = {"train": len(train), "dev": len(dev), "test": len(test),
                           "train_positives": train.positives, "train_negatives_before_sampling": negatives_before,
                           "skipped": dict(builder.skipped)}
    record["neg_ratio"] = neg_ratio
    record["leak_probe"] = {"train": leak_probe(train), "test": leak_probe(test)}
    record["labels"] = builder.labels

    torch.manual_seed(seed)
    np_rng = np.random.default_rng(seed)
    model = run.model().to(torch_device)
    if cfg.embeddings:
        trained = len(Vocab.build(s.tokens for s in train_sents)) - 2
        record["embeddings"] = load_embeddings(model, cfg.embeddings, builder.words, trained)
    record["parameters"] = sum(p.numel() for p in model.parameters())
    optim = make_optimizer(cfg, model.parameters())
    curve, best_state, steps = [], None, 0
    stopper = Stopper(cfg.patience, cfg.min_steps)
    t1 = time.perf_counter()
    # One bar per run that moves with every batch: an epoch on a large corpus takes minutes.
    bar = tqdm(desc=spec.label(), disable=not cfg.progress, leave=False, unit="batch", dynamic_ncols=True)
    try:
        for epoch in range(1, cfg.max_epochs + 1):
            model.train()
            total, seen, te = 0.0, 0, time.perf_counter()
            batches = training_batches(model, train, cfg, np_rng)
            bar.reset(total=len(batches))
            bar.set_description(f"{spec.label()} epoch {epoch}/{cfg.max_epochs}")
            for k, index in enumerate(batches):
                bar.update()
                if len(index) < 2:  # BatchNorm needs two instances
                    continue
                value = train_step(model, optim, to_batch(train, index, torch_device, model.batches_by_sentence), cfg)
                steps += 1
                if not math.isfinite(value):
                    raise TrainingFailed(f"loss became {value} in epoch {epoch} at batch {k}")
                total += value * len(index)
                seen += len(index)
            train_s = time.perf_counter() - te
            dev_pred, dev_loss = predict(model, dev, cfg, torch_device)
            dev_metric = evaluate(dev.labels, dev_pred, builder.labels)[protocol.metric]
            curve.append({"epoch": epoch, "train_loss": total / max(seen, 1), "dev_loss": dev_loss,
                          f"dev_{protocol.metric}": dev_metric, "steps": steps, "train_seconds": train_s,
                          "train_instances_per_s": seen / train_s if train_s else None})
            bar.set_postfix(loss=f"{total / max(seen, 1):.3f}", dev=f"{dev_metric:.3f}")
            if on_epoch is not None:
                on_epoch(epoch, steps, dev_metric)
            score = -dev_loss if cfg.early_stopping == "dev_loss" else dev_metric
            if stopper.improved(epoch, score):
                best_state = copy.deepcopy(model.state_dict())
                record["best_epoch"] = epoch
            elif stopper.should_stop(steps):
                break
    except TrainingFailed as e:
        record.update(status="failed", failure=str(e), curve=curve)
        record["timings"] = timings | {"train_s": time.perf_counter() - t1}
        record["environment"] = environment(kernels_for(torch_device))
        return RunRecord.from_dict(record, "the trainer's record").to_dict()
    finally:
        bar.close()
    timings["train_s"] = time.perf_counter() - t1
    model.load_state_dict(best_state)

    t2 = time.perf_counter()
    dev_pred, _ = predict(model, dev, cfg, torch_device)
    test_pred, _ = predict(model, test, cfg, torch_device)
    timings["evaluate_s"] = time.perf_counter() - t2
    epochs = len(curve)
    timings["train_instances_per_s"] = float(np.mean([c["train_instances_per_s"] for c in curve if c["train_instances_per_s"]]))
    record.update(
        status="finished", curve=curve, epochs=epochs, timings=timings,
        dev=evaluate(dev.labels, dev_pred, builder.labels, corpus.name),
        test=evaluate(test.labels, test_pred, builder.labels, corpus.name),
        predictions={"test_gold": pack_labels(test.labels), "test_pred": pack_labels(test_pred)},
        environment=environment(kernels_for(torch_device)),
    )
    if corpus.name in OFFICIAL:  # its official scorer reads answers by the task's sentence IDs
        record["predictions"]["test_ids"] = [test.sentence_ids[i] for i in test.sentence]
    return RunRecord.from_dict(record, "the trainer's record").to_dict()
