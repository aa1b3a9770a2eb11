"""The corpus data model: immutable, typed, language-neutral; and its plain-JSON form
(no pickle) with the corpus digest.

A sentence is a list of tokens (characters for Chinese, words for English), each with
character offsets into its document. Spans are token indices, end exclusive.
Relations refer to entity mentions of the same sentence by id, Arg-1 first.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True, slots=True)
class EntityMention:
    id: str
    start: int  # token index of the head (or the only span), inclusive
    end: int  # exclusive
    type: str
    subtype: str | None = None
    # ACE distinguishes the head from the full extent; other corpora have one span.
    extent: tuple[int, int] | None = None

    def span(self, which: str = "head") -> tuple[int, int]:
        if which == "extent" and self.extent is not None:
            return self.extent
        return (self.start, self.end)


def first_of_each_span(mentions, skip) -> tuple[list[EntityMention], dict[str, str]]:
    """One mention per span, the first: a span annotated twice would otherwise make one
    pair both a relation and Other, and pair a mention with its copy. `skip(mention)`
    counts each dropped copy; returns the kept mentions and, for each dropped id, the
    id of the mention kept in its place (relations naming the copy move to it)."""
    kept, first, alias = [], {}, {}
    for m in mentions:
        if (m.start, m.end) in first:
            alias[m.id] = first[(m.start, m.end)]
            skip(m)
            continue
        first[(m.start, m.end)] = m.id
        kept.append(m)
    return kept, alias


@dataclass(frozen=True, slots=True)
class RelationMention:
    id: str
    type: str
    arg1: str  # entity mention id (Arg-1)
    arg2: str  # entity mention id (Arg-2)
    subtype: str | None = None


@dataclass(frozen=True, slots=True)
class Sentence:
    id: str
    tokens: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...]  # (start, end) character offsets, end exclusive
    entities: tuple[EntityMention, ...] = ()
    relations: tuple[RelationMention, ...] = ()

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.offsets):
            raise ValueError(f"sentence {self.id}: {len(self.tokens)} tokens but {len(self.offsets)} offsets")
        ids = {m.id for m in self.entities}
        for m in self.entities:
            if not 0 <= m.start < m.end <= len(self.tokens):
                raise ValueError(f"sentence {self.id}: mention {m.id} span [{m.start}, {m.end}) outside {len(self.tokens)} tokens")
        for r in self.relations:
            if r.arg1 not in ids or r.arg2 not in ids:
                raise ValueError(f"sentence {self.id}: relation {r.id} names a mention not in the sentence")

    def entity(self, mention_id: str) -> EntityMention:
        for m in self.entities:
            if m.id == mention_id:
                return m
        raise KeyError(mention_id)


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Corpus:
    """A loaded corpus: documents, its splits (split name -> document ids) and what
    the loader skipped (reason -> count), so nothing is dropped silently."""

    name: str
    language: str
    documents: tuple[Document, ...]
    splits: dict[str, tuple[str, ...]]
    synthetic: bool = False
    relation_types: tuple[str, ...] = ()
    entity_types: tuple[str, ...] = ()
    # Relation types the schema declares symmetric (R(a, b) iff R(b, a)): under the
    # standard policy they get one undirected label (docs/corpora.md lists each corpus's).
    symmetric_types: tuple[str, ...] = ()
    skipped: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @cached_property
    def digest(self) -> str:
        """sha256 of the canonical JSON of documents and splits, computed once per object."""
        return corpus_digest(self)

    def split(self, name: str) -> list[Document]:
        if name not in self.splits:
            raise KeyError(f"corpus {self.name} has no split {name!r} (has: {', '.join(self.splits)})")
        wanted = set(self.splits[name])
        return [d for d in self.documents if d.id in wanted]

    def sentences(self, docs: list[Document] | None = None) -> Iterator[Sentence]:
        for d in self.documents if docs is None else docs:
            yield from d.sentences


# ---- plain JSON and the digest ---------------------------------------------------------
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
