"""From sentences to model instances under a `Policy` (`data/policy.py`).

An instance is one candidate pair (mention 1, mention 2) of a sentence: token ids over
a window, two relative-position rows, a BIO tag row and a label (0 = Other).

Conventions
- Mention order: a mention precedes another when its (start, end) is smaller.
  "Left to right" pairs have mention 1 before mention 2.
- Pairs and labels follow the policy (`data/policy.py`).
- Relative position of token i to a mention [s, e): i - s before it, i - (e - 1) after
  it, 0 inside; clipped to [-max_distance, max_distance]. Stored as an index:
  0 = padding, value v -> v + max_distance + 1.
- BIO tags come from *all* mentions of the sentence. Nested mentions: mentions are
  painted longest first, so a token takes the tag of the innermost mention covering
  it (an outer mention whose first token lies in an inner one has no B tag).
  Tag ids: 0 = padding, 1 = O, then B-X, I-X for each tag class X.
- `random` tags: the `bio_typed` vocabulary, each token's tag drawn uniformly from
  the non-padding tags by a generator seeded with (tag_seed, sentence id): the same
  sentence gets the same tags in every run; the tags carry no information.
- `constant` tags: the `bio_typed` vocabulary (so the same table and parameter count),
  every token tagged O: the parameter-matched control, same input width and
  parameters as `bio_typed`, no tag information.
"""
from __future__ import annotations

import dataclasses
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from relext_bench.data.model import EntityMention, Sentence
from relext_bench.data.policy import OTHER, Policy, is_symmetric, label_names, tag_vocabulary
from relext_bench.data.vocab import Vocab


def _key(m: EntityMention, span: str) -> tuple[int, int]:
    return m.span(span)


@dataclass
class Candidate:
    """One candidate pair before encoding."""

    mention1: EntityMention
    mention2: EntityMention
    label: str  # a label name (OTHER for negatives)


@dataclass
class InstanceSet:
    """Instances in columns. Token and tag rows are stored once per sentence (flat);
    `rows()` builds the padded per-instance rows (tokens, two positions, tags) for
    any selection, padded to its longest window, so batches stay small."""

    words: np.ndarray  # int64, every sentence's token ids, concatenated
    tag_ids: np.ndarray  # int64, every sentence's tag ids (all padding for `none`)
    sentence_start: np.ndarray  # int64 [S]: where each sentence starts in words
    sentence: np.ndarray  # int64 [N], index into sentence_ids
    w0: np.ndarray  # int64 [N]: first token of the window, in the sentence
    lengths: np.ndarray  # int64 [N]: window length (at most policy.window)
    spans: np.ndarray  # int64 [N, 4]: s1, e1, s2, e2 in the sentence, end exclusive
    labels: np.ndarray  # int64 [N], 0 = Other
    sentence_ids: list[str]
    label_names: list[str]
    policy: Policy

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def positives(self) -> int:
        return int((self.labels > 0).sum())

    @property
    def reversed(self) -> np.ndarray:
        """Mention 1 lies right of mention 2 (by (start, end))."""
        s1, e1, s2, e2 = self.spans.T
        return (s1 > s2) | ((s1 == s2) & (e1 > e2))

    def subset(self, index: np.ndarray) -> InstanceSet:
        return dataclasses.replace(self, sentence=self.sentence[index], w0=self.w0[index],
                                   lengths=self.lengths[index], spans=self.spans[index],
                                   labels=self.labels[index])

    def rows(self, index: np.ndarray | None = None, grouped: bool = False) -> dict[str, np.ndarray]:
        """Padded rows for the selected instances: tokens, pos1, pos2, tags [n, L];
        lengths, labels [n]; e1, e2 [n, 2] mention spans relative to the window
        (clipped to it). L is the policy's window, or the longest selected sentence.

        `grouped` adds the row groups of the shared encoder: instances with the same
        sentence and window start read the same tokens, so they share one row group;
        group [n] (each instance's group), group_tokens, group_tags [G, L]."""
        out = self._rows(index)
        if grouped:
            sel = slice(None) if index is None else index
            key = np.stack([self.sentence[sel], self.w0[sel]], axis=1)
            _, first, group = np.unique(key, axis=0, return_index=True, return_inverse=True)
            out |= {"group": group.reshape(-1), "group_tokens": out["tokens"][first],
                    "group_tags": out["tags"][first]}
        return out

    def _rows(self, index: np.ndarray | None) -> dict[str, np.ndarray]:
        sel = slice(None) if index is None else index
        w0, wl, labels = self.w0[sel], self.lengths[sel], self.labels[sel]
        s1, e1, s2, e2 = self.spans[sel].T
        p = self.policy
        length = p.window if p.window is not None else int(wl.max(initial=1))
        idx = np.arange(length)[None, :]
        valid = idx < wl[:, None]
        absolute = w0[:, None] + idx
        gather = np.where(valid, self.sentence_start[self.sentence[sel]][:, None] + absolute, 0)
        d = p.max_distance

        def positions(s, e):
            rel = np.where(absolute < s[:, None], absolute - s[:, None],
                           np.where(absolute >= e[:, None], absolute - (e[:, None] - 1), 0))
            return np.where(valid, np.clip(rel, -d, d) + d + 1, 0)

        def window_span(s, e):
            return np.stack([np.clip(s - w0, 0, wl), np.clip(e - w0, 0, wl)], axis=1)

        return {
            "tokens": np.where(valid, self.words[gather], 0),
            "pos1": positions(s1, e1), "pos2": positions(s2, e2),
            "tags": np.where(valid, self.tag_ids[gather], 0),
            "lengths": wl, "labels": labels,
            "e1": window_span(s1, e1), "e2": window_span(s2, e2),
        }


