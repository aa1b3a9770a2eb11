"""Optuna storages from one URL (`open_storage`), and how a storage may be shown to the
user (`public_url`, `scrub`: no password ever reaches a message or a report).

- default (None): a SQLite file beside the results (one process at a time),
- `journal:FILE`: Optuna's journal file (several processes on one machine),
- a database URL (`postgresql://...`): several machines; its heartbeat fails the trials
  of a process that died on another machine.
"""
from __future__ import annotations

import random
import time
import warnings
from pathlib import Path

from relext_bench.errors import UserError
from relext_bench.files import check_writable

HEARTBEAT_S = 60  # database storages: a running trial's heartbeat


def load_optuna():
    import logging

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for handler in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, _InterruptWithoutTraceback) for f in handler.filters):
            handler.addFilter(_InterruptWithoutTraceback())
    return optuna


def storage_error(e: BaseException | None) -> BaseException | None:
    """The driver's or SQLAlchemy's error behind `e` (its own, or one that was being
    handled when it was raised: Optuna can fail on its way out of a lost database), or
    None when the storage is not to blame."""
    seen = set()
    while e is not None and id(e) not in seen:
        if type(e).__module__.startswith(("sqlalchemy", "psycopg")):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


class _InterruptWithoutTraceback:
    """Optuna logs a trial ended by Ctrl-C or SIGTERM, or by a storage that stopped
    answering, with its traceback; the first the user asked for, the second `tune`
    says in one line, so Optuna's line comes without one."""

    def filter(self, record) -> bool:
        if record.exc_info and (isinstance(record.exc_info[1], KeyboardInterrupt)
                                or storage_error(record.exc_info[1]) is not None):
            record.exc_info, record.exc_text = None, None
        return True


def open_storage(url: str | None, out: str | Path):
    """An Optuna storage from a URL (see the module docstring)."""
    optuna = load_optuna()
    if url is None:
        check_writable(out)
        url = f"sqlite:///{Path(out) / 'tune.db'}"
    if url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = Path(url.removeprefix("journal:"))
        if not path.name:
            raise UserError("--storage journal:FILE needs a file name")
        check_writable(path.parent)  # a folder that takes no files: one line, before any trial
        try:
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as e:
            raise UserError(f"--storage {public_url(url)}: {e.strerror or type(e).__name__}") from None
    try:
        return _open_database(optuna, url)
    except Exception as e:  # a bad URL, a missing database driver, a server that does not answer
        # The driver's own error under SQLAlchemy's wrapper, the missing module under Optuna's.
        cause = getattr(e, "orig", None) or (e.__cause__ if isinstance(e, ImportError) else None) or e
        detail = " ".join(str(cause).split())  # one line
        missing = isinstance(e, ImportError) or type(e).__name__ == "NoSuchModuleError"
        hint = " (install its driver, e.g. pip install 'psycopg[binary]' for postgresql://)" if missing else ""
        raise UserError(f"--storage {public_url(url)}: {type(cause).__name__}: {scrub(detail, url)}{hint}") from None


def _open_database(optuna, url: str, attempts: int = 5):
    """RDBStorage, which creates its tables in a new database: two processes doing that
    at once make one fail on a duplicate type or table (optuna/optuna#1092). That one
    tries again, and then finds the tables the other made."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    # A database server's heartbeat fails the trials of a process that died on another machine.
    heartbeat = {} if url.startswith("sqlite") else {"heartbeat_interval": HEARTBEAT_S,
                                                     "grace_period": 4 * HEARTBEAT_S}
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():  # the heartbeat is "experimental" in Optuna's words
                warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, **heartbeat)
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 + random.random() * (attempt + 1))


SECRET_KEYS = {"password", "passwd", "pass", "pwd", "sslpassword", "secret", "token"}


def public_url(url: str | None) -> str:
    """The storage as a message or report may show it: no user information (which
    holds the password, '@' in it included), no secret query parameter, no
    directories; text that is not a URL is not shown at all."""
    if url is None:
        return "sqlite (tune.db beside the results)"
    if url.startswith("journal:"):
        return f"journal ({Path(url.removeprefix('journal:')).name})"
    if url.startswith("sqlite:"):
        return f"sqlite ({Path(url.split('///', 1)[-1]).name})"
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "(a storage that is not a URL; not shown)"
    base, q, query = rest.rsplit("@", 1)[-1].partition("?")
    items = [f"{k}=***" if k.lower() in SECRET_KEYS else f"{k}{eq}{v}"
             for k, eq, v in (item.partition("=") for item in query.split("&") if item)]
    return f"{scheme}://{base}" + (q + "&".join(items) if items else "")


def _secrets(url: str) -> set[str]:
    """Every piece of a storage URL that may be a password, as written and decoded."""
    from urllib.parse import unquote

    _, sep, rest = url.partition("://")
    found = {url} if not sep else set()
    if "@" in rest:
        userinfo = rest.rsplit("@", 1)[0]
        found |= {userinfo, userinfo.partition(":")[2]}
    for item in rest.partition("?")[2].split("&"):
        key, _, value = item.partition("=")
        if key.lower() in SECRET_KEYS:
            found.add(value)
    return {v for s in found for v in (s, unquote(s)) if v}


def scrub(text: str, url: str) -> str:
    """`text` (an exception's message) with the URL and anything in it that may be a
    password replaced by its public form or ***."""
    text = text.replace(url, public_url(url))
    for secret in sorted(_secrets(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
