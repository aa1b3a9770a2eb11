"""The embedded corpus: shape, determinism, and that it is marked synthetic."""
import json
import subprocess
import sys

from relext_bench.corpus_stats import corpus_stats
from relext_bench.data import registry
from relext_bench.data.model import corpus_digest, corpus_from_dict, corpus_to_dict
from relext_bench.protocols import PROTOCOLS


def test_default_shape_is_ace_chinese_like():
    stats = corpus_stats(registry.load("synth_zh"), PROTOCOLS["standard"])
    assert stats["synthetic"] is True
    assert 19 <= stats["negatives_per_positive"] <= 21
    assert 4.8 <= stats["entity_mentions_per_sentence"] <= 5.0
    assert 1.25 <= stats["relation_mentions_per_sentence"] <= 1.35
    assert set(stats["splits"]) == {"train", "dev", "test"}
    assert len(stats["positives_by_type"]) == 11  # 5 directed types x 2 directions + PER-SOC
    paper = corpus_stats(registry.load("synth_zh"), PROTOCOLS["paper"])
    assert set(paper["splits"]) == {f"fold-{k}" for k in range(1, 6)}
    assert 19 <= paper["negatives_per_positive"] <= 21


def test_not_trivially_separable():
    """Arguments in both orders, distractors between arguments, nested mentions,
    and cue-free relations exist."""
    corpus = registry.load("synth_zh")
    reversed_args = between = nested = 0
    for s in corpus.sentences():
        by_id = {m.id: m for m in s.entities}
        for r in s.relations:
            a, b = by_id[r.arg1], by_id[r.arg2]
            reversed_args += a.start > b.start
            lo, hi = sorted((a.end, b.start)) if a.start < b.start else sorted((b.end, a.start))
            between += any(lo <= m.start and m.end <= hi for m in s.entities if m.id not in (a.id, b.id))
        nested += any(m.start >= o.start and m.end <= o.end and m.id != o.id
                      for m in s.entities for o in s.entities)
    n_rel = sum(len(s.relations) for s in corpus.sentences())
    assert 0.2 < reversed_args / n_rel < 0.5
    assert between / n_rel > 0.1
    assert nested > 50


def test_same_seed_same_corpus_other_seed_different():
    a = registry.load("synth_zh:seed=7,documents=20")
    b = registry.get("synth_zh").loader(seed="7", documents="20")
    c = registry.load("synth_zh:seed=8,documents=20")
    assert corpus_digest(a) == corpus_digest(b)
    assert corpus_digest(a) != corpus_digest(c)


def test_round_trip_through_json():
    a = registry.load("synth_en:documents=5")
    b = corpus_from_dict(json.loads(json.dumps(corpus_to_dict(a))))
    assert b == a and corpus_digest(b) == corpus_digest(a)


def _stats_bytes(spec):
    return subprocess.run([sys.executable, "-m", "relext_bench", "corpora", "stats", spec, "--json"],
                          check=True, capture_output=True).stdout


def test_stats_are_byte_identical_across_processes():
    first, second = _stats_bytes("synth_zh:documents=30"), _stats_bytes("synth_zh:documents=30")
    assert first == second
    assert _stats_bytes("synth_zh:documents=30,seed=99") != first
    data = json.loads(first)
    for key in ("corpus", "language", "synthetic", "splits", "negatives_per_positive",
                "entity_mentions_per_sentence", "relation_mentions_per_sentence", "positives_by_type"):
        assert key in data
    for split in data["splits"].values():
        assert set(split) == {"documents", "sentences", "entity_mentions", "relation_mentions",
                              "instances", "positives", "negatives"}
