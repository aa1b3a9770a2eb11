"""DyGIE++ JSON (what most users have after the DyGIE/PURE ACE preprocessing): one
document per line with `doc_key`, `sentences` (token lists), `ner` (per sentence
`[start, end, label]`, document-level inclusive token indices) and `relations` (per
sentence `[s1, e1, s2, e2, label]`, Arg-1 first). Other keys are ignored.

`--path` names a file (all documents form the `train` split: enough for the paper
protocol's cross-validation; the standard protocol says it needs dev and test) or a
folder whose `train.json`, `dev.json` and `test.json` (or `*train*`, `*dev*`, `*test*`
files) give the splits.

Damage is counted by kind with file and line, never a traceback: a line that is not
UTF-8 or not JSON (or nested too deeply to parse), a document not in the format, more
`ner`/`relations` lists than sentences, tokens that are not strings (converted).
"""
from __future__ import annotations

import json
from pathlib import Path

from relext_bench.data.model import (
    Corpus,
    Document,
    EntityMention,
    RelationMention,
    Sentence,
    first_of_each_span,
)
from relext_bench.data.problems import Problems
from relext_bench.data.public import spaced_offsets
from relext_bench.data.schema import SYMMETRIC_RELATION_TYPES
from relext_bench.errors import UserError


def split_files(path: Path) -> dict[str, Path]:
    if path.is_file():
        return {"train": path}
    if not path.is_dir():
        raise UserError(f"{path}: no such file or folder")
    found = {}
    for split in ("train", "dev", "test"):
        exact = path / f"{split}.json"
        matches = [exact] if exact.exists() else sorted(p for p in path.glob(f"*{split}*.json*") if p.is_file())
        if len(matches) > 1:
            raise UserError(f"{path}: several files for the {split} split: {', '.join(p.name for p in matches)}")
        if matches:
            found[split] = matches[0]
    if not found:
        raise UserError(f"{path}: no train/dev/test .json files")
    return found


def load_dygie(path: str | Path, language: str = "en", strict: bool = False, name: str = "dygie") -> Corpus:
    path = Path(path).expanduser()
    problems = Problems(strict)
    docs, splits, seen = [], {}, set()
    for split, file in split_files(path).items():
        ids = []
        with open(file, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                where = f"{file.name}:{lineno}"
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    problems.skip("line not UTF-8", f"{where} (byte {e.start})")
                    continue
                if not line.strip(" \t\r\n"):  # blank as JSON sees it: a line of other controls is counted
                    continue
                try:
                    obj = json.loads(line)
                    if str(obj["doc_key"]) in seen:
                        problems.skip("duplicate doc_key", where)
                        continue
                    doc = _document(obj, where, problems)
                except json.JSONDecodeError as e:
                    problems.skip("malformed JSON line", f"{where} ({e.msg})")
                    continue
                except RecursionError:
                    problems.skip("JSON nested too deeply", where)
                    continue
                except (KeyError, TypeError, ValueError, IndexError) as e:
                    problems.skip("document not in the DyGIE++ format", f"{where} ({type(e).__name__}: {e})")
                    continue
                seen.add(doc.id)
                docs.append(doc)
                ids.append(doc.id)
        splits[split] = tuple(ids)
    sentences = [s for d in docs for s in d.sentences]
    return Corpus(name=name, language=language, documents=tuple(docs), splits=splits,
                  relation_types=tuple(sorted({r.type for s in sentences for r in s.relations})),
                  entity_types=tuple(sorted({m.type for s in sentences for m in s.entities})),
                  # DyGIE++ data is mostly ACE: ACE's symmetric types, where its labels use them
                  symmetric_types=tuple(t for t in SYMMETRIC_RELATION_TYPES
                                        if t.split(".")[0] in {r.type for s in sentences for r in s.relations}),
                  skipped=problems.skipped(),
                  notes=(f"DyGIE++ JSON from {path.name}",) + problems.notes())


def _document(obj: dict, where: str, problems: Problems) -> Document:
    key = str(obj["doc_key"])
    sentences, offset, char = [], 0, 0
    n_sent = len(obj["sentences"])
    ners = obj.get("ner") or [[] for _ in obj["sentences"]]
    rels = obj.get("relations") or [[] for _ in obj["sentences"]]
    for field, lists in (("ner", ners), ("relations", rels)):
        for k in range(n_sent, len(lists)):
            problems.skip(f"{field} list beyond the sentence count", f"{where} {field} list {k}")
    for k, tokens in enumerate(obj["sentences"]):
        if not isinstance(tokens, list):
            raise TypeError(f"sentence {k} is not a list of tokens")
        for j, t in enumerate(tokens):
            if not isinstance(t, str):
                problems.note("token that is not a string (converted to text)", f"{where} sentence {k} token {j}")
        tokens = [str(t) for t in tokens]
        sid = f"{key}:s{k}"
        n = len(tokens)
        ents = []
        for j, (a, b, label) in enumerate(ners[k] if k < len(ners) else []):
            s, e = int(a) - offset, int(b) - offset + 1
            if not 0 <= s < e <= n:
                problems.skip("entity span outside its sentence", f"{where} sentence {k} entity {j}")
                continue
            ents.append(EntityMention(f"{sid}:e{j}", s, e, str(label)))
        ents, _ = first_of_each_span(ents, lambda m, k=k: problems.skip(
            "duplicate entity span (the first kept)", f"{where} sentence {k} entity {m.id.rsplit(':e', 1)[1]}"))
        by_span = {(m.start, m.end): m.id for m in ents}
        relations = []
        for j, (a1, b1, a2, b2, label, *_) in enumerate(rels[k] if k < len(rels) else []):
            x = by_span.get((int(a1) - offset, int(b1) - offset + 1))
            y = by_span.get((int(a2) - offset, int(b2) - offset + 1))
            if x is None or y is None:
                problems.skip("relation argument is not an annotated entity", f"{where} sentence {k} relation {j}")
            elif x == y:
                problems.skip("relation from a mention to itself", f"{where} sentence {k} relation {j}")
            else:
                relations.append(RelationMention(f"{sid}:r{j}", str(label), x, y))
        offsets = spaced_offsets(tokens, char)
        char = offsets[-1][1] + 1 if offsets else char
        sentences.append(Sentence(sid, tuple(tokens), offsets, tuple(ents), tuple(relations)))
        offset += n
    return Document(key, tuple(sentences))
