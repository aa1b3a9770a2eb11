"""Pinned downloads and the public corpora, read through RELEXT_BENCH_MIRROR."""
import json
import os
import shutil
from pathlib import Path

import pytest

from relext_bench.cli import main
from relext_bench.corpus_stats import corpus_stats
from relext_bench.data import fetch, registry
from relext_bench.errors import UserError
from relext_bench.protocols import PROTOCOLS

MIRROR = os.environ.get("RELEXT_BENCH_MIRROR")
needs_mirror = pytest.mark.skipif(not MIRROR, reason="RELEXT_BENCH_MIRROR is not set (.ci/run sets it)")


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RELEXT_BENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def copy_mirror(name, tmp_path):
    """A private copy of one corpus's mirror files, safe to damage."""
    root = tmp_path / "mirror"
    for f in fetch.sources()[name]["files"]:
        rel = fetch.url_path(f["url"])
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(MIRROR) / rel, root / rel)
    return root


@needs_mirror
@pytest.mark.parametrize("name, sentences, entities, relations", [
    ("crossre", {"train": 668, "dev": 2151, "test": 2446}, 26925, 19761 - 5),
    ("chisiec", {"train": 1560, "dev": 194, "test": 194}, 12332, 8609),
])
def test_counts_agree_with_the_raw_files(fresh_home, name, sentences, entities, relations):
    stats = corpus_stats(registry.load(name), PROTOCOLS["standard"])
    assert {k: v["sentences"] for k, v in stats["splits"].items()} == sentences
    assert stats["total"]["entity_mentions"] == entities
    assert stats["total"]["relation_mentions"] == relations
    assert stats["synthetic"] is False


@needs_mirror
def test_differences_are_counted_and_explained(fresh_home):
    crossre = registry.load("crossre")
    assert crossre.skipped == {"skipped: relation from a mention to itself": 5}
    chisiec = registry.load("chisiec")
    assert chisiec.skipped == {"tolerated: entity span text differs from the characters it indexes": 6024}
    assert any("item" in n for n in chisiec.notes)


@needs_mirror
def test_strict_turns_skips_into_errors(fresh_home, capsys):
    with pytest.raises(UserError, match="relation from a mention to itself .strict mode"):
        registry.load("crossre:strict=1")
    assert main(["corpora", "stats", "crossre", "--strict"]) == 2
    assert "crossre_data/" in capsys.readouterr().err  # names the file and line
    registry.load("chisiec:strict=1")  # tolerated differences are never errors


@needs_mirror
def test_tampered_mirror_file_is_refused_and_nothing_cached(fresh_home, tmp_path, monkeypatch):
    root = copy_mirror("chisiec", tmp_path)
    victim = root / fetch.url_path(fetch.sources()["chisiec"]["files"][0]["url"])
    data = bytearray(victim.read_bytes())
    data[100] ^= 1
    victim.write_bytes(bytes(data))
    monkeypatch.setenv("RELEXT_BENCH_MIRROR", str(root))
    with pytest.raises(UserError, match="checksum mismatch"):
        registry.load("chisiec")
    cached = list((fresh_home / "downloads").rglob("*")) if (fresh_home / "downloads").exists() else []
    assert not any(p.is_file() and p.name.endswith(".part") for p in cached)
    assert not fetch.cache_path(fetch.sources()["chisiec"]["files"][0]["url"]).exists()


@needs_mirror
def test_truncated_file_is_refused(fresh_home, tmp_path, monkeypatch):
    root = copy_mirror("chisiec", tmp_path)
    victim = root / fetch.url_path(fetch.sources()["chisiec"]["files"][1]["url"])
    victim.write_bytes(victim.read_bytes()[:1000])
    monkeypatch.setenv("RELEXT_BENCH_MIRROR", str(root))
    assert main(["corpora", "stats", "chisiec"]) == 2


def test_offline_without_cache_is_a_clear_error(fresh_home, monkeypatch, capsys):
    monkeypatch.delenv("RELEXT_BENCH_MIRROR", raising=False)
    monkeypatch.setattr(fetch.urllib.request, "urlopen", None)  # any network use would fail loudly
    monkeypatch.setenv("RELEXT_BENCH_OFFLINE", "0")
    assert main(["corpora", "stats", "crossre", "--offline"]) == 2
    err = capsys.readouterr().err
    assert "offline" in err and err.count("\n") == 1


def test_no_network_is_a_clear_error(fresh_home, monkeypatch):
    monkeypatch.delenv("RELEXT_BENCH_MIRROR", raising=False)
    monkeypatch.setattr(fetch.urllib.request, "urlopen",
                        lambda *a, **k: (_ for _ in ()).throw(fetch.urllib.error.URLError("no route")))
    with pytest.raises(UserError, match="cannot download .*no route"):
        fetch.fetch("https://example.invalid/x.json", "0" * 64)
    assert not list((fresh_home / "downloads").rglob("*.part"))


def test_url_mapping_refuses_escapes():
    assert fetch.url_path("https://host/a/b.json") == Path("host/a/b.json")
    with pytest.raises(UserError):
        fetch.url_path("https://host/a/../../etc/passwd")


@needs_mirror
def test_prepared_cache_is_json_and_reused(fresh_home):
    first = registry.get("chisiec").loader()
    (path,) = (fresh_home / "prepared").glob("chisiec-*.json")
    json.loads(path.read_text(encoding="utf-8"))  # plain JSON, not pickle
    assert registry.get("chisiec").loader() == first