@dataclass
class InstanceBuilder:
    """Builds instances under one policy with fixed vocabularies (built on training data)."""

    policy: Policy
    words: Vocab
    relation_types: Sequence[str]  # the labels' types (type.subtype under label_level=subtype)
    entity_labels: Sequence[str]  # entity types (or type.subtype) for typed tags
    symmetric_types: Sequence[str] = ()  # the corpus schema's symmetric relation types
    skipped: Counter = field(default_factory=Counter)  # what could not become an instance, by reason

    def __post_init__(self) -> None:
        self.symmetric_types = self.policy.undirected(self.symmetric_types)
        self.labels = label_names(self.relation_types, self.policy, self.symmetric_types)
        self.label_index = {name: i for i, name in enumerate(self.labels)}
        self.tags = tag_vocabulary(self.entity_labels, self.policy)
        self.tag_index = {name: i for i, name in enumerate(self.tags)}
        self.position_size = 2 * self.policy.max_distance + 2

    # ---- pairs -----------------------------------------------------------------
    def relation_label(self, rtype: str, subtype: str | None) -> str:
        return f"{rtype}.{subtype}" if self.policy.label_level == "subtype" and subtype else rtype

    def candidates(self, sentence: Sentence) -> Iterator[Candidate]:
        p, span = self.policy, self.policy.mention_span
        by_id = {m.id: m for m in sentence.entities}
        related: dict[tuple[str, str], str] = {}
        for r in sentence.relations:
            label = self.relation_label(r.type, r.subtype)
            if label not in self.relation_types:
                self.skipped["relation outside the label set"] += 1
                continue
            key = (r.arg1, r.arg2)
            if key in related or (r.arg2, r.arg1) in related:
                same = related.get(key) == label or related.get((r.arg2, r.arg1)) == label
                self.skipped["relation annotated twice on the same pair" if same
                            else "second relation on the same pair"] += 1
                continue
            related[key] = label
        if p.pairs == "annotated":
            # Positives in annotated order; negatives only left to right (docs/method.md: the leak).
            for (a, b), label in related.items():
                yield Candidate(by_id[a], by_id[b], label)
            ordered = sorted(sentence.entities, key=lambda m: (_key(m, span), m.id))
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    if (a.id, b.id) not in related and (b.id, a.id) not in related:
                        yield Candidate(a, b, OTHER)
            return
        if p.pairs == "left_to_right":
            ordered = sorted(sentence.entities, key=lambda m: (_key(m, span), m.id))
            pairs = ((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1:])
        else:
            pairs = ((a, b) for a in sentence.entities for b in sentence.entities if a.id != b.id)
        for a, b in pairs:
            if (a.id, b.id) in related:
                label = self.directed(related[(a.id, b.id)], forward=True)
            elif (b.id, a.id) in related:
                label = self.directed(related[(b.id, a.id)], forward=False)
            else:
                label = OTHER
            yield Candidate(a, b, label)

    def directed(self, label: str, forward: bool) -> str:
        """The label of a pair whose mention 1 is Arg-1 (`forward`) or Arg-2."""
        if not self.policy.direction or is_symmetric(label, self.symmetric_types):
            return label
        return f"{label}(e1,e2)" if forward else f"{label}(e2,e1)"

    # ---- tags ------------------------------------------------------------------
    def entity_label(self, m: EntityMention) -> str:
        if self.policy.tag_detail == "subtype" and m.subtype:
            return f"{m.type}.{m.subtype}"
        return m.type

    def sentence_tags(self, sentence: Sentence) -> np.ndarray:
        n = len(sentence.tokens)
        scheme = self.policy.tags
        if scheme == "none":
            return np.zeros(n, dtype=np.int64)
        if scheme == "random":
            seed = [self.policy.tag_seed, zlib.crc32(sentence.id.encode())]
            return np.random.default_rng(seed).integers(1, len(self.tags), size=n)
        tags = np.ones(n, dtype=np.int64)  # O
        if scheme == "constant":
            return tags
        span = self.policy.mention_span
        for m in sorted(sentence.entities, key=lambda m: (-(m.span(span)[1] - m.span(span)[0]), m.span(span))):
            s, e = m.span(span)
            x = "" if scheme == "bio" else self.entity_label(m)
            b = self.tag_index.get(f"B-{x}" if x else "B")
            i = self.tag_index.get(f"I-{x}" if x else "I")
            if b is None:
                self.skipped["mention type outside the tag vocabulary"] += 1
                continue
            tags[s] = b
            tags[s + 1:e] = i
        return tags

    # ---- encoding --------------------------------------------------------------
    def build(self, sentences: Iterable[Sentence]) -> InstanceSet:
        span = self.policy.mention_span
        flat_tokens: list[np.ndarray] = []
        flat_tags: list[np.ndarray] = []
        sent_ids: list[str] = []
        starts: list[int] = []
        rows: list[tuple[int, int, int, int, int, int, int]] = []  # sent, s1, e1, s2, e2, label, n
        offset = 0
        for sentence in sentences:
            cands = list(self.candidates(sentence))
            if not cands:
                continue
            k = len(sent_ids)
            sent_ids.append(sentence.id)
            starts.append(offset)
            flat_tokens.append(self.words.encode(sentence.tokens))
            flat_tags.append(self.sentence_tags(sentence))
            n = len(sentence.tokens)
            offset += n
            for c in cands:
                s1, e1 = c.mention1.span(span)
                s2, e2 = c.mention2.span(span)
                rows.append((k, s1, e1, s2, e2, self.label_index[c.label], n))
        return self._encode(rows, flat_tokens, flat_tags, starts, sent_ids)

    def _encode(self, rows, flat_tokens, flat_tags, starts, sent_ids) -> InstanceSet:
        r = np.asarray(rows, dtype=np.int64).reshape(-1, 7)
        sent, s1, e1, s2, e2, labels, n = r.T
        if self.policy.window is None:
            w0, wl = np.zeros_like(s1), n
        else:
            w0 = np.minimum(s1, s2)
            wl = np.minimum(self.policy.window, n - w0)
        def cat(parts):
            return np.concatenate(parts) if parts else np.zeros(0, np.int64)

        return InstanceSet(
            words=cat(flat_tokens), tag_ids=cat(flat_tags),
            sentence_start=np.asarray(starts, dtype=np.int64), sentence=sent, w0=w0,
            lengths=wl, spans=np.stack([s1, e1, s2, e2], axis=1), labels=labels,
            sentence_ids=sent_ids, label_names=self.labels, policy=self.policy)


def builder_for(corpus, policy: Policy, train_sentences: Iterable[Sentence],
                min_freq: int = 1, extra_words: Iterable[str] = ()) -> InstanceBuilder:
    """A builder whose word vocabulary comes from the training sentences (plus
    `extra_words`: those pretrained vectors cover) and whose tag vocabulary comes from
    the corpus's entity schema (not a label leak)."""
    words = Vocab.build((s.tokens for s in train_sentences), min_freq=min_freq, extra=extra_words)
    entity_labels = set()
    for s in corpus.sentences():
        for m in s.entities:
            entity_labels.add(f"{m.type}.{m.subtype}" if policy.tag_detail == "subtype" and m.subtype else m.type)
    relation_types = corpus.relation_types or sorted({r.type for s in corpus.sentences() for r in s.relations})
    if policy.label_level == "subtype":
        relation_types = sorted({f"{r.type}.{r.subtype}" if r.subtype else r.type
                                 for s in corpus.sentences() for r in s.relations})
    return InstanceBuilder(policy, words, list(relation_types), sorted(entity_labels),
                           symmetric_types=tuple(corpus.symmetric_types))
