import os
import subprocess
import sys
from pathlib import Path

import pytest

from mahnwerk import env


def test_readers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MW_T_BOOL", "yes")
    monkeypatch.setenv("MW_T_INT", "42")
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("MW_T_SECRET_FILE", str(secret))
    assert env.boolean("MW_T_BOOL", False) is True
    assert env.integer("MW_T_INT", 1, minimum=1) == 42
    assert env.raw("MW_T_SECRET") == "s3cr3t"
    assert env.string("MW_T_UNSET", "fallback") == "fallback"


@pytest.mark.parametrize(
    ("name", "value", "call"),
    [
        ("MW_T_BOOL", "maybe", lambda: env.boolean("MW_T_BOOL", False)),
        ("MW_T_INT", "12x", lambda: env.integer("MW_T_INT", 1)),
        ("MW_T_INT", "0", lambda: env.integer("MW_T_INT", 1, minimum=1)),
        ("MW_T_TZ", "Mars/Olympus", lambda: env.time_zone("MW_T_TZ", "UTC")),
        ("MW_T_DB", "mysql://x/y", lambda: env.database_url("MW_T_DB", "sqlite:///x")),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, call: object
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(env.ImproperlyConfiguredEnv, match=name):
        call()  # type: ignore[operator]


def test_start_up_stops_with_a_message_naming_the_variable(tmp_path: Path) -> None:
    environ = os.environ | {
        "MAHNWERK_DATA_DIR": str(tmp_path),
        "MAHNWERK_SMTP_HOST": "localhost",
        "MAHNWERK_SMTP_PORT": "not-a-port",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mahnwerk", "check"], env=environ, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "MAHNWERK_SMTP_PORT" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_tests_write_into_a_data_directory_of_their_own() -> None:
    """Outbox, letters, documents, rates and models of the tests never land in the checkout's ./data."""
    from django.conf import settings

    checkout_data = Path("data").resolve()
    for folder in (settings.DATA_DIR, settings.OUTBOX_DIR, settings.DOCUMENTS_DIR):
        assert not Path(folder).resolve().is_relative_to(checkout_data), folder
    assert (
        not Path(settings.STORAGES["default"]["OPTIONS"]["location"]).resolve().is_relative_to(checkout_data)
    )
