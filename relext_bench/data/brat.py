"""brat standoff documents (`NAME.txt` + `NAME.ann`) to sentences.

Read: `T<n>\\tTYPE START END[;START END...]\\ttext` (character offsets, END exclusive) and
`R<n>\\tTYPE Arg1:T<a> Arg2:T<b>`. Counted, not loaded: equivalence lines (`*`), notes
(`#`), other annotation kinds (E, A, M, N), and malformed lines (real files contain
entity text broken by newlines, whose continuation is a line of its own). Every count
names its file and line.

Sentences: Chinese splits after sentence-final punctuation (with closing quotes) and
at line breaks, one character per token; English splits after . ! ? before an upper-case
letter or digit, and at line breaks, never inside a mention; words and punctuation are
tokens, cut at mention boundaries. A mention that crosses a sentence boundary, and a
relation whose arguments land in different sentences, are counted and reported.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from relext_bench.data.model import EntityMention, RelationMention, Sentence, first_of_each_span
from relext_bench.data.problems import Problems

T_LINE = re.compile(r"^T(\d+)\t(\S+) (\d+ \d+(?:;\d+ \d+)*)\t(.*)$")
R_LINE = re.compile(r"^R(\d+)\t(\S+) Arg1:T(\d+) Arg2:T(\d+)\s*$")
ZH_END = set("。！？!?")
ZH_CLOSE = set("”’」』）)\"")
EN_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass
class BratDoc:
    # id -> (start, end, type[, subtype, (extent start, extent end) or None]), characters
    entities: dict[str, tuple]
    relations: list[tuple]  # (id, type, arg1 id, arg2 id[, subtype])


def parse_ann(text: str, ann: str, where: str, problems: Problems) -> BratDoc:
    entities: dict[str, tuple[int, int, str]] = {}
    relations = []
    for lineno, line in enumerate(ann.split("\n"), 1):
        at = f"{where}:{lineno}"
        if not line.strip():
            continue
        kind = line[0]
        if kind == "T":
            m = T_LINE.match(line)
            if not m:
                problems.skip("malformed entity line", at)
                continue
            frags = [tuple(map(int, f.split())) for f in m.group(3).split(";")]
            start, end = min(f[0] for f in frags), max(f[1] for f in frags)
            if len(frags) > 1:
                problems.note("discontinuous entity, read as its covering span", at)
            if not 0 <= start < end <= len(text):
                problems.skip("entity offsets outside the text", at)
                continue
            written = m.group(4)
            if len(frags) == 1 and text[start:end] != written:
                if text[start:end].startswith(written):
                    problems.note("entity text broken by a newline in the .ann file", at)
                elif len(written) == end - start:
                    # Character variants (e.g. a middle dot for an enumeration comma): offsets right.
                    problems.note("entity text differs from the document in some characters", at)
                else:
                    problems.skip("entity text does not match the document at its offsets", at)
                    continue
            entities[f"T{m.group(1)}"] = (start, end, m.group(2))
        elif kind == "R":
            m = R_LINE.match(line)
            if not m:
                problems.skip("malformed relation line", at)
                continue
            relations.append((f"R{m.group(1)}", m.group(2), f"T{m.group(3)}", f"T{m.group(4)}", at))
        elif kind == "*":
            problems.skip("equivalence line (not a relation)", at)
        elif kind == "#":
            problems.skip("note line", at)
        elif kind in "EAMN":
            problems.skip(f"{kind} annotation line (not used)", at)
        else:
            problems.skip("malformed line (e.g. entity text continued after a newline)", at)
    kept = []
    for rid, rtype, a, b, at in relations:
        if a not in entities or b not in entities:
            problems.skip("relation argument not a loaded entity", at)
        else:
            kept.append((rid, rtype, a, b))
    return BratDoc(entities, kept)


def _zh_sentences(text: str) -> list[tuple[int, int]]:
    spans, start, i, n = [], 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            spans.append((start, i))
            start = i + 1
        elif ch in ZH_END:
            j = i + 1
            while j < n and (text[j] in ZH_END or text[j] in ZH_CLOSE):
                j += 1
            spans.append((start, j))
            start, i = j, j - 1
        i += 1
    spans.append((start, n))
    return spans


def _en_tokens(text: str, cuts: set[int]) -> list[tuple[int, int]]:
    """Words and punctuation, cut at mention boundaries."""
    tokens = []
    for m in EN_TOKEN.finditer(text):
        s, e = m.span()
        inner = sorted(c for c in cuts if s < c < e)
        for a, b in zip([s, *inner], [*inner, e]):
            tokens.append((a, b))
    return tokens


def to_sentences(doc_id: str, text: str, doc: BratDoc, language: str, problems: Problems,
                 where: str) -> list[Sentence]:
    ents = {k: (v + (None, None))[:5] for k, v in doc.entities.items()}
    if language == "zh":
        spans = _zh_sentences(text)
        tokens_of = [[(i, i + 1) for i in range(s, e) if not text[i].isspace()] for s, e in spans]
    else:
        spans = [(v[0], v[1]) for v in ents.values()] + [v[4] for v in ents.values() if v[4]]
        cuts = {x for s, e in spans for x in (s, e)}
        across = [False] * (len(text) + 1)  # a mention spans this character offset
        for s, e in spans:
            for i in range(s + 1, e):
                across[i] = True
        tokens = _en_tokens(text, cuts)
        tokens_of, current = [], []
        for k, (s, e) in enumerate(tokens):
            current.append((s, e))
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            if nxt is not None:
                newline = "\n" in text[e:nxt[0]]
                end_mark = text[s:e] in (".", "!", "?") and (text[nxt[0]].isupper() or text[nxt[0]].isdigit())
                if not ((newline or end_mark) and not across[e]):
                    continue
            tokens_of.append(current)
            current = []
    # Character offset -> (sentence, token).
    position: dict[int, tuple[int, int]] = {}
    for si, toks in enumerate(tokens_of):
        for ti, (s, e) in enumerate(toks):
            for c in range(s, e):
                position[c] = (si, ti)
    placed: dict[str, tuple[int, EntityMention]] = {}
    for tid, (s, e, etype, subtype, extent) in sorted(ents.items(), key=lambda kv: (kv[1][0], kv[1][1], kv[0])):
        cover = [position[c] for c in range(s, e) if c in position]
        if not cover:
            problems.skip("entity covers no token", f"{where} {tid}")
            continue
        if cover[0][0] != cover[-1][0]:
            problems.skip("entity crosses a sentence boundary", f"{where} {tid}")
            continue
        si = cover[0][0]
        ext = None
        if extent:
            ecover = [position[c] for c in range(*extent) if c in position]
            if ecover and ecover[0][0] == si == ecover[-1][0]:
                ext = (ecover[0][1], ecover[-1][1] + 1)
            else:
                problems.note("extent crosses a sentence boundary (head kept)", f"{where} {tid}")
        placed[tid] = (si, EntityMention(f"{doc_id}:{tid}", cover[0][1], cover[-1][1] + 1, etype, subtype, ext))
    # A span annotated twice is kept once (the first); relations naming a copy name the kept one.
    kept: dict[int, list[EntityMention]] = {}
    for si, m in placed.values():
        kept.setdefault(si, []).append(m)
    by_id = {}
    for si in kept:
        kept[si], alias = first_of_each_span(kept[si], lambda m: problems.skip(
            "duplicate entity span (the first kept)", f"{where} {m.id.removeprefix(doc_id + ':')}"))
        by_id |= {m.id: (si, m) for m in kept[si]}
        by_id |= {copy: by_id[first] for copy, first in alias.items()}
    placed = {tid: by_id[m.id] for tid, (_, m) in placed.items()}
    rels: dict[int, list[RelationMention]] = {}
    for rid, rtype, a, b, *rest in doc.relations:
        if a not in placed or b not in placed:
            problems.skip("relation argument not placed in a sentence", f"{where} {rid}")
        elif placed[a][0] != placed[b][0]:
            problems.skip("relation crosses sentences", f"{where} {rid}")
        elif placed[a][1].id == placed[b][1].id:
            problems.skip("relation from a mention to itself", f"{where} {rid}")
        else:
            rels.setdefault(placed[a][0], []).append(RelationMention(
                f"{doc_id}:{rid}", rtype, placed[a][1].id, placed[b][1].id, rest[0] if rest else None))
    sentences = []
    for si, toks in enumerate(tokens_of):
        if not toks:
            continue
        mentions = tuple(kept.get(si, ()))
        sentences.append(Sentence(f"{doc_id}:s{si}", tuple(text[s:e] for s, e in toks), tuple(toks),
                                  tuple(sorted(mentions, key=lambda m: (m.start, m.end, m.id))),
                                  tuple(rels.get(si, ()))))
    return sentences
