"""ACE 2005 from ACE-format fixtures (original text written for these tests)."""
from pathlib import Path

import pytest

from relext_bench.cli import main
from relext_bench.data import ace, registry
from relext_bench.data.problems import Problems
from relext_bench.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures" / "ace"
needs_mirror = pytest.mark.skipif(not __import__("os").environ.get("RELEXT_BENCH_MIRROR"),
                                  reason="RELEXT_BENCH_MIRROR is not set (the English split lists are pinned files)")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("RELEXT_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RELEXT_BENCH_LDC_DIR", raising=False)


def sentence_with(corpus, word):
    return next(s for s in corpus.sentences() if word in s.tokens)


def by_suffix(sentence, suffix):
    return next(m for m in sentence.entities if m.id.endswith(suffix))


@needs_mirror
def test_english_nested_heads_extents_and_relations(home):
    c = ace.load_ace("ace_en", FIXTURES)
    s = sentence_with(c, "mayor")
    mayor, corvina = by_suffix(s, "-E1-1"), by_suffix(s, "-E2-2")
    assert (mayor.start, mayor.end, mayor.extent) == (1, 2, (0, 4))  # head "mayor", extent "The mayor of Corvina"
    assert (corvina.start, corvina.end, corvina.type, corvina.subtype) == (3, 4, "GPE", "Population-Center")
    (rel,) = s.relations
    assert (rel.type, rel.subtype, rel.arg1, rel.arg2) == ("GEN-AFF", "Citizen-Resident-Religion-Ethnicity", mayor.id, corvina.id)
    firm = sentence_with(c, "firm")
    assert {(r.type, r.arg1[-4:], r.arg2[-4:]) for r in firm.relations} == {("ART", "E3-2", "E4-1"), ("PART-WHOLE", "E5-1", "E3-3")}
    headline = sentence_with(c, "opens")
    assert headline.tokens == ("Corvina", "opens", "a", "new", "ferry", "line")


@needs_mirror
def test_english_reports_what_it_does_not_load(home):
    c = ace.load_ace("ace_en", FIXTURES)
    assert c.skipped["skipped: METONYMY relation (excluded)"] == 1
    assert c.skipped["skipped: relation crosses sentences"] == 1  # PER-SOC from "Her deputy" to the mayor
    assert c.skipped["skipped: mention text does not match the document at its offsets"] == 1
    assert any("FIX_ENG_20261124.0002-E3-1" in n for n in c.notes)  # by document and ID
    assert not any(m.type == "TIMEX2" for s in c.sentences() for m in s.entities)


@needs_mirror
def test_xml_entity_convention_is_detected_per_document(home):
    c = ace.load_ace("ace_en", FIXTURES)
    assert c.skipped["tolerated: XML character entities counted as one character"] == 1
    assert c.skipped["tolerated: XML character entities counted as written"] == 1
    raw_doc = sentence_with(c, "Analysts")
    org = by_suffix(raw_doc, "-E1-1")
    assert raw_doc.tokens[org.start:org.end] == ("Dunmore", "&", "Pike")
    decoded_doc = sentence_with(c, "praised")
    org = by_suffix(decoded_doc, "-E3-1")
    assert decoded_doc.tokens[org.start:org.end] == ("Reyes", "&", "Sons")


@needs_mirror
def test_strict_makes_offset_errors_fatal(home):
    with pytest.raises(UserError, match="FIX_ENG_20261124.0002-E3-1"):
        ace.load_ace("ace_en", FIXTURES, strict=True)


def test_chinese_characters_and_split(home):
    c = ace.load_ace("ace_zh", FIXTURES)
    s = sentence_with(c, "妹")
    assert s.tokens == tuple("她的妹妹住在青州。")
    sister = by_suffix(s, "-E3-1")
    assert (sister.start, sister.end, sister.extent) == (2, 4, (0, 4))
    assert {(r.type, r.arg1[-4:], r.arg2[-4:]) for r in s.relations} == {("PER-SOC", "E3-1", "E1-2"), ("PHYS", "E3-1", "E4-1")}
    assert c.splits == {"train": (), "dev": (), "test": ("FIX_CMN_20261124.0001",)}


