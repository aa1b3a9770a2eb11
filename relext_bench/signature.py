"""Signatures: what a number was computed from and how, as ordered `name:value` fields
(sacrebleu's `Signature` is the model). The full form names every field; the short
form abbreviates the names, for command-line summaries. Metrics, the significance
plan and experiments each build one; signatures concatenate with `+`.
"""
from __future__ import annotations

from dataclasses import dataclass

ABBREVIATIONS = {
    "corpus": "c", "protocol": "p", "policy": "pol", "metric": "m", "seeds": "s", "partitions": "parts",
    "tests": "t", "seed": "rs", "bootstrap": "bs", "ar": "ar", "aso": "aso", "labels": "l", "negative": "neg",
    "relext_bench": "v", "torch": "torch", "kernels": "k",
}


@dataclass(frozen=True)
class Signature:
    fields: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, **fields: object) -> Signature:
        return cls(tuple((name, str(value)) for name, value in fields.items()))

    def __add__(self, other: Signature) -> Signature:
        return Signature(self.fields + other.fields)

    def format(self, short: bool = False) -> str:
        return "|".join(f"{ABBREVIATIONS.get(n, n) if short else n}:{v}" for n, v in self.fields)

    def __str__(self) -> str:
        return self.format()
