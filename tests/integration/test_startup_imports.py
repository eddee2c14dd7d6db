"""The ``mahnwerk`` command starts without the heavy libraries: numpy, scikit-learn, WeasyPrint and the others are
imported by the functions that need them, not by importing the command, setting Django up or its system checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mahnwerk.cli import READ_ONLY_COMMANDS, without_checks_when_reading

HEAVY = ("numpy", "sklearn", "weasyprint", "pandas", "scipy", "pypdf", "openpyxl", "lxml")


def loaded_after(code: str, data_dir: Path) -> list[str]:
    env = dict(os.environ, MAHNWERK_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="mahnwerk.settings")
    env.pop("MAHNWERK_DATABASE_URL", None)
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    assert loaded_after("import numpy", tmp_path) == ["numpy"]


def test_importing_the_command_loads_no_heavy_library(tmp_path: Path) -> None:
    assert loaded_after("import mahnwerk.cli", tmp_path) == []


def test_django_setup_and_system_checks_load_no_heavy_library(tmp_path: Path) -> None:
    code = "import mahnwerk.cli, django\ndjango.setup()\nfrom django.core import checks\nchecks.run_checks()"
    assert loaded_after(code, tmp_path) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["debtor", "show", "K1"], ["debtor", "--skip-checks", "show", "K1"]),
        (["outbox", "list", "--json"], ["outbox", "--skip-checks", "list", "--json"]),
        (["statement", "K1"], ["statement", "--skip-checks", "K1"]),
        (["outbox", "send"], ["outbox", "send"]),
        (["run", "--dry-run"], ["run", "--dry-run"]),
        (["outbox", "--status", "failed", "list"], ["outbox", "--status", "failed", "list"]),
        (["debtor", "show", "--help"], ["debtor", "show", "--help"]),
        (["debtor", "--skip-checks", "show", "K1"], ["debtor", "--skip-checks", "show", "K1"]),
        ([], []),
    ],
)
def test_only_reading_commands_skip_the_system_checks(argv: list[str], expected: list[str]) -> None:
    assert without_checks_when_reading(argv) == expected


def test_every_read_only_command_exists() -> None:
    import django

    django.setup()
    from django.core.management import get_commands

    commands = get_commands()
    assert sorted(n for n in READ_ONLY_COMMANDS if n not in commands) == []
