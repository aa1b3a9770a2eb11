"""Text from a corpus (labels, tokens, type names, file names) on its way to the user:
it may hold anything, so it is made inert before a terminal or a Markdown report
shows it. Nothing is dropped: a control character becomes its escape (`\\x1b`), a
Markdown or HTML character its escaped form.
"""
from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MARKDOWN = re.compile(r"([\\`*\[\]|])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def for_terminal(text) -> str:
    """`text` with every control character (escape sequences, newlines, carriage
    returns) written as its escape, so the terminal shows it instead of acting on it."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


def for_markdown(text) -> str:
    """`text` as one inert piece of a Markdown line or table cell: controls escaped as
    for a terminal, HTML's `& < >` as entities, and Markdown's `\\ ` * [ ] |` with a
    backslash."""
    text = "".join(_HTML.get(c, c) for c in for_terminal(text))
    return _MARKDOWN.sub(r"\\\1", text)


def code(text) -> str:
    """`text` as a Markdown code span (inert as it is), or escaped where it could end one."""
    text = str(text)
    return for_markdown(text) if "`" in text or _CONTROL.search(text) else f"`{text}`"
