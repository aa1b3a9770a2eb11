"""Damaged input, handled honestly: every skipped or suspicious item is counted by kind
with its file and line (or ID); in strict mode the first one is an error."""
from __future__ import annotations

from collections import Counter, defaultdict

from relext_bench.errors import UserError

EXAMPLES = 3


class Problems:
    def __init__(self, strict: bool = False):
        self.strict = strict
        self.counts: Counter = Counter()
        self.examples: dict[str, list[str]] = defaultdict(list)
        self.tolerated: set[str] = set()

    def skip(self, kind: str, where: str) -> None:
        """Something not loaded (an entity, a relation, a line)."""
        if self.strict:
            raise UserError(f"{where}: {kind} (strict mode)")
        self.counts[kind] += 1
        if len(self.examples[kind]) < EXAMPLES:
            self.examples[kind].append(where)

    def note(self, kind: str, where: str) -> None:
        """Something loaded but suspicious, known and tolerated (never an error)."""
        self.tolerated.add(kind)
        self.counts[kind] += 1
        if len(self.examples[kind]) < EXAMPLES:
            self.examples[kind].append(where)

    def skipped(self) -> dict[str, int]:
        return {(f"tolerated: {k}" if k in self.tolerated else f"skipped: {k}"): v
                for k, v in sorted(self.counts.items())}

    def notes(self) -> tuple[str, ...]:
        return tuple(f"{k}: {v} (e.g. {'; '.join(self.examples[k])})" for k, v in sorted(self.counts.items()))
