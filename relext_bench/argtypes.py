"""Argument types of the command line: each turns one option's text into a value or
raises argparse's error with a one-line reason."""
from __future__ import annotations

import argparse
import math
import re

from relext_bench.specs import NAME_CHARS

MAX_NAME = 100  # characters: a file name holds the name and a suffix (most file systems allow 255 bytes)


def report_name(text: str) -> str:
    if not re.fullmatch(f"[{NAME_CHARS}]+", text) or text.startswith("."):
        raise argparse.ArgumentTypeError(f"{text[:40]!r}: a report name takes letters, digits and _ . = - only")
    if len(text) > MAX_NAME:
        raise argparse.ArgumentTypeError(f"a report name of {len(text)} characters: at most {MAX_NAME}")
    return text


def at_least(low: int):
    """An argparse type: a whole number >= low."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is less than {low}")
        return value
    parse.__name__ = f"whole number >= {low}"
    return parse


def finite_float(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = finite_float(text)
    except argparse.ArgumentTypeError:
        value = math.nan
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite number above 0")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is less than 0")
    return value
