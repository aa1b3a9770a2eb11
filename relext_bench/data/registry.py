"""Corpora by name: a corpus is named by a spec, `NAME` or `NAME:key=value,...` (for
example `synth_zh:seed=3,documents=2000`, `dygie:path=my/data`), parsed by the one spec
parser (`relext_bench/specs.py`); the parameters go to the loader of the table's entry
(`data/corpora.py`)."""
from __future__ import annotations

from relext_bench import specs
from relext_bench.data.corpora import CORPORA, CorpusEntry
from relext_bench.data.model import Corpus
from relext_bench.errors import UserError


def entries() -> list[CorpusEntry]:
    return list(CORPORA.values())


def get(name: str) -> CorpusEntry:
    if name not in CORPORA:
        raise UserError(f"unknown corpus {name!r} (known: {', '.join(CORPORA)})")
    return CORPORA[name]


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """`name:key=value,...`; `path=` comes last and takes the rest verbatim (a path may
    hold commas)."""
    return specs.parse_spec(spec, "corpus spec", verbatim_last="path")


def load(spec: str) -> Corpus:
    name, params = parse_spec(spec)
    entry = get(name)
    ok, why = entry.available()
    if not ok:
        raise UserError(why)
    return entry.loader(**params)
