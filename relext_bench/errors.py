"""The one error type a user sees as a message (exit code 2), never as a traceback."""


class UserError(Exception):
    """Bad input, unknown names, unavailable data: printed as one line by the CLI."""
