"""Training throughput with the default thread count on a busy machine, side by side
with one thread and with every core (torch's own default), while another process
keeps one core busy. `pytest --benchmark-only tests/bench/test_bench_threads.py`
times them; the group's table reads as the ratio of each to one thread."""
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from relext_bench.data import registry
from relext_bench.models import parse_model
from relext_bench.protocols import get_protocol
from relext_bench.resolve import resolve
from relext_bench.training.batches import to_batch, training_batches
from relext_bench.training.threads import cores, default_threads
from relext_bench.training.trainer import TrainConfig, make_optimizer, train_step

BUSY_S = 600  # the competitor stops by itself after this long


@pytest.fixture(scope="module")
def busy_core():
    """Another process spinning on one core for the module's tests (bounded in time)."""
    proc = subprocess.Popen([sys.executable, "-c", f"import time\nend = time.time() + {BUSY_S}\n"
                                                   "while time.time() < end:\n    pass\n"])
    time.sleep(1.0)  # let the scheduler see it
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def training():
    corpus = registry.load("synth_zh:documents=60")
    protocol = get_protocol("standard")
    spec = parse_model("cnn")
    sentences = [s for d in protocol.partitions(corpus)[0].train for s in d.sentences]
    run = resolve(corpus, protocol, spec, sentences)
    train = run.builder.build(sentences)
    torch.manual_seed(1)
    model = run.model().train()
    cfg = TrainConfig()
    batches = [to_batch(train, b, torch.device("cpu"), grouped=True)
               for b in training_batches(model, train, cfg.batch_size, np.random.default_rng(1))[:8] if len(b) > 1]
    return model, make_optimizer(cfg, model.parameters()), batches, cfg


@pytest.mark.parametrize("threads", ["default", "one", "every core"])
def test_training_beside_a_busy_core(benchmark, busy_core, training, threads):
    model, optim, batches, cfg = training
    n = {"default": default_threads(), "one": 1, "every core": cores()}[threads]
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    benchmark.group = f"cnn training steps, {cores()} cores, one kept busy by another process"
    benchmark.extra_info.update(threads=n, instances=sum(len(b["labels"]) for b in batches))
    try:
        benchmark.pedantic(lambda: [train_step(model, optim, b, cfg) for b in batches], rounds=5, warmup_rounds=1)
    finally:
        torch.set_num_threads(before)
    if threads == "default" and cores() <= 2:
        assert n == 1  # one of two cores is taken: one thread is what can run