def test_chinese_split_is_deterministic_per_genre():
    split = ace.chinese_split({"nw": [f"N{i:02d}" for i in range(20)], "bn": [f"B{i:02d}" for i in range(10)]})
    assert split["test"] == ("B00", "N00", "N10") and split["dev"] == ("B01", "N01", "N11")
    assert len(split["train"]) == 24


@needs_mirror
def test_english_standard_split_lists(home):
    problems = Problems()
    split = ace.english_split({"CNN_ENG_20030530_130025.12", "NOT_LISTED"}, problems)
    assert split["dev"] == ("CNN_ENG_20030530_130025.12",) and split["train"] == ()
    assert problems.counts["document of the standard split not in the LDC copy"] == 510
    assert problems.counts["document outside the standard split (used by the paper protocol only)"] == 1


def test_without_ldc_dir_one_line_says_what_and_how(home, capsys):
    assert main(["corpora", "stats", "ace_zh"]) == 2
    err = capsys.readouterr().err
    assert "LDC2006T06" in err and "Linguistic Data Consortium" in err and "--ldc-dir" in err
    assert err.count("\n") == 1


def test_prepare_writes_split_lists(home, tmp_path, capsys):
    assert main(["prepare", "ace_zh", "--ldc-dir", str(FIXTURES)]) == 0
    out = capsys.readouterr().out
    assert "prepared ace_zh: 1 documents" in out
    lists = tmp_path / "home" / "prepared" / "ace_zh-split"
    assert (lists / "test.txt").read_text() == "FIX_CMN_20261124.0001\n"
    assert main(["corpora", "stats", "ace_zh", "--protocol", "paper", "--ldc-dir", str(FIXTURES)]) == 0


def test_bad_ldc_dir(home, tmp_path):
    with pytest.raises(UserError, match="no data/Chinese/ folder"):
        ace.load_ace("ace_zh", tmp_path)
    assert registry.get("ace_zh").available()[0] is False


def copy_chinese(tmp_path):
    import shutil

    root = tmp_path / "ldc"
    shutil.copytree(FIXTURES / "data" / "Chinese", root / "data" / "Chinese")
    (apf,) = (root / "data" / "Chinese" / "nw" / "adj").glob("*.apf.xml")
    return root, apf


@pytest.mark.parametrize("change, kind", [
    (lambda t: t.replace('START="', 'START="x', 1), "skipped: mention with bad charseq offsets"),
    (lambda t: __import__("re").sub(r' START="\d+"', "", t, count=1), "skipped: mention with bad charseq offsets"),
    (lambda t: t[:t.index("<extent>")] + t[t.index("</head>") + len("</head>"):],  # the first mention's spans
     "skipped: mention without a charseq"),
])
def test_bad_mentions_are_located_and_counted(home, tmp_path, change, kind):
    root, apf = copy_chinese(tmp_path)
    apf.write_text(change(apf.read_text(encoding="utf-8")), encoding="utf-8")
    corpus = ace.load_ace("ace_zh", root)
    assert corpus.skipped.get(kind) == 1
    assert any(n.startswith(kind.split(": ", 1)[1]) and apf.name in n for n in corpus.notes)


def test_a_bad_sgm_is_reported_under_its_own_name(home, tmp_path):
    root, apf = copy_chinese(tmp_path)
    sgm = apf.with_name(apf.name.replace(".apf.xml", ".sgm"))
    sgm.write_bytes(b"\xff\xfe not UTF-8")
    with pytest.raises(UserError, match=rf"{sgm.name}: cannot read"):
        ace.load_ace("ace_zh", root)


def test_an_edit_with_the_same_size_and_time_is_not_served_stale(home, tmp_path):
    import os

    root, apf = copy_chinese(tmp_path)
    first = ace.load_ace("ace_zh", root)
    text = apf.read_text(encoding="utf-8")
    st = apf.stat()
    edited = text.replace('TYPE="ORG"', 'TYPE="GPE"', 1)
    assert edited != text and len(edited) == len(text)
    apf.write_text(edited, encoding="utf-8")
    os.utime(apf, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same modification time
    again = ace.load_ace("ace_zh", root)
    assert again.digest != first.digest
