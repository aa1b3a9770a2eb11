"""Corpora by name: a corpus is named by a spec, `NAME` or `NAME:key=value,...` (for
example `synth_zh:seed=3,documents=2000`, `dygie:path=my/data`), parsed by the one spec
parser (`relext_bench/specs.py`); the parameters go to the loader of the table's entry
(`data/corpora.py`)."""
from __future__ import annotations

import re
from pathlib import Path

from relext_bench import specs
from relext_bench.data.corpora import CORPORA, CorpusEntry
from relext_bench.data.model import Corpus
from relext_bench.errors import UserError
from relext_bench.specs import NAME_CHARS


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


def slug(spec: str, digest: str) -> str:
    """The corpus as default results directories and reports name it: `chisiec`,
    `synth_zh-documents60`; data given by a path (`--format dygie --path`) by its file
    or folder name and its digest (`dygie-mydata-1a2b3c4d`), so that two data sets never
    share a results directory or a report."""
    name, options = parse_spec(spec)
    path = options.pop("path", None)
    if path is not None:
        name += f"-{Path(path).stem or 'data'}-{digest[:8]}"
    name += "".join(f"-{k}{v}" for k, v in sorted(options.items()))
    return re.sub(f"[^{NAME_CHARS}]+", "_", name)


def report_prefix(spec: str, name: str, digest: str) -> str:
    """The first part of a default report name: the corpus's name, or its slug for data
    given by a path."""
    return slug(spec, digest) if "path" in parse_spec(spec)[1] else name
