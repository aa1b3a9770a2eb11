"""Model plug-ins: a model outside the package (the example in examples/myproj, or one
an installed distribution registers) runs through train, compare and report like a
built-in one, its key carries its identity, and a broken one is one clear line."""
import json
import textwrap
from pathlib import Path

import pytest

from relext_bench.cli import main
from relext_bench.models import registry
from relext_bench.models.spec import parse_model_spec

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "myproj"
CORPUS = "synth_zh:documents=6"
SMALL = "hidden=16,word_dim=16,position_dim=4,tags=none"


@pytest.fixture
def fresh_registry():
    """Plug-ins are looked up once per process; each test starts from a clean slate."""
    registry.model_entry.cache_clear()
    registry.installed.cache_clear()
    yield
    registry.model_entry.cache_clear()
    registry.installed.cache_clear()


@pytest.fixture
def example(monkeypatch, fresh_registry):
    monkeypatch.syspath_prepend(str(EXAMPLE))


def test_the_example_plug_in_runs_through_train_compare_and_report(tmp_path, capsys, example):
    assert main(["train", "--corpus", CORPUS, "--protocol", "paper", "--model", f"myproj:MyModel:{SMALL}",
                 "--max-epochs", "1", "--out", str(tmp_path / "train")]) == 0
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "train").glob("*.json")]
    assert record["model"]["name"] == "myproj:MyModel" and record["status"] == "finished"
    out, reports = tmp_path / "out", tmp_path / "rep"
    argv = ["compare", "--corpus", CORPUS, "--protocol", "paper", "--models", f"myproj:MyModel:{SMALL},cnn:filters=8",
            "--seeds", "2", "--max-epochs", "1", "--threads", "1", "--out", str(out), "--reports", str(reports)]
    assert main(argv) == 0
    records = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")]
    assert sorted({r["model"]["name"] for r in records}) == ["cnn", "myproj:MyModel"] and len(records) == 20
    (report,) = reports.glob("*.md")
    rows = [line for line in report.read_text().split("## Results")[1].splitlines() if line.startswith("| ")]
    assert any(line.startswith(f"| myproj:MyModel:{SMALL} ") for line in rows)
    assert any(line.startswith("| cnn:filters=8 ") for line in rows)
    before = report.read_text()
    assert main(["report", str(out), "--reports", str(reports)]) == 0
    assert report.read_text() == before
    # tune searches the plug-in's own search space
    assert main(["tune", "--corpus", CORPUS, "--protocol", "paper", "--model", f"myproj:MyModel:{SMALL}",
                 "--trials", "1", "--max-epochs", "1", "--out", str(tmp_path / "tune"), "--reports", str(reports)]) == 0
    assert "best dev weighted_f1" in capsys.readouterr().out


def test_a_plug_in_s_key_carries_its_identity(tmp_path, monkeypatch, example):
    spec = parse_model_spec(f"myproj:MyModel:{SMALL}")
    entry = registry.model_entry(spec.name)
    assert entry.identity.startswith("myproj:MyModel#") and entry.search_space is not None and not entry.shared
    # The same class name in another module, or the same module changed, is another model.
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "myproj_twin.py").write_text((EXAMPLE / "myproj" / "__init__.py").read_text())
    monkeypatch.syspath_prepend(str(twin))
    assert parse_model_spec(f"myproj_twin:MyModel:{SMALL}").key() != spec.key()
    assert registry.identity_of(entry.model, None) == entry.identity
    assert parse_model_spec("cnn").key() == parse_model_spec("cnn").key() and registry.model_entry("cnn").identity is None


def test_a_model_an_installed_distribution_registers_is_found_by_name(tmp_path, monkeypatch, fresh_registry, capsys):
    (tmp_path / "tinyplug.py").write_text((EXAMPLE / "myproj" / "__init__.py").read_text())
    info = tmp_path / "tinyplug-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinyplug\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[relext_bench.models]\ntiny = tinyplug:MyModel\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "tiny" in registry.known()
    assert registry.model_entry("tiny").identity == "tinyplug:MyModel@tinyplug==1.2"
    assert main(["train", "--corpus", CORPUS, "--protocol", "paper", "--model", f"tiny:{SMALL}",
                 "--max-epochs", "1", "--out", str(tmp_path / "out")]) == 0


BROKEN = {
    "import error": ("import not_a_module_anywhere\n", "cannot import {module} (ModuleNotFoundError: "
                                                        "No module named 'not_a_module_anywhere')"),
    "no config": ("""
        from relext_bench.api import RelationModel
        class MyModel(RelationModel):
            def build_encoder(self, input_width):
                return 4
        """, "its class declares no config_class"),
    "wrong shape": ("""
        from dataclasses import dataclass
        from relext_bench.api import InputConfig, RelationModel
        @dataclass(frozen=True)
        class Config(InputConfig):
            pass
        class MyModel(RelationModel):
            config_class = Config
            def build_encoder(self, input_width):
                return 4
            def encode(self, x, batch):
                return x[:, :, :4]  # per token, not per instance
        """, "encode returned [2, 4, 4] for 2 instances; expected [2, 4]"),
    "not a model": ("class MyModel:\n    pass\n", "is not a subclass of relext_bench.api.RelationModel"),
    "another interface": ("""
        from relext_bench.api import RelationModel
        class MyModel(RelationModel):
            interface = 2
        """, "written for relext_bench.api version 2; this harness has version 1"),
    "no such class": ("X = 1\n", "module {module} has no MyModel"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_plug_in_is_one_line_naming_it(tmp_path, monkeypatch, capsys, fresh_registry, case):
    module = "broken_" + case.replace(" ", "_")  # one module per case: Python imports a name once
    source, message = BROKEN[case]
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    for argv in (["train", "--model", f"{module}:MyModel"],
                 ["compare", "--models", f"{module}:MyModel,cnn", "--reports", str(tmp_path / "rep")]):
        assert main([*argv, "--corpus", CORPUS, "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert f"model plug-in {module}:MyModel" in err and message.format(module=module) in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list((tmp_path / "out").rglob("*.json"))
