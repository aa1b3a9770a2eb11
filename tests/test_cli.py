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


@pytest.mark.parametrize("argv, message", [
    (["compare", "--seeds", "0"], "argument --seeds: 0 is less than 1"),
    (["compare", "--seeds", "-3"], "argument --seeds: -3 is less than 1"),
    (["compare", "--max-epochs", "0"], "argument --max-epochs: 0 is less than 1"),
    (["compare", "--baseline-seeds", "-1"], "argument --baseline-seeds: -1 is less than 1"),
    (["compare", "--workers", "0"], "argument --workers: 0 is less than 1"),
    (["compare", "--threads", "-4"], "argument --threads: -4 is less than 1"),
    (["ablate", "--patience", "-1"], "argument --patience: -1 is less than 0"),
    (["tune", "--model", "cnn", "--trials", "0"], "argument --trials: 0 is less than 1"),
    (["tune", "--model", "cnn", "--timeout", "nan"], "argument --timeout: nan is not a finite number above 0"),
    (["train", "--model", "cnn", "--batch-size", "0"], "argument --batch-size: 0 is less than 2"),
    (["compare", "--batch-size", "1"], "argument --batch-size: 1 is less than 2"),
    (["train", "--model", "cnn", "--lr", "-1"], "argument --lr: -1 is not a finite number above 0"),
    (["train", "--model", "cnn", "--weight-decay", "-1"], "argument --weight-decay: -1 is less than 0"),
    (["compare", "--weight-decay", "nan"], "argument --weight-decay: nan is not a finite number"),
    (["train", "--model", "cnn", "--threshold", "inf"], "argument --threshold: inf is not a finite number"),
    (["train", "--model", "cnn", "--seeds", "x"], "unrecognized arguments"),
    (["bench-train", "--model", "cnn", "--batches", "1"], "argument --batches: 1 is less than 2"),
    (["corpora", "show", "synth_zh", "--n", "0"], "argument --n: 0 is less than 1"),
])
def test_numbers_are_range_checked_by_the_parser(capsys, argv, message):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["sweep", "--ratios=-1,2"], "--ratios: -1 is not a finite number above 0"),
    (["sweep", "--ratios", "1,nan"], "--ratios: nan is not a finite number above 0"),
    (["sweep", "--ratios", "inf"], "--ratios: inf is not a finite number above 0"),
    (["sweep", "--ratios", "0,all"], "--ratios: 0 is not a finite number above 0"),
    (["compare", "--models", ","], "--models ',' names no model"),
    (["compare", "--models", "cnn,,cnn"], "--models lists the same model twice: 'cnn' and 'cnn'"),
    (["tune", "--model", "cnn", "--refit"], "tune --refit: a study scores its trials on the dev set"),
    (["sweep", "--models", "cnn:tags=none,cnn:tags=none"], "lists the same model twice"),
])
def test_ratio_and_model_lists_are_checked(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from relext_bench.data.registry import parse_spec  # noqa: E402
from relext_bench.errors import UserError  # noqa: E402
from relext_bench.models.spec import parse_model  # noqa: E402

SPEC_TEXT = st.text(alphabet=st.sampled_from(list("cnnye2019:=,._-/ptahdsfilrx0 ")), max_size=30)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(["synth_zh", "dygie", "chisiec"]), params=st.dictionaries(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(lambda k: k != "path"),
    st.text(alphabet="abc0123456789._-", max_size=8), max_size=3),
    path=st.none() | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20))
def test_corpus_specs_round_trip_and_a_path_takes_the_rest(name, params, path):
    text = name + ":" + ",".join(f"{k}={v}" for k, v in params.items())
    if path is not None:
        text += ("," if params else "") + f"path={path}"
    got_name, got = parse_spec(text)
    assert got_name == name and got == ({k: v.strip() for k, v in params.items()}
                                        | ({"path": path} if path is not None else {}))


