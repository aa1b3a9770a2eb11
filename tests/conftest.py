import os

import pytest

from relext_bench.data import access
from relext_bench.data.model import Corpus, Document, EntityMention, RelationMention, Sentence


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Each test session gets its own cache home unless one is set; each test starts
    with the environment's corpus access (a command's --offline or --ldc-dir holds for
    its process, so for the rest of a test session, unless reset)."""
    if not os.environ.get("RELEXT_BENCH_HOME"):
        monkeypatch.setenv("RELEXT_BENCH_HOME", str(tmp_path_factory.getbasetemp() / "home"))
    access.configure(access.Access())


def make_sentence(sid, tokens, mentions, relations=()):
    """mentions: (id, start, end, type[, subtype[, extent]]); relations: (id, type, arg1, arg2)."""
    offsets, pos = [], 0
    for t in tokens:
        offsets.append((pos, pos + len(t)))
        pos += len(t) + 1
    ents = tuple(EntityMention(m[0], m[1], m[2], m[3], *(m[4:])) for m in mentions)
    rels = tuple(RelationMention(*r) for r in relations)
    return Sentence(sid, tuple(tokens), tuple(offsets), ents, rels)


def hand_sentence():
    """Ten tokens; A (PER) and B (ORG) are ORG-AFF; C (GPE) and A are PHYS with Arg-1 on
    the right; D (LOC) is nested inside C."""
    return make_sentence(
        "doc1-s0",
        ["t0", "a1", "a2", "t3", "t4", "b5", "t6", "c7", "d8", "c9"],
        [("A", 1, 3, "PER", "Individual"), ("B", 5, 6, "ORG", "Commercial"),
         ("C", 7, 10, "GPE", "Nation"), ("D", 8, 9, "LOC", "Water-Body")],
        [("R1", "ORG-AFF", "A", "B"), ("R2", "PHYS", "C", "A")],
    )


def tiny_corpus(sentences, relation_types=("ORG-AFF", "PHYS"), symmetric_types=()):
    doc = Document("doc1", tuple(sentences))
    return Corpus("tiny", "en", (doc,), {"train": ("doc1",), "dev": ("doc1",), "test": ("doc1",)},
                  relation_types=tuple(relation_types), symmetric_types=tuple(symmetric_types))


def pytest_configure(config):
    """Benchmarks run once, untimed, in a plain test run (they double as smoke tests);
    `pytest --benchmark-only` times them, with the harness's default thread count (the
    cores no other process keeps busy), as a run would have: torch's own default, every
    core, collapses on a busy machine."""
    if hasattr(config.option, "benchmark_disable") and not config.option.benchmark_only:
        config.option.benchmark_disable = True
    if getattr(config.option, "benchmark_only", False):
        import torch

        from relext_bench.training.threads import default_threads

        torch.set_num_threads(default_threads())


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, config):
    """Under --benchmark-only, the fused kernels against their references as one table
    (pytest-benchmark prints one table per case above it)."""
    session = getattr(config, "_benchmarksession", None)
    if session is None or not config.option.benchmark_only or not session.benchmarks:
        return
    from tabulate import tabulate

    from relext_bench.kernels.report import RATIO_HEADERS, ratio_rows

    rows = ratio_rows([b.as_dict(include_data=False) for b in session.benchmarks])
    if rows:
        terminalreporter.write_sep("-", "fused kernels against the reference (medians of this run)")
        terminalreporter.write_line(tabulate(rows, headers=RATIO_HEADERS, tablefmt="github"))
