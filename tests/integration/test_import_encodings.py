"""A spreadsheet saved as Excel's "Unicode Text" (UTF-16 with its byte-order mark, tab-separated) is read; one
in UTF-16 without the mark is refused saying so, instead of every column being reported missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mahnwerk.ledger.imports import ImportFailed, import_file
from mahnwerk.ledger.models import Debtor

pytestmark = pytest.mark.django_db

TEXT = "number\tname\tcity\nN1\tMüller GmbH\tRīga\nN2\tZwei GmbH\tKöln\n"


def test_excel_unicode_text_is_read(company: Any, tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_bytes(TEXT.encode("utf-16"))  # (with its byte-order mark, as Excel writes it)
    assert import_file(company, "debtors", path).created == 2
    assert Debtor.objects.get(number="N1").name == "Müller GmbH"
    assert Debtor.objects.get(number="N1").city == "Rīga"


def test_utf16_without_its_mark_is_refused_naming_the_encoding(company: Any, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(TEXT.encode("utf-16-le"))
    with pytest.raises(ImportFailed, match="UTF-16 text without a byte-order mark"):
        import_file(company, "debtors", path)
    assert not Debtor.objects.exists()


def test_a_dos_code_page_file_is_refused_naming_the_row(company: Any, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(b"number;name\nD1;M\x81ller GmbH\n")  # cp850's u-umlaut: no Windows-1252 character
    with pytest.raises(ImportFailed) as raised:
        import_file(company, "debtors", path)
    [error] = raised.value.errors
    assert error.row == 2 and "neither UTF-8 nor Windows-1252 text (byte 0x81)" in error.message
    assert not Debtor.objects.exists()
