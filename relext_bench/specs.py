"""The one `key=value` parser: corpus specs (`synth_zh:seed=3,documents=2000`), model
specs (`ye2019:tags=none,filters=32`), lists of model specs (`--models`) and
hyper-parameter options (`--param`, `--params`) all read through it, with one rule
for whitespace: keys and values are stripped, empty items are skipped.

`path=` is special: it takes the rest of the text verbatim, commas included (a file
name may hold them), so it comes last.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from relext_bench.errors import UserError, clip

NAME_CHARS = "A-Za-z0-9_.=-"  # what results-directory and report names are made of
# The encoders a model spec may ask for (models/base.py says what each computes).
ENCODERS = ("shared", "dense")
# The objectives (models/objectives.py says what each trains and predicts).
OBJECTIVES = ("ce", "ranking", "multitask", "ranking_other")
# A model plug-in named in a spec: `module.path:Class`, then `:options` (a class name
# starts with a capital letter, which tells it from `name:key=value`).
PLUGIN = re.compile(r"\s*([A-Za-z_][\w.]*):([A-Z]\w*)\s*(?::(.*))?", re.S)


def parse_items(text: str, what: str, verbatim_last: str | None = None) -> dict[str, str]:
    """`k=v,k2=v2` -> {k: v, k2: v2}. `verbatim_last`: a key whose value runs to the end
    of the text. `what` names the text in errors ("model spec 'x'")."""
    tail = None
    if verbatim_last:
        marker = f"{verbatim_last}="
        if text.startswith(marker):
            text, tail = "", text[len(marker):]
        else:
            text, found, rest = text.partition("," + marker)
            tail = rest if found else None
    items = parse_pairs(text.split(","), what)
    if tail is not None:
        items[verbatim_last] = tail
    return items


def parse_pairs(items: Iterable[str], what: str) -> dict[str, str]:
    """Each item `key=value` (stripped; empty items skipped); a key given twice is an
    error (which one was meant?)."""
    out: dict[str, str] = {}
    for item in items:
        if not item.strip():
            continue
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise UserError(f"{what}: expected key=value, found {clip(item.strip())}")
        key = key.strip()
        if key in out:
            raise UserError(f"{what}: {clip(key, 40)} is given twice ({clip(out[key], 40)} and "
                            f"{clip(value.strip(), 40)}): give it once")
        out[key] = value.strip()
    return out


def parse_spec(text: str, what: str, verbatim_last: str | None = None) -> tuple[str, dict[str, str]]:
    """`name` or `name:key=value,...` -> (name, items)."""
    name, _, rest = text.partition(":")
    if not name.strip():
        raise UserError(f"{what}: no name before ':'")
    return name.strip(), parse_items(rest, f"{what} {clip(text)}", verbatim_last)


def split_specs(text: str) -> list[str]:
    """`a:k=v,k2=v2,b` -> [`a:k=v,k2=v2`, `b`]: a key=value item belongs to the spec before it."""
    specs: list[str] = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" in item and ":" not in item and specs:
            specs[-1] += "," + item
        else:
            specs.append(item)
    return specs
