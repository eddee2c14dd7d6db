"""A reminder never claims "interest 0.00" for days without a known rate: it waits for the rate or a person.

German base rate (§ 247 BGB): 1.27 % from 2025-07-01 and 2026-01-01; the half-year from 2026-07-01 is not
in the packaged table. B2B margin 9 pp, act/365, half up to the cent.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.collection.models import Action
from mahnwerk.collection.services import run_collection

from .test_reminder_story import body, sent_messages

D = date.fromisoformat


@pytest.mark.django_db
def test_a_message_claiming_interest_without_a_known_rate_waits_for_approval(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path, settings: Any, tmp_path: Path
) -> None:
    debtor = make_debtor(name="Metallbau Krüger GmbH", language="de")
    make_invoice(debtor, "RE-7001", "1000.00", "2026-06-01", issue="2026-05-02")
    # first reminder on 06-08, "pay by 06-18": in default from 06-19; no interest in this one
    assert run_collection(company, D("2026-06-08")).actions_created == 1
    # the firm reminder is due 14 days later (06-22): its interest 06-19..06-22 is covered by the table
    assert run_collection(company, D("2026-06-22")).actions_created == 1
    # the final notice (14 days later, 07-06) would claim interest for days from 07-01: it waits
    held = run_collection(company, D("2026-07-06"))
    assert held.actions_created == 0 and held.held.get("rate_missing") == 1 and held.awaiting_approval == 1
    assert any("de_basiszinssatz" in w and "2026-07-01" in w and "--approve" in w for w in held.warnings)
    assert Action.objects.filter(as_of=D("2026-07-06")).count() == 0

    # a person approves: the final notice claims the interest up to 06-30 and says that later interest is
    # not included. 06-19..06-30 = 12 days at 1.27 + 9 = 10.27 %: 1000.00 x 0.1027 x 12 / 365 = 3.3764 -> 3.38
    approved = run_collection(company, D("2026-07-06"), approved=True)
    assert approved.actions_created == 1
    final = body(sent_messages(outbox)[-1])
    assert (
        "Verzugszinsen auf RE-7001: 3,38\xa0€ für die Zeit vom 19.06.2026 bis 30.06.2026 aus 1.000,00\xa0€"
        in final
    ), final
    assert (
        "Zinssatz 9 Prozentpunkte über dem Basiszinssatz nach § 247 BGB (derzeit 10,27 % im Jahr)" in final
    ), final
    assert "Verzugszinsen auf RE-7001 ab dem 01.07.2026 sind in diesem Betrag nicht enthalten." in final, (
        final
    )
    assert re.search(r"(?<![\d.,])0,00\xa0€", final) is None  # no amount of nothing anywhere

    # once the rate is added (a made-up 2.00 %), nothing waits: a later step claims every day's interest
    from django.core.management import call_command

    settings.DATA_DIR = tmp_path
    call_command("rates", "add", "de_basiszinssatz", "2026-07-01", "2.00", stdout=io.StringIO())
    from mahnwerk.ledger.claims import interest_gaps

    assert interest_gaps(company, debtor.invoices.values_list("id", flat=True), D("2026-07-20")) == {}


@pytest.mark.django_db
def test_an_item_whose_whole_default_lies_after_the_last_known_rate_says_so(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor = make_debtor(name="Spät GmbH", language="de")
    make_invoice(debtor, "RE-7002", "500.00", "2026-08-03", issue="2026-07-03")
    run_collection(company, D("2026-08-10"), approved=True)  # reminder "pay by 08-20": default from 08-21
    run_collection(company, D("2026-08-24"), approved=True)  # firm reminder: no rate known for any day of it
    firm = body(sent_messages(outbox)[-1])
    # no interest can be computed, and the message says so instead of leaving "0,00 €" unexplained
    assert "Verzugszinsen auf RE-7002 ab dem 21.08.2026 sind in diesem Betrag nicht enthalten." in firm, firm
