"""One claim, one set of figures: the email, the letter, the text message, the debtor's page, the clerk's case
file, the statement of account and the API all show the same principal, interest, costs and total.

German B2B, base rate 1.27 % from 2025-07-01 and 2.27 % before: invoice RE-4 of 1,000.00 due 2025-03-03.
Reminder by email on 03-10 "pay by 03-20": default from 03-21 (free); firm reminder 03-24: the 40.00 flat
compensation; final notice on 04-07. Interest 03-21..04-07 = 18 days at 2.27 + 9 = 11.27 %:
1000.00 x 0.1127 x 18 / 365 = 5.5578 -> 5.56. Total 1,000.00 + 5.56 + 40.00 = 1,045.56.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine
from pypdf import PdfReader

from mahnwerk.collection.services import run_collection
from mahnwerk.comms.documents import letter_context
from mahnwerk.comms.letters import render_letter_pdf
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.comms.rendering import message_item, render_reminder
from mahnwerk.ledger.claims import claim_views, statement
from tests.integration.test_api import Api, _member

D = date.fromisoformat
TOTAL_DE, INTEREST_DE, COSTS_DE = "1.045,56", "5,56", "40,00"


@pytest.mark.django_db
def test_every_channel_shows_the_same_figures(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, client: Any
) -> None:
    debtor = make_debtor(name="Metallbau Krüger GmbH", language="de")
    invoice = make_invoice(debtor, "RE-4", "1000.00", "2025-03-03", issue="2025-02-01")
    for day in ("2025-03-10", "2025-03-24"):
        run_collection(company, D(day))
    with time_machine.travel("2025-04-07 10:00 +0000", tick=False):
        run_collection(company, D("2025-04-07"))
        final = OutboundMessage.objects.filter(debtor=debtor).latest("id")

        # the statement of account and the API: the figures in minor units
        line = statement(company, debtor.pk, "business", D("2025-04-07"))["lines"][0]
        assert (line["principal_open_minor"], line["interest_open_minor"], line["fees_open_minor"]) == (
            1000_00,
            556,
            4000,
        )
        api = Api(client, _member(company, "anna", "admin")).get(f"debtors/{debtor.pk}/statement").json()
        assert api["totals"]["EUR"]["total_open_minor"] == 1045_56
        assert api["lines"][0]["interest_open_minor"] == 556 and api["lines"][0]["fees_open_minor"] == 4000

        # the email: the table, the total and the explanation per invoice
        text = final.body_text
        assert f"Offener Gesamtbetrag: {TOTAL_DE}\xa0€" in text, text
        row = next(r for r in text.splitlines() if r.startswith("RE-4"))
        assert all(f"{v}\xa0€" in row for v in ("1.000,00", INTEREST_DE, COSTS_DE, TOTAL_DE)), row
        assert (
            f"Verzugszinsen auf RE-4: {INTEREST_DE}\xa0€ für die Zeit vom 21.03.2025 bis 07.04.2025" in text
        )
        assert f"Kosten zu RE-4: Verzugspauschale {COSTS_DE}\xa0€." in text

        # the same message as a letter, read back from the PDF
        pdf = "\n".join(
            p.extract_text() for p in PdfReader(io.BytesIO(render_letter_pdf(letter_context(final)))).pages
        )
        flat = re.sub(r"\s+", " ", pdf)
        assert TOTAL_DE in flat and INTEREST_DE in flat and COSTS_DE in flat, flat

        # a text message for the same items carries the same total
        invoice.refresh_from_db()  # the reminders moved its default start
        claims = claim_views(company, [invoice], {debtor.pk: "business"}, D("2025-04-07"))
        items = [message_item(invoice, claims[invoice.pk], invoice.open_minor)]
        sms = render_reminder(
            company, debtor, "final_notice", items, D("2025-04-14"), D("2025-04-07"), kind="sms"
        )
        assert f"{TOTAL_DE} €" in sms.body_text, sms.body_text  # GSM 03.38: a plain space

        # the debtor's own page (the link in the email) and the clerk's case file
        link = re.search(r"http://[^\s]+/portal/[^\s]+", text)
        assert link is not None
        page = client.get(link.group(0).split("localhost:8000", 1)[-1]).content.decode()
        for value in (TOTAL_DE, INTEREST_DE, COSTS_DE):
            assert f"{value}\xa0€" in page, value
        assert "Verzugszinsen auf RE-4" in page
