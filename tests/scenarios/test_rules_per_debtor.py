"""The law of the debtor: each debtor's claims, fees, contact window and notices follow its own rule set.

A consumer gets the consumer-protection rules of the country of residence (Rome I art. 6), a business the
law of its contract — the debtor's jurisdiction, by default the creditor's. The creditor here is German.

Rates: German base rate 2.27 % from 2025-01-01 (B2C + 5 pp = 7.27 %, B2B + 9 pp = 11.27 %); Latvian
consumers 6 % a year; Latvian commercial late payment: reference rate 3.15 % (1st half of 2025) + 8 pp =
11.15 %. Interest = principal x rate x days / 365, rounded half up to the cent.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation

from mahnwerk.collection.services import run_collection
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.core.rulesets import LawReason, applicable_law
from mahnwerk.ledger.claims import debtor_law, law_text, statement
from mahnwerk.ledger.models import Charge

D = date.fromisoformat


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("kind", "country", "contract", "expected", "reason"),
    [
        ("consumer", "LV", "DE", "LV", LawReason.RESIDENCE),
        ("consumer", "de", "LV", "DE", LawReason.RESIDENCE),
        ("consumer", "EE", "DE", "EU", LawReason.RESIDENCE),  # another EU state: the EU rules
        ("consumer", "NO", "DE", "EU", LawReason.RESIDENCE),  # EEA
        ("consumer", "US", "DE", "US", LawReason.RESIDENCE),
        ("consumer", "", "LV", "LV", LawReason.CONTRACT),  # no country given: the debtor's jurisdiction
        ("consumer", "", "", "DE", LawReason.CREDITOR),
        ("consumer", "CH", "DE", "DE", LawReason.NO_RULES_FOR_RESIDENCE),  # no rule set for Switzerland
        ("business", "LV", "DE", "DE", LawReason.CREDITOR),  # a business: the contract, not the seat
        ("business", "DE", "LV", "LV", LawReason.CONTRACT),
        ("business", "", "", "DE", LawReason.CREDITOR),
    ],
)
def test_which_rules_apply(kind: str, country: str, contract: str, expected: str, reason: LawReason) -> None:
    law = applicable_law(kind, country=country, contract=contract, creditor="DE")
    assert (law.jurisdiction, law.debtor_kind, law.reason) == (expected, kind, reason)


@pytest.mark.django_db
def test_a_latvian_consumer_of_a_german_creditor_gets_latvian_rules_a_german_one_german_rules(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    import time_machine

    # imported by the German creditor: the contract's jurisdiction is Germany, the residence Latvia
    janis = make_debtor(
        name="Jānis Bērziņš",
        language="lv",
        kind="consumer",
        jurisdiction="DE",
        country="LV",
        time_zone="Europe/Riga",
    )
    jonas = make_debtor(name="Jonas Becker", language="de", kind="consumer", jurisdiction="DE", country="DE")
    law = debtor_law(company, janis)
    assert (law.jurisdiction, law.reason) == ("LV", LawReason.RESIDENCE)
    with translation.override("en"):
        assert law_text(law) == "Latvia (consumer resident in LV)"
        assert law_text(debtor_law(company, jonas)) == "Germany (consumer resident in DE)"

    lv_item = make_invoice(janis, "R-7", "200.00", "2025-03-02", issue="2025-02-02")
    de_item = make_invoice(jonas, "R-8", "200.00", "2025-03-02", issue="2025-02-02")
    # Latvia: the due date on the invoice puts the consumer in default the day after; Germany: a consumer
    # only by a reminder (the invoice carried no notice of the 30-day rule)
    assert lv_item.default_from == D("2025-03-03")
    assert de_item.default_from is None

    # the first reminder falls on Sunday 9 March 2025 (due + 7), at 12:00 in Riga
    sunday_noon = datetime(2025, 3, 9, 10, 0, tzinfo=UTC)
    with time_machine.travel(sunday_noon, tick=False):
        result = run_collection(company, D("2025-03-09"), now=sunday_noon)
    assert result.messages_queued == 2 and result.deferred == 1
    to_janis = OutboundMessage.objects.get(debtor=janis)
    to_jonas = OutboundMessage.objects.get(debtor=jonas)
    # no contact on Sundays in Latvia: Monday 10 March 08:00 in Riga (UTC+2) is the earliest moment
    assert to_janis.not_before == datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
    assert to_jonas.not_before is None  # Germany has no such window
    assert janis.timeline.filter(kind="message_deferred").count() == 1
    # the first written notice states the 21 days to object (Debt Recovery Law); the German one does not
    assert "21 dienu laikā no šī paziņojuma saņemšanas" in one_line(to_janis.body_text)
    german_words = re.sub(
        r"\S*://\S*", "", to_jonas.body_text.replace("2025", "")
    )  # the link's token is random
    assert not re.search(r"\b21\b", german_words) and "Widerspruch" not in german_words
    # ... how, where and by when: an email is received the day it is sent (03-09), which may be as late as
    # the outbox keeps trying (3 days): + 21 days = 2 April, never fewer than 21 days from receipt
    text = one_line(to_janis.body_text)
    assert "līdz 02.04.2025" in text and "Hauptstraße 1, 10115 Berlin" in text, text
    # and it asks for payment no sooner than the time to object has run (21 days + 7 postal days: 6 April)
    assert janis.actions.get().deadline == D("2025-04-06")
    assert jonas.actions.get().deadline == D("2025-03-19")  # the step's own 10 days

    # 21 days to object from receipt + 7 days for postal receipt: the notice asks for payment by 6 April,
    # nothing further before 7 April
    for day in ("2025-03-23", "2025-04-06"):
        run_collection(company, D(day))
    assert janis.actions.count() == 1
    assert jonas.actions.count() == 3  # the firm reminder on 03-23 (+14), the final notice on 04-06
    run_collection(company, D("2025-04-07"))
    assert janis.actions.count() == 2
    run_collection(company, D("2025-04-21"))
    assert janis.actions.count() == 3
    # the final notice books the last 3.00 of the 17.00 cap: it threatens no further costs
    final = one_line(OutboundMessage.objects.filter(debtor=janis).latest("id").body_text)
    assert "papildu izdevumi Jums netiks prasīti" in final and "izmaksas un likumiskie" not in final, final

    def fees(debtor: Any) -> list[int]:
        return list(
            Charge.objects.filter(debtor=debtor)
            .order_by("booked_on", "id")
            .values_list("amount_minor", flat=True)
        )

    # Latvian caps (Cabinet Reg. 61/2013): first notice 7.00, further actions 10.00 together (7.00 + 3.00)
    assert fees(janis) == [700, 700, 300]
    # German consumer: reminder fees only at actual cost (BGH VIII ZR 95/18); his reminders are emails,
    # which cost nothing: no fee at all (the first one, which puts him in default, would be free anyway)
    assert fees(jonas) == []

    # Latvian 6 %: 03-03..04-07 = 36 days: 200.00 x 0.06 x 36 / 365 = 1.1836 -> 1.18
    line = statement(company, janis.pk, "consumer", D("2025-04-07"))["lines"][0]
    assert (line["interest_open_minor"], line["fees_open_minor"]) == (118, 1400)
    # 03-03..04-21 = 50 days: 200.00 x 0.06 x 50 / 365 = 1.6438 -> 1.64
    data = statement(company, janis.pk, "consumer", D("2025-04-21"))
    assert (data["lines"][0]["interest_open_minor"], data["lines"][0]["fees_open_minor"]) == (164, 1700)
    assert data["rules"]["jurisdiction"] == "LV" and data["rules"]["reason"] == "residence"
    # German 7.27 % from the day after the first reminder's deadline (emailed 03-09, "pay by 03-19"):
    # 03-20..04-06 = 12 + 6 = 18 days: 200.00 x 0.0727 x 18 / 365 = 0.7170 -> 0.72; no fees
    line = statement(company, jonas.pk, "consumer", D("2025-04-06"))["lines"][0]
    assert (line["interest_open_minor"], line["fees_open_minor"]) == (72, 0)


@pytest.mark.django_db
def test_a_business_follows_the_law_set_for_it_else_the_creditors(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    # a Latvian company whose contract follows Latvian law, and one (also in Latvia) whose contract
    # follows the creditor's law: a business's seat alone does not change the law
    ozols = make_debtor(name='SIA "Ozols"', language="lv", jurisdiction="LV", country="LV")
    kalns = make_debtor(name='SIA "Kalns"', language="lv", jurisdiction="DE", country="LV")
    assert debtor_law(company, ozols).reason is LawReason.CONTRACT
    assert debtor_law(company, kalns).reason is LawReason.CREDITOR
    with translation.override("en"):
        assert law_text(debtor_law(company, ozols)) == "Latvia (contract law set for this debtor)"

    lv_item = make_invoice(ozols, "R-1", "1000.00", "2025-03-03", issue="2025-02-01")
    de_item = make_invoice(kalns, "R-2", "1000.00", "2025-03-03", issue="2025-02-01")
    # Latvian B2B: in default the day after the due date; German B2B: 30 days after due date and receipt
    assert (lv_item.default_from, lv_item.default_rule) == (D("2025-03-04"), "calendar_due_date")
    assert de_item.default_from == D("2025-04-03")
    # limitation: Latvian commercial claims 3 years from the due date; German: end of the third year
    assert lv_item.time_barred_on == D("2028-03-03")
    assert de_item.time_barred_on == D("2028-12-31")

    run_collection(company, D("2025-03-10"))  # the first reminder (due + 7), a Monday
    # Latvia: in default since 03-04, the 40.00 compensation is due at once (no reminder fee in the rule set);
    # Germany: this reminder puts the debtor in default and carries nothing yet
    assert list(Charge.objects.filter(debtor=ozols).values_list("kind", "amount_minor")) == [
        ("flat_compensation", 4000)
    ]
    assert not Charge.objects.filter(debtor=kalns).exists()

    # Latvian 11.15 %, 03-04..03-31 = 28 days: 1000.00 x 0.1115 x 28 / 365 = 8.5534 -> 8.55
    lv = statement(company, ozols.pk, "business", D("2025-03-31"))
    assert lv["lines"][0]["interest_open_minor"] == 855
    # German 11.27 % from the day after the reminder's deadline (emailed 03-10, "pay by 03-20"),
    # 03-21..03-31 = 11 days: 1000.00 x 0.1127 x 11 / 365 = 3.3964 -> 3.40
    de = statement(company, kalns.pk, "business", D("2025-03-31"))
    assert de["lines"][0]["interest_open_minor"] == 340
    assert (de["rules"]["jurisdiction"], de["rules"]["reason"]) == ("DE", "creditor")


@pytest.mark.django_db
def test_the_case_file_the_cli_and_the_api_say_which_rules_apply(
    company: Any, make_debtor: Any, outbox: Path
) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from mahnwerk.web.models import Membership

    janis = make_debtor(
        name="Jānis Bērziņš",
        number="K0100",
        language="lv",
        kind="consumer",
        country="LV",
        time_zone="Europe/Riga",
    )
    user = get_user_model().objects.create_user(username="alice", password="x" * 12)
    Membership.objects.create(user=user, company=company, role="admin")
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    html = client.get(f"/debtors/{janis.pk}/").content.decode()
    assert "Rules: Latvia (consumer resident in LV)" in one_line(html)

    out = StringIO()
    with translation.override("en"):
        call_command("debtor", "show", "K0100", "--company", "acme", stdout=out)
    assert "Rules: Latvia (consumer resident in LV)" in out.getvalue()
    out = StringIO()
    call_command("debtor", "show", "K0100", "--company", "acme", "--json", stdout=out)
    rules = json.loads(out.getvalue())["rules"]
    assert {k: rules[k] for k in ("jurisdiction", "debtor_kind", "reason", "country")} == {
        "jurisdiction": "LV",
        "debtor_kind": "consumer",
        "reason": "residence",
        "country": "LV",
    }


@pytest.mark.django_db
def test_a_latvian_consumers_first_notice_is_written_even_when_text_messages_are_preferred(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.ledger.models import Contact

    # The Debt Recovery Law wants the first notice as a letter or an email, stating the time to object; a text
    # message cannot carry that, so it must not start the 21 days (nor earn the first-notice fee).
    ilze = make_debtor(
        name="Ilze Kalniņa",
        language="lv",
        kind="consumer",
        jurisdiction="DE",
        country="LV",
        time_zone="Europe/Riga",
        preferred_channel="sms",
    )
    Contact.objects.create(debtor=ilze, kind="phone", value="+371 2000 0000", is_primary=True)
    make_invoice(ilze, "R-9", "200.00", "2025-03-03", issue="2025-02-03")
    run_collection(company, D("2025-03-10"))  # Monday: the first reminder
    first = OutboundMessage.objects.get(debtor=ilze)
    assert first.channel == "email"  # not the preferred SMS
    assert "21 dienu laikā no šī paziņojuma saņemšanas" in one_line(first.body_text)
    # after the time to object (the notice asks for payment by 7 April), the next step goes the way the
    # customer prefers
    assert first.action is not None and first.action.deadline == D("2025-04-07")
    run_collection(company, D("2025-04-08"))
    later = OutboundMessage.objects.filter(debtor=ilze).order_by("id").last()
    assert later is not None and later.channel == "sms"
