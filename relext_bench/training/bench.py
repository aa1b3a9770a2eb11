"""Training speed of the two encoders, side by side (`relext-bench bench-train`).

Both encoders train the same model (same corpus, spec, seed and initial weights) on
the first partition's training set, in one process, each on batches of its own kind
(sentence-grouped for `shared`, length-bucketed for `dense`), with the trainer's own
step. Rounds alternate between the encoders so that drift in the machine's speed falls
on both alike. The figure is training instances per second over the timed batches (a
few warm-up batches first); the ratio is shared over dense. The result keeps the
machine's load average before and after, so that a figure made beside other work says so.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch

from relext_bench.data import registry
from relext_bench.errors import UserError
from relext_bench.kernels import kernels_for
from relext_bench.models import build_model, parse_model
from relext_bench.protocols import DEFAULT as DEFAULT_PROTOCOL
from relext_bench.protocols import get_protocol
from relext_bench.resolve import resolve
from relext_bench.training.batches import to_batch, training_batches
from relext_bench.training.environment import load_average
from relext_bench.training.threads import default_threads
from relext_bench.training.trainer import TrainConfig, make_optimizer, resolve_device, train_step

WARMUP = 3
ROUNDS = 2


def bench_train(corpus_spec: str, model: str, protocol: str = DEFAULT_PROTOCOL, encoders=("dense", "shared"),
                batches: int = 40, threads: int | None = None, device: str = "auto", seed: int = 1,
                cfg: TrainConfig | None = None) -> dict:
    """Trains `batches` batches with each encoder; returns instances per second for
    each and their ratio (shared / dense, where both ran)."""

    if batches < ROUNDS:
        raise UserError(f"--batches must be at least {ROUNDS}")
    cfg = cfg or TrainConfig()
    torch.set_num_threads(threads or default_threads())
    spec = parse_model(model)
    corpus = registry.load(corpus_spec)
    prot = get_protocol(protocol)
    partition = prot.partitions(corpus)[0]
    sentences = [s for d in partition.train for s in d.sentences]
    resolved = resolve(corpus, prot, spec, sentences)
    train = resolved.builder.build(sentences)
    dev = resolve_device(device)
    runs = {}
    for encoder in encoders:
        torch.manual_seed(seed)
        net = build_model(dataclasses.replace(spec, encoder=encoder), resolved.sizes).to(dev).train()
        plan = [b for b in training_batches(net, train, cfg.batch_size, np.random.default_rng(seed)) if len(b) > 1]
        runs[encoder] = {"model": net, "optim": make_optimizer(cfg, net.parameters()), "plan": plan, "next": 0,
                         "instances": 0, "seconds": 0.0, "batches": 0, "resolved": net.spec.encoder}

    def steps(run: dict, n: int) -> int:
        done = 0
        for _ in range(n):
            index = run["plan"][run["next"] % len(run["plan"])]
            run["next"] += 1
            train_step(run["model"], run["optim"], to_batch(train, index, dev, run["model"].batches_by_sentence), cfg)
            done += len(index)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return done

    load = [load_average()]
    for run in runs.values():
        steps(run, WARMUP)
    per_round = [batches // ROUNDS + (r < batches % ROUNDS) for r in range(ROUNDS)]
    for n in per_round:
        for run in runs.values():
            t0 = time.perf_counter()
            run["instances"] += steps(run, n)
            run["seconds"] += time.perf_counter() - t0
            run["batches"] += n
    result = {
        "corpus": corpus.name, "corpus_spec": corpus_spec, "synthetic": corpus.synthetic, "protocol": prot.name,
        "model": spec.name, "spec": spec.label(), "device": str(dev), "kernel_backend": kernels_for(dev),
        "threads": torch.get_num_threads(), "batch_size": cfg.batch_size, "warmup_batches": WARMUP,
        "load": load + [load_average()],  # the machine's 1-minute load average before and after
        "encoders": {enc: {"encoder": r["resolved"], "batches": r["batches"], "instances": r["instances"],
                           "seconds": r["seconds"], "instances_per_s": r["instances"] / r["seconds"]}
                     for enc, r in runs.items()},
    }
    if "dense" in runs and "shared" in runs:
        result["ratio"] = result["encoders"]["shared"]["instances_per_s"] / result["encoders"]["dense"]["instances_per_s"]
    return result
