"""Corpus statistics under a protocol, and a readable look at a few instances (the
instances as `resolve` builds them for a run, with the protocol's own tags)."""
from __future__ import annotations

from collections import Counter

from relext_bench.data.model import Corpus
from relext_bench.data.policy import OTHER
from relext_bench.protocols import Protocol
from relext_bench.resolve import resolve


def corpus_stats(corpus: Corpus, protocol: Protocol) -> dict:
    parts = protocol.report_splits(corpus)
    builder = resolve(corpus, protocol).builder
    splits = {}
    by_type: Counter = Counter()
    total = Counter()
    for name, docs in parts.items():
        c = Counter(documents=len(docs))
        for d in docs:
            for s in d.sentences:
                c["sentences"] += 1
                c["entity_mentions"] += len(s.entities)
                c["relation_mentions"] += len(s.relations)
                for cand in builder.candidates(s):
                    c["instances"] += 1
                    if cand.label == OTHER:
                        c["negatives"] += 1
                    else:
                        c["positives"] += 1
                        by_type[cand.label] += 1
        keys = ("documents", "sentences", "entity_mentions", "relation_mentions",
                "instances", "positives", "negatives")
        splits[name] = {k: c[k] for k in keys}
        total.update(splits[name])
    sentences = max(total["sentences"], 1)
    return {
        "corpus": corpus.name,
        "language": corpus.language,
        "synthetic": corpus.synthetic,
        "digest": corpus.digest,
        "protocol": protocol.name,
        "policy": protocol.policy.to_dict() | {"digest": protocol.policy.digest()},
        "splits": splits,
        "total": dict(total),
        "negatives_per_positive": round(total["negatives"] / max(total["positives"], 1), 3),
        "entity_mentions_per_sentence": round(total["entity_mentions"] / sentences, 3),
        "relation_mentions_per_sentence": round(total["relation_mentions"] / sentences, 3),
        "positives_by_type": dict(sorted(by_type.items())),
        "skipped": dict(corpus.skipped) | {f"instances: {k}": v for k, v in builder.skipped.items()},
        "notes": list(corpus.notes),
    }


def show_instances(corpus: Corpus, protocol: Protocol, n: int = 3) -> list[dict]:
    """The first n positive and n negative instances, with their tokens, mentions, tags and label."""
    builder = resolve(corpus, protocol).builder
    shown: list[dict] = []
    want = {"positive": n, "negative": n}
    span = protocol.policy.mention_span
    for s in corpus.sentences():
        tags = builder.sentence_tags(s)
        for cand in builder.candidates(s):
            kind = "negative" if cand.label == OTHER else "positive"
            if want[kind] == 0:
                continue
            want[kind] -= 1
            (s1, e1), (s2, e2) = cand.mention1.span(span), cand.mention2.span(span)
            lo = min(s1, s2)
            hi = len(s.tokens) if protocol.policy.window is None else min(len(s.tokens), lo + protocol.policy.window)
            lo = 0 if protocol.policy.window is None else lo
            shown.append({
                "sentence": s.id, "label": cand.label,
                "mention1": {"text": " ".join(s.tokens[s1:e1]), "span": [s1, e1], "type": cand.mention1.type},
                "mention2": {"text": " ".join(s.tokens[s2:e2]), "span": [s2, e2], "type": cand.mention2.type},
                "window": [lo, hi],
                "tokens": list(s.tokens[lo:hi]),
                "tags": [builder.tags[t] for t in tags[lo:hi]],
            })
            if not any(want.values()):
                return shown
    return shown
