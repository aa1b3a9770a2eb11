"""SemEval-2010 Task 8 (Hendrickx et al. 2010): 10,717 English sentences, each with two
marked nominals `<e1>...</e1>` and `<e2>...</e2>` (e1 always first) and one label: one
of 9 relation types with its direction, `Cause-Effect(e2,e1)`, or `Other`.

Each sentence is a document of one sentence with two mentions (type `Entity`: the task
has no entity types, so tags carry only where the nominals are) and at most one
relation, Arg-1 first. Under the standard protocol the one pair is labelled with the
type and its direction relative to text order, which is SemEval's own: `T(e1,e2)` when
e1 is Arg-1. The task has no dev set: a seeded slice of 800 training sentences is
ours (docs/corpora.md); the test set is `TEST_FILE_FULL.TXT` (the key file
`TEST_FILE_KEY.TXT` has no directions). Documents are named by SemEval's sentence IDs,
which answer files need (`relext_bench/semeval.py`).

Tokens: words (letters and digits, with inner hyphens and apostrophes) and single
punctuation marks, cut at the nominals' edges.
"""
from __future__ import annotations

import re

import numpy as np

from relext_bench.data.fetch import fetch_corpus_files, source_digest
from relext_bench.data.model import Corpus, Document, EntityMention, RelationMention, Sentence
from relext_bench.data.prepared import prepared
from relext_bench.data.problems import Problems

ROOT = "SemEval2010_task8_all_data/"
FILES = {"train": ROOT + "SemEval2010_task8_training/TRAIN_FILE.TXT",
         "test": ROOT + "SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT"}
DEV_SEED, DEV_SIZE = 2010, 800
LOADER_VERSION = 1
LABEL = re.compile(r"^(?P<type>[A-Za-z-]+)\((?P<first>e[12]),(?P<second>e[12])\)$")
TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
MARKS = re.compile(r"</?e[12]>")


def doc_id(sentence_id: str) -> str:
    return f"semeval-{sentence_id}"


def sentence_id(document_id: str) -> str:
    """SemEval's ID of a document (the inverse of doc_id)."""
    return document_id.removeprefix("semeval-")


def read_items(text: str, name: str, problems: Problems):
    """(line number, sentence ID, marked sentence, label) per item: an ID<TAB>"sentence"
    line, then the label, then a Comment line, then a blank line."""
    lines = text.replace("\r\n", "\n").split("\n")
    k = 0
    while k < len(lines):
        line = lines[k]
        if not line.strip():
            k += 1
            continue
        where = f"{name}:{k + 1}"
        number, tab, quoted = line.partition("\t")
        if not tab or not number.strip().isdigit() or k + 1 >= len(lines):
            problems.skip("line not an ID, a tab and a quoted sentence", where)
            k += 1
            continue
        yield k + 1, number.strip(), quoted.strip().strip('"'), lines[k + 1].strip()
        k += 2
        while k < len(lines) and lines[k].strip():  # the Comment line(s)
            k += 1


def tokenize(clean: str, cuts: set[int]) -> list[tuple[int, int]]:
    """Token character spans, split again wherever a nominal starts or ends."""
    spans = []
    for m in TOKEN.finditer(clean):
        start = m.start()
        for cut in sorted(c for c in cuts if m.start() < c < m.end()):
            spans.append((start, cut))
            start = cut
        spans.append((start, m.end()))
    return spans


def parse_item(number: str, marked: str, label: str, where: str, problems: Problems) -> Sentence | None:
    clean, marks, pos = [], {}, 0
    for m in MARKS.finditer(marked):
        clean.append(marked[pos:m.start()])
        marks[m.group()] = sum(len(c) for c in clean)
        pos = m.end()
    clean.append(marked[pos:])
    text = "".join(clean)
    if set(marks) != {"<e1>", "</e1>", "<e2>", "</e2>"} or len(MARKS.findall(marked)) != 4:
        problems.skip("sentence without exactly one <e1> and one <e2>", where)
        return None
    chars = {e: (marks[f"<{e}>"], marks[f"</{e}>"]) for e in ("e1", "e2")}
    tokens = tokenize(text, {x for span in chars.values() for x in span})
    sid = doc_id(number)
    mentions = {}
    for e, (a, b) in chars.items():
        covered = [i for i, (s, t) in enumerate(tokens) if s < b and t > a]
        if not covered:
            problems.skip("nominal covers no token", f"{where} {e}")
            return None
        mentions[e] = EntityMention(f"{sid}:{e}", covered[0], covered[-1] + 1, "Entity")
    relations = ()
    if label != "Other":
        m = LABEL.match(label)
        if m is None or m["first"] == m["second"]:
            problems.skip("label neither Other nor TYPE(e1,e2) or TYPE(e2,e1)", f"{where} ({label[:40]!r})")
            return None
        relations = (RelationMention(f"{sid}:r", m["type"], mentions[m["first"]].id, mentions[m["second"]].id),)
    return Sentence(sid, tuple(text[s:t] for s, t in tokens), tuple(tokens),
                    tuple(sorted(mentions.values(), key=lambda x: (x.start, x.end))), relations)


def dev_ids(train_ids: list[str]) -> set[str]:
    """The declared dev set: DEV_SIZE training sentences drawn with a fixed seed."""
    rng = np.random.default_rng(DEV_SEED)
    return set(rng.choice(sorted(train_ids, key=lambda i: int(sentence_id(i))), DEV_SIZE, replace=False).tolist())


def load_semeval2010(strict: bool = False) -> Corpus:
    def build() -> Corpus:
        files = fetch_corpus_files("semeval2010")
        problems = Problems(strict)
        docs, by_split = [], {}
        for split, name in FILES.items():
            text = files[name].read_text(encoding="utf-8")
            ids = []
            for lineno, number, marked, label in read_items(text, name.rsplit("/", 1)[-1], problems):
                sentence = parse_item(number, marked, label, f"{name.rsplit('/', 1)[-1]}:{lineno}", problems)
                if sentence is not None:
                    docs.append(Document(sentence.id, (sentence,)))
                    ids.append(sentence.id)
            by_split[split] = ids
        dev = dev_ids(by_split["train"])
        splits = {"train": tuple(i for i in by_split["train"] if i not in dev),
                  "dev": tuple(i for i in by_split["train"] if i in dev), "test": tuple(by_split["test"])}
        sentences = [s for d in docs for s in d.sentences]
        return Corpus(name="semeval2010", language="en", documents=tuple(docs), splits=splits,
                      relation_types=tuple(sorted({r.type for s in sentences for r in s.relations})),
                      entity_types=("Entity",), symmetric_types=(), skipped=problems.skipped(),
                      notes=(f"dev: {DEV_SIZE} training sentences drawn with seed {DEV_SEED}; "
                             "no entity types (untyped nominals)",) + problems.notes())
    return prepared("semeval2010", source_digest("semeval2010"), LOADER_VERSION, build, strict)
