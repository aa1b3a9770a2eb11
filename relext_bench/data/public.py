"""Loaders of the public corpora (formats in docs/corpora.md), read from pinned, checked files."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from relext_bench.data import brat
from relext_bench.data.archive import archive_dir
from relext_bench.data.fetch import fetch_corpus_files, source_digest
from relext_bench.data.model import (
    Corpus,
    Document,
    EntityMention,
    RelationMention,
    Sentence,
    first_of_each_span,
)
from relext_bench.data.prepared import prepared
from relext_bench.data.problems import Problems
from relext_bench.errors import UserError

CROSSRE_DOMAINS = ("ai", "literature", "music", "news", "politics", "science")
SPLITS = ("train", "dev", "test")


def spaced_offsets(tokens, start: int = 0) -> tuple[tuple[int, int], ...]:
    """Character offsets of tokens joined by single spaces (formats without raw text)."""
    offsets, pos = [], start
    for t in tokens:
        offsets.append((pos, pos + len(t)))
        pos += len(t) + 1
    return tuple(offsets)


def build_sentence(sid, tokens, offsets, entities, relations, problems: Problems, where: str) -> Sentence:
    """Validated entities and relations: spans inside the sentence, arguments known."""
    n = len(tokens)
    inside = []
    for m in entities:
        if not 0 <= m.start < m.end <= n:
            problems.skip("entity span outside the sentence", f"{where} entity {m.id}")
            continue
        inside.append(m)
    kept, _ = first_of_each_span(inside, lambda m: problems.skip(
        "duplicate entity span (the first kept)", f"{where} entity {m.id}"))
    by_span = {(m.start, m.end): m.id for m in kept}
    rels = []
    for rid, rtype, span1, span2 in relations:
        a, b = by_span.get(span1), by_span.get(span2)
        if a is None or b is None:
            problems.skip("relation argument is not an annotated entity", f"{where} relation {rid}")
        elif a == b:
            problems.skip("relation from a mention to itself", f"{where} relation {rid}")
        else:
            rels.append(RelationMention(rid, rtype, a, b))
    return Sentence(sid, tuple(tokens), offsets, tuple(kept), tuple(rels))


def _read_json_lines(path: Path, label: str, problems: Problems):
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                problems.skip("malformed JSON line", f"{label}:{lineno} ({e.msg})")


def load_crossre(strict: bool = False) -> Corpus:
    def build() -> Corpus:
        files = fetch_corpus_files("crossre")
        problems = Problems(strict)
        docs, splits = [], {}
        seen: set[str] = set()
        for split in SPLITS:
            ids = []
            for domain in CROSSRE_DOMAINS:
                name = f"crossre_data/{domain}-{split}.json"
                for lineno, obj in _read_json_lines(files[name], name, problems):
                    where = f"{name}:{lineno}"
                    try:
                        key, tokens = str(obj["doc_key"]), [str(t) for t in obj["sentence"]]
                        ents = [EntityMention(f"{key}:e{k}", int(a), int(b) + 1, str(t))
                                for k, (a, b, t) in enumerate(obj.get("ner", []))]
                        rels = [(f"{key}:r{k}", str(r[4]), (int(r[0]), int(r[1]) + 1), (int(r[2]), int(r[3]) + 1))
                                for k, r in enumerate(obj.get("relations", []))]
                    except (KeyError, TypeError, ValueError, IndexError) as e:
                        problems.skip("sentence not in the CrossRE format", f"{where} ({type(e).__name__}: {e})")
                        continue
                    if key in seen:
                        problems.skip("duplicate doc_key", where)
                        continue
                    seen.add(key)
                    sent = build_sentence(key, tokens, spaced_offsets(tokens), ents, rels, problems, where)
                    docs.append(Document(key, (sent,)))
                    ids.append(key)
            splits[split] = tuple(ids)
        return _finish("crossre", "en", docs, splits, problems,
                       ("documents are single sentences (CrossRE's doc_key); domains: " + ", ".join(CROSSRE_DOMAINS),))
    return prepared("crossre", source_digest("crossre"), LOADER_VERSION, build, strict)


CHISIEC_FILES = {"train": "data/re/coling_train.json", "dev": "data/re/coling_train_dev.json",
                 "test": "data/re/coling_test.json"}


def load_chisiec(strict: bool = False) -> Corpus:
    def build() -> Corpus:
        files = fetch_corpus_files("chisiec")
        problems = Problems(strict)
        docs, splits = [], {}
        for split, name in CHISIEC_FILES.items():
            try:
                data = json.loads(files[name].read_text(encoding="utf-8"))
            except json.JSONDecodeError as e:
                raise UserError(f"{name}:{e.lineno}: malformed JSON ({e.msg})") from None
            ids = []
            for k, obj in enumerate(data):
                key = f"chisiec-{split}-{k:05d}"
                where = f"{name} item {k} (orig_id {obj.get('orig_id', '?') if isinstance(obj, dict) else '?'})"
                try:
                    text = str(obj["tokens"])
                    ents = []
                    for j, e in enumerate(obj["entities"]):
                        m = EntityMention(f"{key}:e{j}", int(e["start"]), int(e["end"]), str(e["type"]))
                        if 0 <= m.start < m.end <= len(text) and e.get("span") is not None \
                                and text[m.start:m.end] != e["span"]:
                            # Traditional vs simplified characters: offsets are right (docs/corpora.md).
                            problems.note("entity span text differs from the characters it indexes",
                                          f"{where} entity {j}")
                        ents.append(m)
                    rels = []
                    for j, r in enumerate(obj["relations"]):
                        h, t = int(r["head"]), int(r["tail"])
                        if not (0 <= h < len(ents) and 0 <= t < len(ents)):
                            problems.skip("relation names an entity index outside the sentence", f"{where} relation {j}")
                            continue
                        rels.append((f"{key}:r{j}", str(r["type"]), ents[h].span(), ents[t].span()))
                except (KeyError, TypeError, ValueError) as e:
                    problems.skip("item not in the CHisIEC format", f"{where} ({type(e).__name__}: {e})")
                    continue
                offsets = tuple((i, i + 1) for i in range(len(text)))
                docs.append(Document(key, (build_sentence(key, tuple(text), offsets, ents, rels, problems, where),)))
                ids.append(key)
            splits[split] = tuple(ids)
        return _finish("chisiec", "zh", docs, splits, problems,
                       ("classical Chinese; one character per token; documents are single sentences",))
    return prepared("chisiec", source_digest("chisiec"), LOADER_VERSION, build, strict)


SANWEN_SPLITS = {"train": "Training", "dev": "Validation", "test": "Testing"}
SANWEN_TYPES = ("Create", "Family", "General-Special", "Located", "Near", "Ownership", "Part-Whole",
                "Social", "Use")


def _brat_documents(root: Path, folder: str, doc_id: str, language: str, problems: Problems,
                    name: str, types: tuple[str, ...] | None) -> Document | None:
    where = f"{folder}/{name}.ann"
    try:
        text = (root / folder / f"{name}.txt").read_text(encoding="utf-8")
        ann = (root / folder / f"{name}.ann").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        problems.skip("unreadable document", f"{where} ({type(e).__name__})")
        return None
    doc = brat.parse_ann(text, ann, where, problems)
    if types is not None:
        outside = [r for r in doc.relations if r[1] not in types]
        for r in outside:
            problems.skip(f"relation type outside the schema ({r[1]})", f"{where} {r[0]}")
        doc.relations = [r for r in doc.relations if r[1] in types]
    return Document(doc_id, tuple(brat.to_sentences(doc_id, text, doc, language, problems, where)))


def load_sanwen(strict: bool = False) -> Corpus:
    def build() -> Corpus:
        root = archive_dir("sanwen") / "relation_extraction"
        problems = Problems(strict)
        docs, splits = [], {}
        for split, folder in SANWEN_SPLITS.items():
            names = sorted((p.stem for p in (root / folder).glob("*.ann")), key=lambda s: (len(s), s))
            ids = []
            for name in names:
                doc = _brat_documents(root, folder, f"sanwen-{folder}-{name}", "zh", problems, name, SANWEN_TYPES)
                if doc is not None:
                    docs.append(doc)
                    ids.append(doc.id)
            splits[split] = tuple(ids)
        corpus = _finish("sanwen", "zh", docs, splits, problems,
                         ("document-level Chinese prose split into sentences; same-sentence pairs only",))
        return dataclasses.replace(corpus, relation_types=SANWEN_TYPES)
    return prepared("sanwen", source_digest("sanwen"), LOADER_VERSION, build, strict)


SOMESCI_SUBSETS = ("PLoS_sentences", "PLoS_methods", "Pubmed_fulltext", "Creation_sentences")


def load_somesci(strict: bool = False) -> Corpus:
    def build() -> Corpus:
        root = archive_dir("somesci")
        problems = Problems(strict)
        split_of = {}
        official = json.loads((root / "train_devel_test_split.json").read_text(encoding="utf-8"))
        for split, key in (("train", "train"), ("dev", "devel"), ("test", "test")):
            for doc_id in official[key]:
                split_of[doc_id] = split
        docs, splits = [], {"train": [], "dev": [], "test": []}
        for subset in SOMESCI_SUBSETS:
            for path in sorted((root / subset).glob("*.ann")):
                split = split_of.get(path.stem)
                if split is None:
                    problems.skip("document not in the official split", f"{subset}/{path.name}")
                    continue
                doc = _brat_documents(root, subset, f"{subset}/{path.stem}", "en", problems, path.stem, None)
                if doc is not None:
                    docs.append(doc)
                    splits[split].append(doc.id)
        return _finish("somesci", "en", docs, {k: tuple(v) for k, v in splits.items()}, problems,
                       ("software mentions in articles; official document split by article ID",))
    return prepared("somesci", source_digest("somesci"), LOADER_VERSION, build, strict)


LOADER_VERSION = 2  # 2: a span annotated twice is kept once

# Relation types that hold both ways by their definition in each corpus's guidelines
# (docs/corpora.md, "Symmetric relation types", gives the sources and the measured share
# annotated in text order).
def load_semeval2010(strict: bool = False) -> Corpus:
    from relext_bench.data.semeval import load_semeval2010 as load

    return load(strict)


SYMMETRIC_TYPES = {
    "chisiec": ("兄弟", "同僚"),  # brothers, colleagues
    "crossre": ("compare", "opposite", "related-to", "social"),
    "sanwen": ("Family", "Near", "Social"),
    "somesci": (),  # every type is X_of: directed
}


def _finish(name, language, docs, splits, problems: Problems, notes) -> Corpus:
    sentences = [s for d in docs for s in d.sentences]
    return Corpus(
        name=name, language=language, documents=tuple(docs), splits=splits,
        relation_types=tuple(sorted({r.type for s in sentences for r in s.relations})),
        entity_types=tuple(sorted({m.type for s in sentences for m in s.entities})),
        symmetric_types=SYMMETRIC_TYPES[name],
        skipped=problems.skipped(), notes=tuple(notes) + problems.notes())
