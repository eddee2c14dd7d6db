"""A partner's status file that is not UTF-8 text (a spreadsheet saved as Latin-1 or UTF-16) is refused with its
name, not with a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mahnwerk.partners import services


@pytest.mark.parametrize(
    "content", ["debtor;status;date\nK1;geschlossen ä;2025-04-05\n".encode("latin-1"), b"\xff\xfe"]
)
def test_a_status_file_that_is_not_utf8_is_refused_by_name(content: bytes) -> None:
    with pytest.raises(services.PartnerError, match=r"status\.csv: not UTF-8 text"):
        services.read_status_file(content, "status.csv", "EUR")


@pytest.mark.django_db
def test_the_command_reports_it_as_an_error(company: Any, tmp_path: Path) -> None:
    path = tmp_path / "status.csv"
    path.write_bytes(b"\xff\xfed\x00e\x00")
    with pytest.raises(CommandError, match="not UTF-8 text"):
        call_command("partner", "import-status", str(path))
