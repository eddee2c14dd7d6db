"""A fresh data directory: every command that needs the tables says in one line to run ``mahnwerk migrate``
(no traceback, nothing done); help and the migration commands work; ``serve`` refuses to start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

INSTRUCTION = "run 'mahnwerk migrate' first"


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    env = os.environ | {"MAHNWERK_DATA_DIR": str(tmp_path / "data")}
    env.pop("MAHNWERK_DATABASE_URL", None)
    return env


def mahnwerk(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mahnwerk", *args], env=environ, capture_output=True, text=True, timeout=120
    )


def assert_one_line_instruction(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("mahnwerk: the database is not migrated (") and INSTRUCTION in lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ("company", "list"),
        (
            "company",
            "create",
            "acme",
            "--name",
            "Acme",
            "--country",
            "DE",
            "--iban",
            "DE89370400440532013000",
        ),
        ("user", "list"),
        ("run", "--dry-run"),
        ("debtor", "show", "K1"),
        ("outbox", "list"),
        ("demo", "--debtors", "5"),
        ("worker", "--once"),
        ("serve", "--port", "0"),
        ("createsuperuser", "--noinput", "--username", "root"),
    ],
)
def test_a_command_on_a_fresh_data_dir_names_the_command_to_run(
    environ: dict[str, str], args: tuple[str, ...]
) -> None:
    assert_one_line_instruction(mahnwerk(environ, *args))


def test_help_and_the_migration_commands_need_no_tables(environ: dict[str, str]) -> None:
    for args in (
        ("--help",),
        ("help", "run"),
        ("company", "--help"),
        ("user", "add", "--help"),
        ("--version",),
    ):
        proc = mahnwerk(environ, *args)
        assert proc.returncode == 0 and INSTRUCTION not in proc.stderr, (args, proc.stderr)
    assert mahnwerk(environ, "check").returncode == 0
    assert mahnwerk(environ, "makemigrations", "--check", "--dry-run").returncode == 0
    assert mahnwerk(environ, "showmigrations", "ledger").returncode == 0


def test_after_migrate_the_commands_work_and_a_partial_migration_is_noticed(environ: dict[str, str]) -> None:
    assert mahnwerk(environ, "migrate", "contenttypes", "-v0").returncode == 0
    partial = mahnwerk(environ, "company", "list")
    assert_one_line_instruction(partial)
    assert mahnwerk(environ, "migrate", "-v0").returncode == 0
    ready = mahnwerk(environ, "company", "list")
    assert ready.returncode == 0 and "No company yet" in ready.stdout and ready.stderr == ""


def test_serve_itself_refuses_an_unmigrated_database(environ: dict[str, str]) -> None:
    """Also when started without the ``mahnwerk`` entry point (``django-admin``, ``call_command``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'mahnwerk.settings'; django.setup(); "
        "from django.core.management import execute_from_command_line; "
        f"execute_from_command_line(['django-admin', 'serve', '--port', '{port}'])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        next(line for line in proc.stderr.splitlines() if INSTRUCTION in line)
    ]
    with socket.socket() as s:  # nothing listens: the server never started
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_an_unreachable_database_is_one_line_too(environ: dict[str, str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing answers there
    environ = environ | {"MAHNWERK_DATABASE_URL": f"postgres://nobody:secret@127.0.0.1:{port}/mahnwerk"}
    proc = mahnwerk(environ, "company", "list")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mahnwerk: cannot use the database:"), proc.stderr
    assert "secret" not in proc.stderr
