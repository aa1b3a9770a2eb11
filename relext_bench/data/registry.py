"""The corpus registry: one entry per corpus, with where its data comes from, its
license as stated upstream, its citation, and a loader.

A corpus is named by a spec, `NAME` or `NAME:key=value,...` (for example
`synth_zh:seed=3,documents=2000`); the parameters go into the loader.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from relext_bench.data.model import Corpus
from relext_bench.errors import UserError


@dataclass(frozen=True)
class CorpusEntry:
    name: str
    language: str
    description: str
    license: str
    citation: str
    source: str
    size: str
    loader: Callable[..., Corpus]
    available: Callable[[], tuple[bool, str]]  # (available, why or where)
    synthetic: bool = False


_REGISTRY: dict[str, CorpusEntry] = {}


def register(entry: CorpusEntry) -> None:
    _REGISTRY[entry.name] = entry


def entries() -> list[CorpusEntry]:
    _load_builtin()
    return list(_REGISTRY.values())


def get(name: str) -> CorpusEntry:
    _load_builtin()
    if name not in _REGISTRY:
        raise UserError(f"unknown corpus {name!r} (known: {', '.join(_REGISTRY)})")
    return _REGISTRY[name]


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """`name:key=value,...`; `path=` comes last and takes the rest verbatim (a path may
    hold commas)."""
    name, _, rest = spec.partition(":")
    if rest.startswith("path="):
        rest, path = "", rest.removeprefix("path=")
    else:
        rest, found, path = rest.partition(",path=")
        path = path if found else None
    params: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UserError(f"corpus spec {spec!r}: expected key=value, found {item!r}")
        params[key.strip()] = value.strip()
    if path is not None:
        params["path"] = path
    return name, params


def load(spec: str) -> Corpus:
    name, params = parse_spec(spec)
    entry = get(name)
    ok, why = entry.available()
    if not ok:
        raise UserError(why)
    return entry.loader(**params)


def _load_builtin() -> None:
    if _REGISTRY:
        return
    from relext_bench.data import builtin  # noqa: F401  (registers the corpora)
