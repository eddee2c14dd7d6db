"""Every command of the project answers --help (argparse formats each help text: a stray "%" breaks it)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

import mahnwerk

COMMANDS = sorted(
    p.stem
    for p in Path(mahnwerk.__file__).parent.glob("*/management/commands/*.py")
    if not p.stem.startswith("_")
)


def test_the_project_has_its_commands() -> None:
    assert {"run", "audit", "writeoff", "import", "model", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_works(name: str) -> None:
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(name, "--help", stdout=out)
    assert exited.value.code == 0
