"""Statement uploads on the review page: any file name the browser sends, refused files as a message."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mahnwerk.ledger.models import BankStatement, StatementEntry
from tests.integration.test_statement_import import CAMT053, MALFORMED

URL = "/payments/review/"

pytestmark = [pytest.mark.django_db]


def test_a_long_file_name_is_imported_and_named(bob: Client, company: Any) -> None:
    name = "a" * 250 + ".xml"  # longer than a file name may be on disk
    upload = SimpleUploadedFile(name, CAMT053.read_bytes(), content_type="application/xml")
    response = bob.post(URL, {"action": "import", "files": [upload]}, follow=True)
    assert response.status_code == 200
    assert "9 entries:" in response.content.decode()
    assert StatementEntry.objects.count() == 9
    assert BankStatement.objects.get().file_name == name[:255]


def test_an_odd_name_that_fails_is_named_as_sent(bob: Client, company: Any) -> None:
    name = "Auszug März ../" + "b" * 240 + ".xml"
    upload = SimpleUploadedFile(name, MALFORMED.read_bytes(), content_type="application/xml")
    response = bob.post(URL, {"action": "import", "files": [upload]}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "b" * 240 + ".xml: refused, nothing imported" in page and "CdtDbtInd" in page
    assert " entries:" not in page  # no summary for a file refused
    assert not StatementEntry.objects.exists() and not BankStatement.objects.exists()