@settings(max_examples=300, deadline=None)
@given(text=SPEC_TEXT)
def test_any_model_spec_parses_or_is_one_clear_error(text):
    try:
        spec = parse_model(text)
    except UserError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert parse_model(text).key() == spec.key()  # parsing is deterministic


# ---- a new user's rough edges -----------------------------------------------------------------

def test_train_takes_a_model_spec_and_flags_that_agree_with_it(capsys):
    from relext_bench.cli import build_parser
    from relext_bench.commands import train_spec

    def spec(*argv):
        return train_spec(build_parser().parse_args(["train", *argv]))

    got = spec("--model", "cnn:word_dim=50,tags=none", "--encoder", "dense")
    assert (got.name, got.tags, got.encoder, dict(got.params)) == ("cnn", "none", "dense", {"word_dim": "50"})
    assert spec("--model", "cnn").tags == "bio_typed"  # the default when neither says
    assert spec("--model", "cnn", "--tags", "none").tags == "none"
    with pytest.raises(UserError, match="disagree"):
        spec("--model", "cnn:tags=none", "--tags", "bio")
    with pytest.raises(UserError, match="disagree"):
        spec("--model", "cnn:filters=10", "--param", "filters=20")


def test_a_device_this_machine_lacks_is_refused_before_any_run(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    argv = ["compare", "--corpus", "synth_zh:documents=4", "--models", "cnn", "--seeds", "1", "--device", "cuda",
            "--out", str(tmp_path / "out"), "--reports", str(tmp_path / "rep")]
    assert main(argv) == 2
    assert "no CUDA device" in capsys.readouterr().err
    assert not (tmp_path / "out" / "runs").exists()  # nothing stored as failed


@pytest.mark.slow
def test_train_warns_when_the_best_epoch_is_the_last(tmp_path, capsys):
    argv = ["train", "--corpus", "synth_zh:documents=6", "--model", "cnn:filters=8", "--max-epochs", "1",
            "--min-steps", "0", "--out", str(tmp_path)]
    assert main(argv) == 0
    assert "the best epoch is the last one trained (1 of at most 1)" in capsys.readouterr().err
    assert main([*argv, "--refit"]) == 0  # and says whose scores it shows
    assert "the scores are the refit's: " in capsys.readouterr().out


def test_the_progress_bar_moves_within_an_epoch(monkeypatch):
    from relext_bench.protocols import get_protocol
    from relext_bench.training import trainer

    updates = []

    class Bar:
        def __init__(self, *a, **k):
            pass

        def reset(self, total):
            updates.append(("epoch", total))

        def update(self, n=1):
            updates.append(("batch", n))

        def set_description(self, *a, **k):
            pass

        set_postfix = close = set_description

    monkeypatch.setattr(trainer, "tqdm", Bar)
    corpus = __import__("relext_bench.data.registry", fromlist=["load"]).load("synth_zh:documents=6")
    protocol = get_protocol("standard")
    cfg = trainer.TrainConfig(max_epochs=2, min_steps=0, batch_size=16)
    trainer.train_run(corpus, protocol, protocol.partitions(corpus)[0], parse_model("cnn:filters=8"), 1, cfg)
    epochs = [total for kind, total in updates if kind == "epoch"]
    assert len(epochs) == 2 and epochs[0] > 1
    assert sum(1 for kind, _ in updates if kind == "batch") == sum(epochs)  # one step of the bar per batch


def test_the_top_level_help_describes_the_tool_in_a_sentence(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    description = " ".join(out.split("\n\n")[1].split())
    assert description.startswith("relext-bench is a benchmark") and description.endswith(".")


def test_reports_go_beside_the_results_by_default():
    from relext_bench.cli import build_parser

    for argv in (["compare"], ["ablate"], ["sweep"], ["tune", "--model", "cnn"], ["report", "d"]):
        assert build_parser().parse_args(argv).reports == "results/reports"
