"""SemEval-2010 Task 8 answer files: a run's test predictions as the task's official
scorer (`semeval2010_task8_scorer-v1.2.pl`) reads them, `ID<TAB>Label` a line, so a
user can score a run with the scorer itself. The harness computes the same score for
every run (`metrics.semeval_f1_from_counts`); a test checks the two agree.

A run on `semeval2010` keeps its test sentences' IDs beside its predictions
(`predictions.test_ids`); the answer file is written next to its record.
"""
from __future__ import annotations

from pathlib import Path

from relext_bench.records import unpack_labels


def answer_lines(record: dict, which: str = "test_pred") -> list[str]:
    """`ID<TAB>Label` for each test instance of a run on semeval2010 (`test_gold`: the
    key the run was scored against)."""
    ids = record["predictions"]["test_ids"]
    labels = record["labels"]
    return [f"{doc.removeprefix('semeval-')}\t{'Other' if k == 0 else labels[k]}"
            for doc, k in zip(ids, unpack_labels(record["predictions"][which]))]


def answer_path(record_path: str | Path) -> Path:
    record_path = Path(record_path)
    return record_path.with_name(record_path.stem + ".answers.txt")


def write_answers(record_path: str | Path, record: dict) -> Path | None:
    """Writes the run's answer file beside its record (runs on other corpora: None)."""
    if "test_ids" not in (record.get("predictions") or {}):
        return None
    path = answer_path(record_path)
    path.write_text("\n".join(answer_lines(record)) + "\n", encoding="utf-8")
    return path
