"""The agency sees which items of a handover are time-barred: claims.csv and claims.json flag each item with
the last day it can be enforced (worked example: tests/scenarios/test_court_time_barred.py)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from .test_court_time_barred import ON, german_debtor


@pytest.mark.django_db
def test_the_agencys_claims_csv_flags_each_time_barred_item(
    company: Any, make_debtor: Any, make_invoice: Any, settings: Any, tmp_path: Path
) -> None:
    from mahnwerk.partners import services

    german = german_debtor(make_debtor, make_invoice)
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        }
    }
    services.add_partner(company, "Inkasso Nord", "agency", services.Decimal("15"))
    out = tmp_path / "dossier.zip"
    call_command("handover", german.number, "--partner", "Inkasso Nord", "--date", ON, "--out", str(out))
    with zipfile.ZipFile(out) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("claims.csv").decode("utf-8-sig"))))
        claims = json.loads(zf.read("claims.json"))
        pages = PdfReader(io.BytesIO(zf.read("summary.pdf"))).pages
        summary = " ".join(" ".join(p.extract_text() for p in pages).split())
    *lines, total = rows
    assert [(r["invoice"], r["time_barred_after"], r["time_barred"]) for r in lines] == [
        ("RE-1", "2024-12-31", "yes"),
        ("RE-2", "2028-12-31", "no"),
    ]
    assert (total["invoice"], total["time_barred"]) == ("TOTAL", "")
    by_number = {c["invoice"]: c for c in claims["claims"]}
    assert by_number["RE-1"]["time_barred"] is True and by_number["RE-1"]["time_barred_after"] == "2024-12-31"
    assert by_number["RE-2"]["time_barred"] is False
    assert claims["time_barred_total_minor"] == by_number["RE-1"]["total_open_minor"]
    # the summary in the company's language (German) says it too, for RE-1 only
    assert "verjährt nach 2024-12-31" in summary and "2028-12-31" not in summary
