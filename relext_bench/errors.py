"""The one error type a user sees as a message (exit code 2), never as a traceback."""


class UserError(Exception):
    """Bad input, unknown names, unavailable data: printed as one line by the CLI."""


def clip(text: str, limit: int = 80) -> str:
    """`text` as an error message quotes it: at most `limit` characters of it."""
    text = str(text)
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text):,} characters)"
