import pytest

from relext_bench.cli import main


def test_corpora_list(capsys):
    assert main(["corpora", "list"]) == 0
    out = capsys.readouterr().out
    assert "synth_zh" in out and "synth_en" in out and "license" in out


def test_stats_text_marks_synthetic(capsys):
    assert main(["corpora", "stats", "synth_en:documents=10"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out


def test_show_prints_mentions_tags_and_labels(capsys):
    assert main(["corpora", "show", "synth_zh:documents=5", "--protocol", "paper", "--n", "1"]) == 0
    out = capsys.readouterr().out
    assert "mention 1:" in out and "tags:" in out and "[Other]" in out and "B-" in out


@pytest.mark.parametrize("argv, message", [
    (["corpora", "stats", "no_such_corpus"], "unknown corpus 'no_such_corpus'"),
    (["corpora", "stats", "synth_zh:seed=x"], "seed='x' is not a int"),
    (["corpora", "stats", "synth_zh:colour=red"], "unknown parameter 'colour'"),
    (["corpora", "stats", "synth_zh:seed"], "expected key=value"),
])
def test_bad_names_end_with_one_line_and_code_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_build_ext_reports_where(capsys):
    assert main(["build-ext"]) == 0
    out = capsys.readouterr().out
    assert "built the C++" in out and "extensions" in out
