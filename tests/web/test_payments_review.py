"""The review page for payments from bank statements."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mahnwerk.ledger.models import Invoice, StatementEntry
from mahnwerk.ledger.statements import import_statements
from tests.integration.test_statement_import import CAMT053, KONTIST, MALFORMED, repaired

URL = "/payments/review/"

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def invoices(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> None:
    ozols = make_debtor("Ozols SIA")
    make_invoice(ozols, "INV-0400", "300.00", "2026-03-05")
    make_invoice(ozols, "INV-0500", "40.00", "2026-03-05")


def test_upload_review_and_decide(bob: Client, company: Any, invoices: None, tmp_path: Path) -> None:
    # a file with an entry that cannot be read is refused as a whole, naming the file and the entry
    upload = SimpleUploadedFile(MALFORMED.name, MALFORMED.read_bytes(), content_type="application/xml")
    page = bob.post(URL, {"action": "import", "files": [upload]}, follow=True).content.decode()
    assert "statement MW-STMT-2026-03-11, entry 2" in page and MALFORMED.name in page
    assert not StatementEntry.objects.exists()
    # the same statement with that entry repaired
    fixed = repaired(tmp_path)
    upload = SimpleUploadedFile(fixed.name, fixed.read_bytes(), content_type="application/xml")
    page = bob.post(URL, {"action": "import", "files": [upload]}, follow=True).content.decode()
    assert "3 entries: 0 matched, 1 to review, 2 ignored" in page
    assert "Erste Zahlerin" in page and "Spende" in page
    gift = StatementEntry.objects.get(status="review")
    response = bob.post(
        URL, {"action": "split", "entry": gift.pk, "shares": "INV-0400=4,00 INV-0500=6.00"}, follow=True
    )
    assert f"Entry #{gift.pk}: matched" in response.content.decode()
    assert Invoice.objects.get(number="INV-0400").open_minor == 29600
    assert Invoice.objects.get(number="INV-0500").open_minor == 3400
    assert "Nothing to review." in bob.get(URL).content.decode()


def test_unknown_account_named_on_the_page(bob: Client, company: Any) -> None:
    upload = SimpleUploadedFile(KONTIST.name, KONTIST.read_bytes())
    page = bob.post(URL, {"action": "import", "files": [upload]}, follow=True).content.decode()
    assert "DE85110101002482488293" in page and KONTIST.name in page


def test_viewer_sees_but_cannot_decide(carol: Client, company: Any, invoices: None) -> None:
    import_statements(company, [CAMT053])
    entry = StatementEntry.objects.get(position="5")
    page = carol.get(URL).content.decode()
    assert f"#{entry.pk}" in page and "Unbekannt Handel KG" in page and 'name="action"' not in page
    assert carol.post(URL, {"action": "ignore", "entry": entry.pk}).status_code == 403
    assert StatementEntry.objects.get(pk=entry.pk).status == "review"


def test_park_ignore_confirm(bob: Client, company: Any, invoices: None) -> None:
    import_statements(company, [CAMT053])
    entry = StatementEntry.objects.get(position="5")
    bob.post(URL, {"action": "park", "entry": entry.pk})
    assert StatementEntry.objects.get(pk=entry.pk).status == "parked"
    assert "parked" in bob.get(URL).content.decode()
    page = bob.post(
        URL, {"action": "confirm", "entry": entry.pk, "invoices": "NOPE"}, follow=True
    ).content.decode()
    assert "Not possible: no invoice NOPE" in page
    bob.post(URL, {"action": "confirm", "entry": entry.pk, "invoices": "INV-0400"})
    assert Invoice.objects.get(number="INV-0400").open_minor == 30000 - 12000 - 6000


def test_other_company_entries_are_not_found(
    company: Any, other_company: Any, make_member: Callable[..., Any], invoices: None
) -> None:
    import_statements(company, [CAMT053])
    entry = StatementEntry.objects.get(position="5")
    dave = Client()
    dave.force_login(make_member("dave", other_company, "collector"))
    assert "Unbekannt Handel KG" not in dave.get(URL).content.decode()
    page = dave.post(URL, {"action": "ignore", "entry": entry.pk}, follow=True).content.decode()
    assert "no statement entry" in page
    assert StatementEntry.objects.get(pk=entry.pk).status == "review"


def test_reasons_are_shown_in_the_readers_language(bob: Client, company: Any, invoices: None) -> None:
    from django.utils import translation

    from mahnwerk.core.money import format_money

    import_statements(company, [CAMT053])
    partial = StatementEntry.objects.get(position="4")  # matched: "INV-0400", a partial payment
    entry = StatementEntry.objects.get(position="5")
    # an older row: its reasons stored as English text
    entry.candidates = partial.candidates
    entry.reasons = [*entry.reasons, "the amount is exactly what invoice INV-0400 has open"]
    entry.save(update_fields=["candidates", "reasons"])
    page = bob.get(URL, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    with translation.override("de"):
        names = translation.gettext("the transfer text names invoice {numbers}").format(numbers="INV-0400")
        open_ = translation.gettext("a partial payment: {open} is open on them").format(
            open=format_money(30000, "EUR", "de")
        )
        nothing = translation.gettext("no invoice number, reference, known IBAN or name matched")
    assert f"{names}; {open_}" in page
    assert f"{nothing}; the amount is exactly what invoice INV-0400 has open" in page
    assert "300,00" in page and "'message'" not in page and "&#x27;message&#x27;" not in page


def test_a_camt_statement_whose_balances_do_not_add_up_imports_with_a_warning(
    bob: Client, company: Any, invoices: None
) -> None:
    from tests.integration.test_statement_completeness import _camt053_closing, _with_balances

    data = _with_balances("1000.00", f"{float(_camt053_closing()) + 1:.2f}")
    upload = SimpleUploadedFile("kontoauszug.xml", data, content_type="application/xml")
    page = bob.post(URL, {"action": "import", "files": [upload]}, follow=True).content.decode()
    assert "kontoauszug.xml: " in page and "the balances do not add up" in page
    assert StatementEntry.objects.count() == 9
