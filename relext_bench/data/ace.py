"""ACE 2005 (LDC2006T06) from the user's own copy: `ace_zh` and `ace_en`.

Reads the adjudicated pairs `data/{Chinese,English}/GENRE/adj/NAME.{sgm,apf.xml}`.
Offsets count the characters of the .sgm file once every SGML tag is removed (newlines
count, END inclusive, Chinese in characters). Some documents carry XML character
entities (`&amp;`); whether the annotation counted them as written or as the one
character they stand for is detected per document from the charseqs themselves. Every
charseq is checked against the text; a mention that matches under neither convention
is reported by document and ID, never shifted. The DTD named by the DOCTYPE is never
read (the standard parser resolves no external entities).

Entity mentions by head (default, as in the standard English split) or extent, with the
other span kept for the policy's `mention_span` option; relation mentions with type,
subtype and argument order; METONYMY excluded; values and timex2 are not entities here.

Splits: English `standard` uses the pinned 351/80/80 document lists; Chinese has no
standard split, so the harness defines one: within each genre, documents in ID order,
every tenth from the first is test, every tenth from the second is dev, the rest
train (80/10/10); `relext-bench prepare ace_zh` writes the lists out.
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from relext_bench.data import access, brat
from relext_bench.data.fetch import fetch_corpus_files, source_digest
from relext_bench.data.model import Corpus, Document
from relext_bench.data.prepared import prepared
from relext_bench.data.problems import Problems
from relext_bench.data.schema import ENTITY_TYPES, RELATION_TYPES, SYMMETRIC_RELATION_TYPES
from relext_bench.errors import UserError

LOADER_VERSION = 2  # 2: a span annotated twice is kept once
LANGUAGES = {"ace_zh": ("zh", "Chinese"), "ace_en": ("en", "English")}
TAG = re.compile(r"<[^>]*>")
ENTITY_REF = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|\w+);")


def given_ldc_dir() -> Path | None:
    """The LDC copy given with --ldc-dir, else RELEXT_BENCH_LDC_DIR."""
    return access.current().ldc


def unavailable_message(name: str) -> str:
    lang = LANGUAGES[name][1]
    return (f"{name} is ACE 2005 {lang} (LDC2006T06), licensed by the Linguistic Data Consortium and not "
            f"distributed with relext_bench: point the harness at your copy with "
            f"`relext-bench prepare {name} --ldc-dir PATH` (or --ldc-dir on any command, or RELEXT_BENCH_LDC_DIR)")


def document_pairs(ldc_dir: Path, language: str) -> list[tuple[str, Path, Path]]:
    """(genre, .sgm, .apf.xml) of every adjudicated document, in genre and ID order."""
    root = ldc_dir / "data" / language
    if not root.is_dir():
        raise UserError(f"{ldc_dir}: no data/{language}/ folder (expected the LDC2006T06 layout)")
    pairs = []
    for apf in sorted(root.glob("*/adj/*.apf.xml")):
        sgm = apf.with_name(apf.name[: -len(".apf.xml")] + ".sgm")
        if not sgm.exists():
            raise UserError(f"{apf}: no matching .sgm file")
        pairs.append((apf.parent.parent.name, sgm, apf))
    if not pairs:
        raise UserError(f"{root}: no */adj/*.apf.xml documents")
    return pairs


def plain_texts(sgm_text: str) -> tuple[str, str]:
    """The text with tags removed, with XML entities as written and decoded."""
    raw = TAG.sub("", sgm_text)
    return raw, html.unescape(raw)


def _charseq(elem) -> tuple[int, int, str] | None:
    """(start, end exclusive, text); None without a charseq; ValueError for offsets
    that are missing or not whole numbers."""
    cs = elem.find("charseq") if elem is not None else None
    if cs is None:
        return None
    start, end = cs.get("START"), cs.get("END")
    if start is None or end is None or not start.strip().isdigit() or not end.strip().isdigit():
        raise ValueError(f"charseq START={start!r} END={end!r} is not a pair of whole numbers")
    return int(start), int(end) + 1, cs.text or ""


def read_document(sgm: Path, apf: Path, problems: Problems):
    """(document id, text, BratDoc-shaped annotations) with every charseq verified."""
    try:
        raw, decoded = plain_texts(sgm.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{sgm}: cannot read ({e})") from None
    try:
        root = ET.parse(apf).getroot()
    except OSError as e:
        raise UserError(f"{apf}: cannot read ({e})") from None
    except ET.ParseError as e:
        raise UserError(f"{apf}:{e.position[0]}: malformed XML ({e})") from None
    doc = root.find("document")
    doc_id = doc.get("DOCID") if doc is not None else apf.name[: -len(".apf.xml")]
    mentions = []  # (mention id, entity type, subtype, head, extent)
    for entity in root.iter("entity"):
        etype, subtype = entity.get("TYPE"), entity.get("SUBTYPE")
        if etype not in ENTITY_TYPES:
            problems.skip(f"entity type outside ACE ({etype})", f"{doc_id} {entity.get('ID')}")
            continue
        for m in entity.iter("entity_mention"):
            try:
                head, extent = _charseq(m.find("head")), _charseq(m.find("extent"))
            except ValueError as e:
                problems.skip("mention with bad charseq offsets", f"{apf.name} {doc_id} {m.get('ID')} ({e})")
                continue
            if head is None and extent is None:
                problems.skip("mention without a charseq", f"{apf.name} {doc_id} {m.get('ID')}")
                continue
            mentions.append((m.get("ID"), etype, subtype, head or extent, extent or head))
    # The entity counting convention: as written (raw) or decoded; chosen by the charseqs.
    def matches(text, seq, convention):
        s, e, want = seq
        got = text[s:e]
        return (html.unescape(got) if convention == "raw" else got) == want
    seqs = [seq for _, _, _, h, x in mentions for seq in (h, x) if seq]
    scores = {c: sum(matches(t, seq, c) for seq in seqs) for c, t in (("decoded", decoded), ("raw", raw))}
    convention = "decoded" if scores["decoded"] >= scores["raw"] else "raw"
    text = decoded if convention == "decoded" else raw
    if raw != decoded:
        problems.note(f"XML character entities counted {'as one character' if convention == 'decoded' else 'as written'}",
                      doc_id)
    ents = {}
    for mid, etype, subtype, head, extent in mentions:
        if not matches(text, head, convention) or not matches(text, extent, convention):
            problems.skip("mention text does not match the document at its offsets", f"{doc_id} {mid}")
            continue
        ents[mid] = (head[0], head[1], etype, subtype, extent[:2])
    if convention == "raw":
        # Tokens from the decoded characters, padded to the reference's length: offsets hold.
        text = ENTITY_REF.sub(lambda m: html.unescape(m.group(0)).ljust(len(m.group(0))), raw)
    rels = []
    for rel in root.iter("relation"):
        rtype, subtype = rel.get("TYPE"), rel.get("SUBTYPE")
        if rtype == "METONYMY":
            problems.skip("METONYMY relation (excluded)", f"{doc_id} {rel.get('ID')}")
            continue
        if rtype not in RELATION_TYPES:
            problems.skip(f"relation type outside ACE ({rtype})", f"{doc_id} {rel.get('ID')}")
            continue
        for rm in rel.iter("relation_mention"):
            args = {a.get("ROLE"): a.get("REFID") for a in rm.iter("relation_mention_argument")}
            if "Arg-1" not in args or "Arg-2" not in args:
                problems.skip("relation mention without Arg-1 and Arg-2", f"{doc_id} {rm.get('ID')}")
                continue
            rels.append((rm.get("ID"), rtype, args["Arg-1"], args["Arg-2"], subtype))
    kept = []
    for r in rels:
        if r[2] in ents and r[3] in ents:
            kept.append(r)
        else:
            problems.skip("relation argument not a loaded mention", f"{doc_id} {r[0]}")
    return doc_id, text, brat.BratDoc(ents, kept)


def chinese_split(ids_by_genre: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    split = {"train": [], "dev": [], "test": []}
    for genre in sorted(ids_by_genre):
        for k, doc_id in enumerate(sorted(ids_by_genre[genre])):
            split["test" if k % 10 == 0 else "dev" if k % 10 == 1 else "train"].append(doc_id)
    return {k: tuple(v) for k, v in split.items()}


def english_split(present: set[str], problems: Problems) -> dict[str, tuple[str, ...]]:
    files = fetch_corpus_files("ace05_split_en")
    split = {}
    for name in ("train", "dev", "test"):
        ids = [line.strip() for line in files[f"data/ace2005/split/{name}"].read_text().splitlines() if line.strip()]
        missing = [i for i in ids if i not in present]
        for i in missing:
            problems.skip("document of the standard split not in the LDC copy", f"split {name}: {i}")
        split[name] = tuple(i for i in ids if i in present)
    listed = {i for ids in split.values() for i in ids}
    for i in sorted(present - listed):
        problems.note("document outside the standard split (used by the paper protocol only)", i)
    return split


def load_ace(name: str, ldc_dir: str | Path | None = None, strict: bool = False) -> Corpus:
    language, folder = LANGUAGES[name]
    ldc = Path(ldc_dir).expanduser() if ldc_dir else given_ldc_dir()
    if ldc is None:
        raise UserError(unavailable_message(name))
    pairs = document_pairs(ldc, folder)
    digest = _pairs_digest(pairs)

    def build() -> Corpus:
        problems = Problems(strict)
        docs, by_genre = [], {}
        for genre, sgm, apf in pairs:
            doc_id, text, doc = read_document(sgm, apf, problems)
            docs.append(Document(doc_id, tuple(brat.to_sentences(doc_id, text, doc, language, problems, doc_id))))
            by_genre.setdefault(genre, []).append(doc_id)
        present = {d.id for d in docs}
        splits = english_split(present, problems) if language == "en" else chinese_split(by_genre)
        return Corpus(name=name, language=language, documents=tuple(docs), splits=splits,
                      relation_types=RELATION_TYPES, entity_types=ENTITY_TYPES,
                      symmetric_types=SYMMETRIC_RELATION_TYPES, skipped=problems.skipped(),
                      notes=(f"ACE 2005 {folder} (LDC2006T06), adjudicated documents; mentions by head "
                             "(extent kept for the extent option)",) + problems.notes())
    return prepared(name, digest + (source_digest("ace05_split_en") if language == "en" else ""),
                    LOADER_VERSION, build, strict)


def _pairs_digest(pairs) -> str:
    """Identifies the user's copy by its files' names and contents (an edit that keeps a
    file's size and modification time still changes it)."""
    import hashlib

    h = hashlib.sha256()
    for genre, sgm, apf in pairs:
        for p in (sgm, apf):
            h.update(f"{genre}/{p.name}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()[:16]
