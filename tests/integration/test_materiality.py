"""Materiality in the ledger: a payment that pays an invoice settles it (§ 367(2) BGB), small balances are
written off (reversibly, on the timeline), leftover interest and fees by the company's policy.

German base rate (§ 247 BGB): 2.27 % from 2025-01-01; B2B margin 9 pp: 11.27 %. Interest = principal x rate
x days / 365, rounded half up to the cent. Every figure is worked out by hand in the comments.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from mahnwerk.core.money import to_minor
from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.models import Allocation, Charge, Company, Invoice, TimelineEvent, WriteOff
from mahnwerk.ledger.services import LedgerError, record_credit_note, reverse_write_off
from mahnwerk.ledger.timeline import describe

D = date.fromisoformat


def cli(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def in_default(make_invoice: Any, debtor: Any, number: str, amount: str = "100.00") -> Any:
    """An invoice due 2025-02-09 on an agreed date: in default from 2025-02-10 without a reminder."""
    inv = make_invoice(debtor, number, amount, "2025-02-09", issue="2025-01-10", due_date_agreed=True)
    assert inv.default_from == D("2025-02-10")
    return inv


def flat_fee(inv: Any, amount: str = "40.00") -> Charge:
    return Charge.objects.create(
        company=inv.company,
        debtor=inv.debtor,
        invoice=inv,
        kind="flat_compensation",
        key=f"flat:{inv.pk}",
        amount_minor=to_minor(amount, "EUR"),
        open_minor=to_minor(amount, "EUR"),
        currency="EUR",
        booked_on=D("2025-02-10"),
    )


def events(debtor: Any, kind: str) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(debtor=debtor, kind=kind).order_by("id"))


@pytest.mark.django_db
def test_exact_payment_naming_the_invoice_settles_it_interest_and_fees_stay_open(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor()
    inv = in_default(make_invoice, debtor, "RE-1")
    fee = flat_fee(inv)
    # interest 2025-02-10..2025-03-11 = 19 + 11 = 30 days: 100.00 x 11.27 % x 30 / 365 = 0.9263 -> 0.93
    pay(debtor, "100.00", "2025-03-11", invoice=inv)
    inv.refresh_from_db()
    fee.refresh_from_db()
    # § 367(2): the 100.00 pays the principal (not 40.00 fee, 0.93 interest and 59.07 principal)
    assert (inv.open_minor, inv.settled_on) == (0, D("2025-03-11"))
    assert list(Allocation.objects.values_list("component", "amount_minor")) == [("principal", 10000)]
    assert fee.open_minor == 4000
    assert not WriteOff.objects.exists()  # the company carries leftovers to the statement
    (line,) = statement(company, debtor.pk, "business", D("2025-04-30"))["lines"]
    # nothing accrues after the principal is paid: still 0.93 interest on 2025-04-30, and the 40.00 fee
    assert (line["principal_open_minor"], line["interest_open_minor"], line["fees_open_minor"]) == (
        0,
        93,
        4000,
    )
    assert line["paid"] == {"principal": 10000} and line["written_off"] == {}

    # a later payment naming nothing pays the leftover claim: fee 40.00, interest 0.93 (= 40.93)
    pay(debtor, "40.93", "2025-04-01")
    fee.refresh_from_db()
    assert fee.open_minor == 0
    assert statement(company, debtor.pk, "business", D("2025-04-30"))["lines"] == []


@pytest.mark.django_db
def test_exact_payment_naming_nothing_loses_its_last_cents_to_interest_they_are_written_off(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor()
    inv = in_default(make_invoice, debtor, "RE-1")
    # no designation: § 367(1) interest 0.93 first, principal 99.07 -> 0.93 open <= 1.00 tolerance: written off
    pay(debtor, "100.00", "2025-03-11")
    inv.refresh_from_db()
    assert (inv.open_minor, inv.settled_on) == (0, D("2025-03-11"))
    (wo,) = WriteOff.objects.all()
    assert (wo.component, wo.amount_minor, wo.reason, wo.business_date) == (
        "principal",
        93,
        "small_balance",
        D("2025-03-11"),
    )
    assert sorted(Allocation.objects.values_list("component", "amount_minor", "write_off_id")) == [
        ("interest", 93, None),
        ("principal", 93, wo.pk),
        ("principal", 9907, None),
    ]


@pytest.mark.django_db
def test_small_balance_written_off_on_the_timeline_and_reversed(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor()
    inv = make_invoice(debtor, "RE-2", "100.00", "2025-03-31", issue="2025-03-01")
    payment = pay(debtor, "99.50", "2025-03-15", invoice=inv)  # before the due date: no interest, no fees
    # 99.50 < 100.00: the usual order, all to the principal; 0.50 left <= 1.00 tolerance -> written off
    inv.refresh_from_db()
    assert (inv.open_minor, inv.settled_on) == (0, D("2025-03-15"))
    assert payment.unallocated_minor == 0
    (wo,) = WriteOff.objects.all()
    assert (wo.component, wo.amount_minor, wo.currency, wo.debtor_id, wo.invoice_id) == (
        "principal",
        50,
        "EUR",
        debtor.pk,
        inv.pk,
    )
    assert Allocation.objects.get(write_off=wo).amount_minor == 50
    (event,) = events(debtor, "small_balance_written_off")
    assert event.business_date == D("2025-03-15")
    text = describe(event)
    assert "€0.50" in text and "RE-2" in text and "€1.00" in text and f"#{wo.pk}" in text
    (line,) = statement(company, debtor.pk, "business", D("2025-03-15"))["lines"]
    assert line["paid"] == {"principal": 9950} and line["written_off"] == {"principal": 50}

    reverse_write_off(company, wo, "clerk", on=D("2025-03-20"))
    inv.refresh_from_db()
    wo.refresh_from_db()
    assert (inv.open_minor, inv.settled_on) == (50, None)  # 0.50 open again
    assert (wo.reversed_on, wo.reversed_by) == (D("2025-03-20"), "clerk")
    assert not Allocation.objects.filter(write_off=wo).exists()
    (event,) = events(debtor, "write_off_reversed")
    assert event.actor == "clerk" and "€0.50" in describe(event) and "RE-2" in describe(event)
    with pytest.raises(LedgerError, match="already reversed"):
        reverse_write_off(company, wo, "clerk")
    # the next payment pays the 0.50
    pay(debtor, "0.50", "2025-03-25")
    inv.refresh_from_db()
    assert (inv.open_minor, inv.settled_on) == (0, D("2025-03-25"))


@pytest.mark.django_db
def test_more_than_the_tolerance_stays_open(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor()
    inv = make_invoice(debtor, "RE-3", "100.00", "2025-03-31", issue="2025-03-01")
    pay(debtor, "98.00", "2025-03-15", invoice=inv)
    inv.refresh_from_db()
    assert (inv.open_minor, inv.settled_on) == (200, None)  # 2.00 > 1.00: open
    assert not WriteOff.objects.exists()
    # a company with a tolerance of 2.00 closes it (threshold in major units: 2.00 -> 200 cents)
    company.small_balance_tolerance = Decimal("2.00")
    company.save()
    other = make_invoice(debtor, "RE-4", "100.00", "2025-03-31", issue="2025-03-01")
    pay(debtor, "98.00", "2025-03-15", invoice=other)
    other.refresh_from_db()
    assert other.open_minor == 0 and WriteOff.objects.get().amount_minor == 200


@pytest.mark.django_db
def test_credit_note_leaving_a_small_balance_closes_the_invoice(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor()
    inv = make_invoice(debtor, "RE-5", "100.00", "2025-03-31", issue="2025-03-01")
    # credit 99.60: principal 0.40 left <= 1.00 -> written off on the credit note's date
    record_credit_note(
        company,
        debtor=debtor,
        number="GS-1",
        issue_date=D("2025-03-10"),
        amount_minor=9960,
        currency="EUR",
        invoice=inv,
    )
    inv.refresh_from_db()
    assert (inv.open_minor, inv.settled_on) == (0, D("2025-03-10"))
    assert WriteOff.objects.get().amount_minor == 40
    assert len(events(debtor, "small_balance_written_off")) == 1


@pytest.mark.django_db
def test_leftover_policy_write_off(company: Any, make_debtor: Any, make_invoice: Any, pay: Any) -> None:
    company.leftover_costs = "write_off"
    company.save()
    debtor = make_debtor()
    inv = in_default(make_invoice, debtor, "RE-6")
    fee = flat_fee(inv)
    # 100.00 naming RE-6 on 2025-03-11 pays its principal (§ 367(2)); open then: interest 0.93 (30 days, see
    # above) and the 40.00 fee -> both written off
    pay(debtor, "100.00", "2025-03-11", invoice=inv)
    inv.refresh_from_db()
    fee.refresh_from_db()
    assert (inv.open_minor, fee.open_minor) == (0, 0)
    rows = {w.component: w for w in WriteOff.objects.all()}
    assert {c: (w.amount_minor, w.reason) for c, w in rows.items()} == {
        "interest": (93, "leftover"),
        "costs": (4000, "leftover"),
    }
    assert Allocation.objects.get(write_off=rows["costs"]).charge_id == fee.pk
    assert statement(company, debtor.pk, "business", D("2025-04-30"))["lines"] == []
    (event,) = events(debtor, "leftover_written_off")
    assert "€0.93" in describe(event) and "€40.00" in describe(event) and "RE-6" in describe(event)

    # reversing the interest write-off: 0.93 is claimed again, the fee stays written off
    reverse_write_off(company, rows["interest"].pk, "clerk", on=D("2025-04-01"))
    (line,) = statement(company, debtor.pk, "business", D("2025-04-30"))["lines"]
    assert (line["principal_open_minor"], line["interest_open_minor"], line["fees_open_minor"]) == (0, 93, 0)
    inv.refresh_from_db()
    assert inv.settled_on == D("2025-03-11")  # the principal is still paid
    # reversing the fee write-off: the charge is open again
    reverse_write_off(company, rows["costs"], "clerk", on=D("2025-04-01"))
    fee.refresh_from_db()
    assert fee.open_minor == 4000


@pytest.mark.django_db
def test_leftover_policy_statement_writes_off_nothing_but_the_small_balance(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor()
    inv = in_default(make_invoice, debtor, "RE-7")
    flat_fee(inv)
    # 100.50 naming RE-7: principal 100.00 first, then 0.50 of the fee; 39.50 fee and 0.93 interest stay open
    pay(debtor, "100.50", "2025-03-11", invoice=inv)
    assert not WriteOff.objects.exists()
    (line,) = statement(company, debtor.pk, "business", D("2025-03-11"))["lines"]
    assert (line["principal_open_minor"], line["interest_open_minor"], line["fees_open_minor"]) == (
        0,
        93,
        3950,
    )


@pytest.mark.django_db
def test_write_off_collected_is_not_money_received(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    from mahnwerk.core.kpi import Period, collected_per_step
    from mahnwerk.insights.services import records_for

    debtor = make_debtor()
    make_invoice(debtor, "RE-8", "100.00", "2025-03-31", issue="2025-03-01")
    pay(debtor, "99.50", "2025-03-15")
    records = records_for(company, D("2025-03-31"))
    (record,) = records.invoices
    assert record.paid_date == D("2025-03-15")
    # collected: the 99.50 received, not the 0.50 written off
    assert collected_per_step(records.invoices, [], Period(D("2025-03-01"), D("2025-03-31"))) == {"": 9950}


@pytest.mark.django_db
def test_another_companys_write_off_is_refused_by_the_service_and_the_cli(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    from mahnwerk.collection.services import ensure_default_playbook

    other = Company.objects.create(
        slug="other",
        name="Andere GmbH",
        iban="DE89370400440532013000",
        jurisdiction="DE",
        time_zone="Europe/Berlin",
        default_language="de",
        currency="EUR",
    )
    ensure_default_playbook(other)
    mine = make_debtor(number="K1")
    theirs = make_debtor(company=other, number="K9")
    make_invoice(mine, "RE-10", "100.00", "2025-03-31", issue="2025-03-01")
    make_invoice(theirs, "RE-90", "100.00", "2025-03-31", issue="2025-03-01")
    pay(mine, "99.80", "2025-03-15")
    pay(theirs, "99.50", "2025-03-15")
    own = WriteOff.objects.get(company=company)
    foreign = WriteOff.objects.get(company=other)
    with pytest.raises(LedgerError, match="no write-off"):
        reverse_write_off(company, foreign, "clerk")
    with pytest.raises(CommandError, match="no write-off"):
        cli("writeoff", "reverse", str(foreign.pk), "--company", "acme")
    foreign.refresh_from_db()
    assert foreign.reversed_on is None and Invoice.objects.get(number="RE-90").open_minor == 0

    listed = json.loads(cli("writeoff", "list", "--company", "acme", "--json"))
    assert [(r["id"], r["invoice"], r["amount_minor"]) for r in listed] == [(own.pk, "RE-10", 20)]
    assert (
        json.loads(cli("writeoff", "list", "--company", "acme", "--debtor", "K1", "--json"))[0]["id"]
        == own.pk
    )
    with pytest.raises(CommandError, match="no debtor"):
        cli("writeoff", "list", "--company", "acme", "--debtor", "K9")
    with pytest.raises(CommandError, match="several companies"):
        cli("writeoff", "list")
    with pytest.raises(CommandError, match="needs the id"):
        cli("writeoff", "reverse", "--company", "acme")
    with pytest.raises(CommandError, match="not a write-off id"):
        cli("writeoff", "reverse", "abc", "--company", "acme")
    text = cli("writeoff", "reverse", f"#{own.pk}", "--company", "acme", "--today", "2025-03-20")
    assert f"Write-off #{own.pk} reversed" in text and "€0.20" in text
    assert Invoice.objects.get(number="RE-10").open_minor == 20
    assert "reversed on 2025-03-20 by cli" in cli("writeoff", "list", "--company", "acme")
    with pytest.raises(CommandError, match="already reversed"):
        cli("writeoff", "reverse", str(own.pk), "--company", "acme")
