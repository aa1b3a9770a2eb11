"""The prepared cache: parsed corpora as plain JSON (never pickle), keyed by the pinned
source's digest and the loader's version, so a second load skips parsing."""
from __future__ import annotations

import json
from collections.abc import Callable

from relext_bench.data.model import Corpus
from relext_bench.data.serialize import corpus_from_dict, corpus_to_dict
from relext_bench.paths import home
from relext_bench.training.records import write_json_atomic

FORMAT = 2  # the layout of the cached JSON (serialize.py)


def prepared(name: str, source_digest: str, loader_version: int, build: Callable[[], Corpus],
             strict: bool = False) -> Corpus:
    path = home() / "prepared" / f"{name}-{source_digest}-v{loader_version}-f{FORMAT}.json"
    if path.exists() and not strict:  # strict mode re-parses, so problems become errors
        try:
            with open(path, encoding="utf-8") as fh:
                return corpus_from_dict(json.load(fh))
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)  # damaged: parse again
    corpus = build()
    write_json_atomic(path, corpus_to_dict(corpus), compact=True)
    return corpus
