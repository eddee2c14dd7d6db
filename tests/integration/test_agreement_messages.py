"""Every agreement message renders in every language, with a subject line and the figures it must state."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mahnwerk.comms.agreement_messages import render_agreement_message, schedule_table

D = date.fromisoformat
SCHEDULE = [(0, D("2026-04-01"), 14500, 14500), (1, D("2026-05-01"), 30000, 0)]

EXTRAS: dict[str, dict[str, Any]] = {
    "promise_confirmation": {"amount": (20000, "EUR"), "promised_date": D("2026-03-25")},
    "promise_thanks": {"paid": (20000, "EUR")},
    "plan_agreement": {
        "schedule": lambda language: schedule_table(SCHEDULE, "EUR", language),
        "plan_total": (44500, "EUR"),
        "costs": (4500, "EUR"),
        "confirm_by": D("2026-04-01"),
        "grace_days": 5,
    },
    "plan_confirmed": {
        "schedule": lambda language: schedule_table(SCHEDULE, "EUR", language),
        "plan_total": (44500, "EUR"),
        "grace_days": 5,
    },
    "instalment_reminder": {
        "overdue": "yes",
        "instalment": 1,
        "amount": (30000, "EUR"),
        "due": D("2026-05-01"),
        "last_day": D("2026-05-06"),
        "schedule": lambda language: schedule_table(SCHEDULE, "EUR", language),
    },
    "plan_breach": {
        "instalment": 1,
        "missed_due": D("2026-05-01"),
        "missed_amount": (30000, "EUR"),
        "deadline": D("2026-05-14"),
    },
    "dispute_rejected": {
        "reason": lambda language: "X",
        "resolution": "Lieferschein 4711",
        "credited": (5000, "EUR"),
        "deadline": D("2026-04-10"),
    },
    "settlement_offer": {"amount": (60000, "EUR"), "saving": (40000, "EUR"), "deadline": D("2026-04-10")},
    "incentive_offer": {
        "kind": "discount",
        "offer": lambda language: "X",
        "required": (97000, "EUR"),
        "discount": (3000, "EUR"),
        "deadline": D("2026-04-10"),
    },
}
# what each message must state, per language: money and dates as the debtor reads them
AMOUNTS = {
    "de": {
        "promise_confirmation": "200,00\xa0€",
        "plan_breach": "14.05.2026",
        "settlement_offer": "400,00\xa0€",
    },
    "lv": {
        "promise_confirmation": "200,00\xa0€",
        "plan_breach": "14.05.2026.",
        "settlement_offer": "400,00\xa0€",
    },
    "en": {"promise_confirmation": "€200.00", "plan_breach": "14 May 2026", "settlement_offer": "€400.00"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["de", "lv", "en"])
@pytest.mark.parametrize("template", sorted(EXTRAS))
def test_agreement_messages_render(
    company: Any, make_debtor: Any, make_invoice: Any, template: str, language: str
) -> None:
    debtor = make_debtor(language=language)
    invoice = make_invoice(debtor, "RE-77", "1000.00", "2026-03-10")
    rendered = render_agreement_message(
        company, debtor, template, [invoice], D("2026-03-20"), **EXTRAS[template]
    )
    assert rendered.subject and "{{" not in rendered.body_text and "{%" not in rendered.body_text
    # The debtor is a business: greeted without its name, never like a person.
    assert debtor.name not in rendered.body_text.splitlines()[0] and company.name in rendered.body_text
    if template in AMOUNTS[language]:
        assert AMOUNTS[language][template] in rendered.body_text
    if "schedule" in EXTRAS[template]:
        assert {"de": "Anzahlung", "lv": "Pirmā iemaksa", "en": "Down payment"}[
            language
        ] in rendered.body_text
    if template in (
        "plan_agreement",
        "dispute_rejected",
        "settlement_offer",
        "incentive_offer",
        "plan_breach",
    ):
        assert "DE89 3704 0044 0532 0130 00" in rendered.body_text  # the bank details to pay to
