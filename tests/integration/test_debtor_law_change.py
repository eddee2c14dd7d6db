"""A debtor's kind, country or jurisdiction corrected after its invoices came in: when default begins and
when the claims are time-barred follow the law as it is now (a consumer imported as a business owes no
interest from the 30-day rule it was never told of, § 286 (3) BGB)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from mahnwerk.ledger.models import Invoice
from mahnwerk.ledger.services import update_debtor

pytestmark = pytest.mark.django_db
D = date.fromisoformat


def _rules(invoice: Any) -> tuple[Any, str, Any]:
    invoice.refresh_from_db()
    return invoice.default_from, invoice.default_rule, invoice.time_barred_on


def test_a_business_corrected_to_a_consumer_is_not_in_default_by_the_30_day_rule(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    peter = make_debtor(number="C1", name="Peter Schmidt", kind="business", country="DE")
    eva = make_debtor(number="C2", name="Eva Braun", kind="consumer", country="DE")
    mine = make_invoice(peter, "I1", "1500.00", "2026-09-15", issue="2026-09-01")
    hers = make_invoice(eva, "I2", "1500.00", "2026-09-15", issue="2026-09-01")
    assert mine.default_from == D("2026-10-16") and hers.default_from is None  # as imported

    update_debtor(company, peter, {"kind": "consumer"}, actor="clerk")
    assert _rules(mine) == _rules(hers)  # as if it had been a consumer from the start
    assert _rules(mine)[0] is None

    # and back: a business is in default 30 days after the due date and receipt of the invoice
    update_debtor(company, peter, {"kind": "business"}, actor="clerk")
    assert _rules(mine)[:2] == (D("2026-10-16"), "days_after_due_and_receipt")


def test_default_a_reminder_caused_stays(company: Any, make_debtor: Any, make_invoice: Any) -> None:
    peter = make_debtor(number="C1", name="Peter Schmidt", kind="business", country="DE")
    invoice = make_invoice(peter, "I1", "1500.00", "2026-09-15", issue="2026-09-01")
    # a reminder received on 09-22 with a deadline of 10-02 put him in default from 10-03
    Invoice.objects.filter(pk=invoice.pk).update(
        default_from=D("2026-10-03"), default_rule="reminder_deadline"
    )
    update_debtor(company, peter, {"kind": "consumer"}, actor="clerk")
    assert _rules(invoice)[:2] == (D("2026-10-03"), "reminder_deadline")


def test_a_business_corrected_to_a_consumer_owes_no_flat_compensation(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    from mahnwerk.collection.services import run_collection
    from mahnwerk.ledger.claims import statement
    from mahnwerk.ledger.models import Charge
    from mahnwerk.ledger.timeline import describe

    # the worked example of test_same_figures: reminder 03-10 (default from 03-21), firm reminder 03-24 with
    # the 40.00 flat compensation of § 288 (5) BGB, which a consumer never owes
    debtor = make_debtor(name="Metallbau Krüger", language="de", kind="business", country="DE")
    invoice = make_invoice(debtor, "RE-4", "1000.00", "2025-03-03", issue="2025-02-01")
    for day in ("2025-03-10", "2025-03-24"):
        run_collection(company, D(day))
    assert list(Charge.objects.filter(invoice=invoice).values_list("kind", "amount_minor")) == [
        ("flat_compensation", 4000)
    ]
    before = statement(company, debtor.pk, "business", D("2025-04-07"))["totals"]["EUR"]

    update_debtor(company, debtor, {"kind": "consumer"}, actor="clerk")

    assert not Charge.objects.filter(invoice=invoice).exists()
    # a reminder after the due date puts a consumer in default too: that default stands
    assert _rules(invoice)[:2] == (D("2025-03-21"), "reminder_deadline")
    after = statement(company, debtor.pk, "consumer", D("2025-04-07"))["totals"]["EUR"]
    assert (before["fees_open_minor"], after["fees_open_minor"]) == (4000, 0)
    # interest at 5 points over the base rate now, not 9: 1000.00 x 7.27 % x 18 / 365 = 3.585 -> 3.59
    assert (before["interest_open_minor"], after["interest_open_minor"]) == (556, 359)
    (event,) = debtor.timeline.filter(kind="charge_cancelled_law")
    assert "RE-4" in describe(event) and "not owed" in describe(event)