def test_list_shows_licenses_as_stated(capsys):
    assert main(["corpora", "list"]) == 0
    out = capsys.readouterr().out
    assert "GPL-3.0 (repository)" in out and "none stated" in out


@needs_mirror
@pytest.mark.parametrize("name, documents, splits", [
    ("sanwen", 837, {"train": 695, "dev": 58, "test": 84}),
    ("somesci", 1367, {"train": 1091, "dev": 138, "test": 138}),
])
def test_brat_corpora_documents_and_reported_damage(fresh_home, name, documents, splits):
    corpus = registry.load(name)
    assert len(corpus.documents) == documents
    assert {k: len(v) for k, v in corpus.splits.items()} == splits
    assert corpus.skipped.get("skipped: relation crosses sentences", 0) > 0
    if name == "sanwen":
        assert corpus.skipped["skipped: equivalence line (not a relation)"] > 0
        assert corpus.skipped["skipped: relation type outside the schema (Coreference)"] == 2
        assert corpus.skipped["skipped: malformed line (e.g. entity text continued after a newline)"] > 0
        assert all(":" in n and "(e.g. " in n for n in corpus.notes[1:])  # where, by file and line


def _tar(path, members, top="repo-abc"):
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(f"{top}/{name}" if not name.startswith(("/", "..")) else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_archive_checks(tmp_path):
    from relext_bench.data.archive import extract_checked

    good = tmp_path / "good.tar.gz"
    _tar(good, [("data/a.txt", b"x"), ("data/b.txt", b"y"), ("other.txt", b"z")])
    digest, count = extract_checked(good, "good", "repo-abc", ["data/"], tmp_path / "out")
    import hashlib
    expect = "".join(f"{p}\t{hashlib.sha256(d).hexdigest()}\n" for p, d in (("data/a.txt", b"x"), ("data/b.txt", b"y")))
    assert count == 2 and digest == hashlib.sha256(expect.encode()).hexdigest()
    assert not (tmp_path / "out" / "other.txt").exists()
    evil = tmp_path / "evil.tar.gz"
    _tar(evil, [("../../escape.txt", b"x")])
    with pytest.raises(UserError, match="escapes its folder"):
        extract_checked(evil, "evil", "repo-abc", ["data/"], tmp_path / "out2")
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(good.read_bytes()[:40])
    with pytest.raises(UserError, match="truncated or damaged archive"):
        extract_checked(truncated, "cut", "repo-abc", ["data/"], tmp_path / "out3")


@needs_mirror
def test_tampered_archive_is_refused(fresh_home, tmp_path, monkeypatch):
    import tarfile

    entry = fetch.sources()["sanwen"]
    src = Path(MIRROR) / fetch.url_path(entry["url"])
    root = tmp_path / "mirror"
    dst = root / fetch.url_path(entry["url"])
    dst.parent.mkdir(parents=True)
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        changed = False
        for m in tin:
            data = tin.extractfile(m).read() if m.isfile() else None
            if data is not None and m.name.endswith(".ann") and not changed:  # same size, one byte changed
                data, changed = data[:-1] + (b"X" if data[-1:] != b"X" else b"Y"), True
            tout.addfile(m, __import__("io").BytesIO(data) if data is not None else None)
    monkeypatch.setenv("RELEXT_BENCH_MIRROR", str(root))
    with pytest.raises(UserError, match="tree digest mismatch"):
        registry.load("sanwen")
    assert not list((fresh_home / "archives").glob("sanwen-*"))


@needs_mirror
def test_a_changed_prepared_corpus_is_parsed_again(fresh_home, capsys):
    first = registry.get("chisiec").loader()
    (path,) = (fresh_home / "prepared").glob("chisiec-*.json")
    cached = json.loads(path.read_text(encoding="utf-8"))
    sentence = cached["corpus"]["documents"][0]["sentences"][0]
    sentence["tokens"][0] = "tampered"  # well-formed, but not what was prepared
    path.write_text(json.dumps(cached), encoding="utf-8")
    again = registry.get("chisiec").loader()
    assert "was changed since it was prepared" in capsys.readouterr().err
    assert again == first and again.documents[0].sentences[0].tokens[0] != "tampered"


def test_written_files_follow_the_umask(tmp_path):
    import os

    from relext_bench.files import write_json_atomic

    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "r.json", {"a": 1})
        assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        write_json_atomic(tmp_path / "s.json", {"a": 1})
        assert (tmp_path / "s.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_archive_sizes_are_capped_before_extraction(tmp_path):
    import io
    import tarfile

    from relext_bench.data.archive import extract_checked

    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz") as tar:  # 64 MB of zeros: about 60 kB compressed
        info = tarfile.TarInfo("repo-abc/data/zeros.bin")
        info.size = 64 << 20
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(UserError, match=r"zeros.bin.*past the 1,000 bytes pinned"):
        extract_checked(bomb, "bomb", "repo-abc", ["data/"], tmp_path / "out", max_bytes=1000, max_members=5)
    assert not (tmp_path / "out" / "data" / "zeros.bin").exists()  # not a byte written
    many = tmp_path / "many.tar.gz"
    _tar(many, [(f"data/{k}.txt", b"x") for k in range(4)])
    with pytest.raises(UserError, match="more selected members than the 3 pinned"):
        extract_checked(many, "many", "repo-abc", ["data/"], tmp_path / "out2", max_bytes=1000, max_members=3)
    assert extract_checked(many, "many", "repo-abc", ["data/"], tmp_path / "out3", max_bytes=4, max_members=4)[1] == 4
