"""The prepared cache: parsed corpora as plain JSON (never pickle), keyed by the pinned
source's digest and the loader's version, so a second load skips parsing. The file
also holds the corpus digest it was prepared with; a cached corpus whose content no
longer has that digest (edited since, however well-formed) is parsed again, with a
warning."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable

from relext_bench.data.model import Corpus, corpus_from_dict, corpus_to_dict
from relext_bench.files import write_json_atomic
from relext_bench.paths import home

FORMAT = 4  # the layout of the cached JSON: {"digest": ..., "corpus": model.corpus_to_dict}


def prepared(name: str, source_digest: str, loader_version: int, build: Callable[[], Corpus],
             strict: bool = False) -> Corpus:
    path = home() / "prepared" / f"{name}-{source_digest}-v{loader_version}-f{FORMAT}.json"
    if path.exists() and not strict:  # strict mode re-parses, so problems become errors
        try:
            with open(path, encoding="utf-8") as fh:
                cached = json.load(fh)
            corpus = corpus_from_dict(cached["corpus"])
            if corpus.digest == cached["digest"]:
                return corpus
            print(f"relext-bench: warning: {path} was changed since it was prepared (digest "
                  f"{corpus.digest}, prepared as {cached['digest']}); parsing the source again", file=sys.stderr)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # damaged: parse again
        path.unlink(missing_ok=True)
    corpus = build()
    write_json_atomic(path, {"digest": corpus.digest, "corpus": corpus_to_dict(corpus)}, compact=True)
    return corpus
