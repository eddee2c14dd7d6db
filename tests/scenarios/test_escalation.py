"""Escalation at the end of the ladder, the court data and the evidence bundle, with hand-computed figures.

The default playbook: reminder at due + 7 (pay within 10 days), firm reminder 14 days later (10 days), final
notice 14 days later (7 days), by email. German base rate 2.27 % from 2025-01-01, 1.27 % from 2025-07-01:
business debtors 11.27 % / 10.27 %.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from mahnwerk.collection.services import run_collection
from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.models import Debtor, TimelineEvent

D = date.fromisoformat


def walk_the_ladder(company: Any, start: str, days: int) -> None:
    day = D(start)
    for _ in range(days):
        run_collection(company, day, approved=True)
        day += timedelta(days=1)


def run_json(*args: str) -> Any:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_an_account_at_the_end_of_the_playbook_gets_advice_and_the_decision_goes_on_the_timeline(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    walk_the_ladder(company, "2025-03-03", 60)  # reminders on 03-10, 03-24, final notice 04-07
    kinds = set(TimelineEvent.objects.filter(debtor=debtor).values_list("kind", flat=True))
    assert "action_created" in kinds
    data = run_json("escalate", "advise", debtor.number, "--date", "2025-06-02")
    options = {o["option"]: o for o in data["options"]}
    assert set(options) == {
        "keep_chasing",
        "settlement",
        "agency",
        "court_payment_order",
        "lv_payment_order",
        "european_small_claims",
        "lawyer",
        "write_off",
    }
    # the court fee on 1,234.56: GKG up to 1,500 = 40 + 2 * 21 = 82.00, half = 41.00 (KV 1100, minimum 38.00)
    assert options["court_payment_order"]["costs_minor"] == 4100
    assert options["court_payment_order"]["recoverable_costs_minor"] == 4100
    assert not options["lv_payment_order"]["available"]
    assert not options["european_small_claims"]["available"]  # not cross-border
    assert data["recommended"] == "court_payment_order"
    for o in data["options"]:
        assert set(o) >= {"option", "expected_net_minor", "costs_minor", "recoverable_costs_minor", "days", "reasons"}
    call_command("escalate", "decide", debtor.number, "court_payment_order", "--date", "2025-06-02", "--note", "ok",
                 stdout=io.StringIO())
    events = list(TimelineEvent.objects.filter(debtor=debtor, kind__startswith="escalation_").order_by("id"))
    assert [e.kind for e in events] == ["escalation_advised", "escalation_decided"]
    assert events[1].data["option"] == "court_payment_order"
    assert events[1].note == "ok"
