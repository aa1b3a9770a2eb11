"""A storage URL's password never reaches a message, a report or a record, whatever the URL's form."""
import pytest

from relext_bench.cli import main
from relext_bench.errors import UserError
from relext_bench.experiments.tune import open_storage, public_url

URLS = [
    "postgresql://u:hunter2@host/db",
    "postgresql://u:hun@ter2@host:5432/db",  # an unescaped '@' in the password
    "postgresql+psycopg://u:hun%40ter2@host/db",  # an escaped one
    "postgresql://host/db?user=u&password=hunter2",
    "postgresql://host/db?user=u&PASSWORD=hunter2&sslmode=require",
    "postgresql://u:hunter2@/db?host=/run/postgresql",
    "mysql://u:hunter2@host/db",
    "postgresql:hunter2",  # not a URL at all
]


@pytest.mark.parametrize("url", URLS)
def test_public_form_has_no_password(url):
    shown = public_url(url)
    assert "hunter2" not in shown and "ter2" not in shown and "hun" not in shown


@pytest.mark.parametrize("url", URLS)
def test_a_storage_that_cannot_be_opened_is_one_line_without_the_password(tmp_path, url):
    with pytest.raises(UserError) as caught:
        open_storage(url, tmp_path)
    message = str(caught.value)
    assert "hunter2" not in message and "hun@ter2" not in message and "%40ter2" not in message
    assert message.startswith("--storage ") and "\n" not in message


def test_tune_prints_no_password(tmp_path, capsys):
    assert main(["tune", "--corpus", "synth_zh:documents=6", "--model", "cnn", "--trials", "1",
                 "--storage", "postgresql://host/db?user=u&password=hunter2", "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "hunter2" not in captured.err + captured.out and "password=***" in captured.err


def test_a_missing_driver_and_an_unreachable_server_are_named_without_the_password(tmp_path):
    with pytest.raises(UserError) as missing:  # pg8000 is not installed
        open_storage("postgresql+pg8000://u:hunter2@127.0.0.1:1/studies", tmp_path)
    assert str(missing.value).startswith("--storage postgresql+pg8000://127.0.0.1:1/studies: ")
    assert "driver" in str(missing.value) and "hunter2" not in str(missing.value)
    with pytest.raises(UserError) as unreachable:  # nothing listens on port 1
        open_storage("postgresql://u:hunter2@127.0.0.1:1/studies", tmp_path)
    message = str(unreachable.value)
    assert message.startswith("--storage postgresql://127.0.0.1:1/studies: ") and "\n" not in message
    assert "hunter2" not in message
