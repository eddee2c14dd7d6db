"""A text message stays within its budget of two parts also for a customer with many invoices and a company
with a name of some length: the invoice list is shortened to the first "and N more", then to the count alone."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mahnwerk.comms.rendering import MessageItem, reminder_context
from mahnwerk.comms.templates_store import SMS_MAX_SEGMENTS, TemplateSource, read_shipped, render_source
from mahnwerk.core.sms import analyse_sms
from mahnwerk.ledger.models import Debtor

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["lv", "de", "en"])
@pytest.mark.parametrize("name", ["reminder", "firm_reminder", "final_notice"])
def test_many_invoices_and_a_long_company_name_fit_in_two_parts(
    company: Any, language: str, name: str
) -> None:
    company.name = "Muster Werkzeughandel GmbH"  # the demo company, whose Latvian texts took three parts
    company.save()
    debtor = Debtor(company=company, number="K10023", name="Baltic Timber Trading SIA", language=language)
    items = [
        MessageItem(
            f"RE-2026-{n:05d}", date(2026, 9, 1), date(2026, 10, 1), 123_456 + n, "EUR", f"RE-2026-{n:05d}"
        )
        for n in range(5)
    ]
    context = reminder_context(company, debtor, items, date(2026, 12, 3), date(2026, 11, 19), language)
    subject, body, _path = read_shipped(name, "any", language, "sms")
    source = TemplateSource(name, "any", language, "sms", subject, body, "shipped")
    text = render_source(source, company, debtor, context).body_text
    assert analyse_sms(text).segments <= SMS_MAX_SEGMENTS, (len(text), text)
    assert "03.12.2026" in text or "3 Dec 2026" in text or "03/12/2026" in text, text  # the deadline stays
