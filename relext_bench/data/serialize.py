"""Corpora to and from plain JSON (no pickle), and the corpus digest."""
from __future__ import annotations

import hashlib
import json

from relext_bench.data.model import Corpus, Document, EntityMention, RelationMention, Sentence


def corpus_to_dict(corpus: Corpus) -> dict:
    return {
        "name": corpus.name, "language": corpus.language, "synthetic": corpus.synthetic,
        "relation_types": list(corpus.relation_types), "entity_types": list(corpus.entity_types),
        "symmetric_types": list(corpus.symmetric_types),
        "splits": {k: list(v) for k, v in corpus.splits.items()},
        "skipped": dict(corpus.skipped), "notes": list(corpus.notes),
        "documents": [
            {"id": d.id, "sentences": [
                {"id": s.id, "tokens": list(s.tokens), "offsets": [x for o in s.offsets for x in o],
                 "entities": [[m.id, m.start, m.end, m.type, m.subtype,
                               list(m.extent) if m.extent else None] for m in s.entities],
                 "relations": [[r.id, r.type, r.subtype, r.arg1, r.arg2] for r in s.relations]}
                for s in d.sentences]}
            for d in corpus.documents],
    }


def corpus_from_dict(data: dict) -> Corpus:
    docs = tuple(
        Document(d["id"], tuple(
            Sentence(s["id"], tuple(s["tokens"]), tuple(zip(s["offsets"][::2], s["offsets"][1::2])),
                     tuple(EntityMention(i, a, b, t, st, tuple(x) if x else None)
                           for i, a, b, t, st, x in s["entities"]),
                     tuple(RelationMention(i, t, a1, a2, st) for i, t, st, a1, a2 in s["relations"]))
            for s in d["sentences"]))
        for d in data["documents"])
    return Corpus(name=data["name"], language=data["language"], documents=docs,
                  splits={k: tuple(v) for k, v in data["splits"].items()},
                  synthetic=data["synthetic"], relation_types=tuple(data["relation_types"]),
                  entity_types=tuple(data["entity_types"]),
                  symmetric_types=tuple(data.get("symmetric_types", ())), skipped=dict(data["skipped"]),
                  notes=tuple(data["notes"]))


def corpus_digest(corpus: Corpus) -> str:
    """sha256 over the canonical JSON of documents and splits (first 16 hex digits).
    Notes and the symmetric types (schema facts, keyed through the protocol) stay out."""
    data = corpus_to_dict(corpus)
    data.pop("notes")
    data.pop("symmetric_types")
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
