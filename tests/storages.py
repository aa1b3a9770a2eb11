"""Optuna storages for the tests, one per backend the tool supports for several
processes: a journal file, and a database on a PostgreSQL server.

The server is the one `.ci/run` started (its URL in RELEXT_BENCH_TEST_POSTGRES), or
else one started here with `.ci/postgres` when the machine has the server binaries;
each test gets a database of its own.
"""
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("journal", "postgresql")


def server_binary() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or bool(
        subprocess.run(["sh", "-c", "command -v initdb"], capture_output=True).stdout.strip())


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a PostgreSQL server's maintenance database."""
    url = os.environ.get("RELEXT_BENCH_TEST_POSTGRES")
    if url:
        yield url
        return
    if not server_binary():
        pytest.skip("no PostgreSQL server binary (initdb) on PATH or under /usr/lib/postgresql")
    # Not under pytest's own temporary folder: as root the server runs as `postgres`,
    # which must reach its data directory.
    where = Path(tempfile.mkdtemp(prefix="relext-postgres-"))
    started = subprocess.run([str(ROOT / ".ci" / "postgres"), "start", str(where)], capture_output=True, text=True)
    assert started.returncode == 0, f"could not start PostgreSQL: {started.stderr}"
    yield started.stdout.strip()
    subprocess.run([str(ROOT / ".ci" / "postgres"), "stop", str(where)], capture_output=True)
    shutil.rmtree(where, ignore_errors=True)


def new_database(server_url: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=BACKENDS)
def storage(request, tmp_path) -> str:
    """A fresh, empty storage URL of each backend."""
    if request.param == "journal":
        return f"journal:{tmp_path / 'study.journal'}"
    return new_database(request.getfixturevalue("postgres_server"))
