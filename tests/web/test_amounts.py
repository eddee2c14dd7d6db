"""The company-wide amounts (totals, aging, per-debtor open and overdue) are read once per business date and then
patched with the debtors each change touched: after every kind of change the patched figures equal a fresh read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from mahnwerk.ledger import figures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

TODAY = date(2026, 11, 20)


def snapshot(amounts: figures.DebtorAmounts) -> tuple[Any, ...]:
    figures = [(f.currency, f.open_minor, f.overdue_minor, f.items, dict(f.buckets)) for f in amounts.figures]
    return amounts.open, amounts.overdue, {k: sorted(v) for k, v in amounts.buckets.items()}, figures


def test_patched_amounts_equal_a_fresh_read_after_every_change(
    company: Any, other_company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    from mahnwerk.collection.agreements import offer_settlement, open_dispute
    from mahnwerk.ledger.services import Receipt, record_credit_note, record_payment

    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    ozols = make_debtor(name="Ozols", number="K0002", language="lv", jurisdiction="LV")
    r100 = make_invoice(mueller, "R-100", "1000.00", "2026-10-01")
    make_invoice(mueller, "R-101", "250.00", "2026-12-01")
    make_invoice(ozols, "R-200", "400.00", "2026-11-10")
    make_invoice(ozols, "R-201", "90.00", "2026-08-01", currency="USD")
    first = figures.company_amounts(company, TODAY)
    assert first.open == {mueller.pk: 125_000, ozols.pk: 49_000}
    read = figures._BOOKS[(company.pk, TODAY)].read

    def check() -> figures.DebtorAmounts:
        patched = figures.company_amounts(company, TODAY)
        assert snapshot(patched) == snapshot(figures.debtor_amounts(company, TODAY))
        book = figures._BOOKS[(company.pk, TODAY)]
        assert book.read == read  # patched, not read again
        assert book.by_overdue == sorted((-v, k) for k, v in patched.overdue.items())  # the worklist's order
        return patched

    record_payment(company, Receipt(ozols.pk, 40_000, "EUR", TODAY, reference="R-200"))
    after = check()
    assert after.open[ozols.pk] == 9_000 and ozols.pk not in after.buckets["1-30"]
    record_payment(company, Receipt(mueller.pk, 30_000, "EUR", TODAY, invoice_id=r100.pk))
    assert check().overdue[mueller.pk] == 70_000
    record_credit_note(  # R-100 now settled: nothing overdue
        company,
        debtor=mueller,
        number="GS-1",
        issue_date=TODAY,
        amount_minor=70_000,
        currency="EUR",
        invoice=r100,
    )
    after = check()
    assert mueller.pk not in after.overdue and mueller.pk not in after.buckets["31-60"]
    newcomer = make_debtor(name="Neukunde", number="K0003")
    make_invoice(newcomer, "R-300", "77.00", "2026-09-15")
    assert check().open[newcomer.pk] == 7_700
    open_dispute(company, make_invoice(ozols, "R-202", "15.00", "2026-11-01"), "wrong_invoice", actor="test")
    offer_settlement(
        company, newcomer, [newcomer.invoices.get()], 7_000, date(2026, 12, 1), reason="goodwill"
    )
    check()
    # another company's change moves the version but touches none of these debtors
    stranger = make_debtor(name="Svešinieks", number="B1", company=other_company)
    make_invoice(stranger, "B-1", "10.00", "2026-10-01")
    assert snapshot(check()) == snapshot(figures.debtor_amounts(company, TODAY))


def test_many_changed_debtors_or_a_new_day_read_everything_again(
    company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any], monkeypatch: Any
) -> None:
    debtors = [make_debtor(name=f"Kunde {i}", number=f"K{i:04d}") for i in range(4)]
    figures.company_amounts(company, TODAY)
    read = figures._BOOKS[(company.pk, TODAY)].read
    monkeypatch.setattr(figures, "PATCH_LIMIT", 2)
    for i, debtor in enumerate(debtors):
        make_invoice(debtor, f"R-{i}", "10.00", "2026-10-01")
    amounts = figures.company_amounts(company, TODAY)
    assert len(amounts.open) == 4 and figures._BOOKS[(company.pk, TODAY)].read > read
    # the next business date is read afresh, and the old date is forgotten
    figures.company_amounts(company, date(2026, 11, 21))
    assert [key for key in figures._BOOKS if key[0] == company.pk] == [(company.pk, date(2026, 11, 21))]


@pytest.mark.parametrize("changed", [1, 30])
def test_a_patch_takes_a_fixed_number_of_queries(
    company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
    changed: int,
    django_assert_num_queries: Any,
) -> None:
    debtors = [make_debtor(name=f"Kunde {i}", number=f"K{i:04d}") for i in range(30)]
    for i, debtor in enumerate(debtors):
        make_invoice(debtor, f"R-{i}", "10.00", "2026-10-01")
    figures.company_amounts(company, TODAY)
    for i, debtor in enumerate(debtors[:changed]):
        make_invoice(debtor, f"S-{i}", "20.00", "2026-11-01")
    # the ledger version (4), the debtors touched since (3), their open items (1)
    with django_assert_num_queries(8):
        amounts = figures.company_amounts(company, TODAY)
    assert sum(amounts.open.values()) == 30 * 1_000 + changed * 2_000


def test_the_server_workers_read_every_companys_figures_ahead(
    company: Any,
    other_company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from django.db import connection

    from mahnwerk.web import services
    from mahnwerk.web.management.commands.serve import warm_forever

    make_invoice(make_debtor(name="Kunde"), "R-1", "10.00", "2026-10-01")
    figures._BOOKS.clear()
    services._PREVIEWS.clear()
    stop = threading.Event()
    calls = []
    original = figures.warm_amounts

    def warm() -> list[tuple[int, date]]:
        calls.append(original())
        stop.set()  # one round is enough here
        return calls[-1]

    monkeypatch.setattr(figures, "warm_amounts", warm)
    # the worker thread closes its own connection after each round; here it is the test's, inside its transaction
    monkeypatch.setattr(connection, "close", lambda: None)
    warm_forever(stop)
    # both companies, each for its own business date (Berlin and Riga are on 20 November at 10:00 UTC)
    assert sorted(calls[0]) == sorted([(company.pk, TODAY), (other_company.pk, TODAY)])
    assert figures._BOOKS[(company.pk, TODAY)].amounts.open  # ready before any page asks
    assert (other_company.pk, TODAY) in figures._BOOKS
    # and each company's run preview for today (one for every language): the run page's first visit waits for none
    kept = {(k[0], k[1]) for k in services._PREVIEWS}
    for c in (company, other_company):
        assert (c.pk, TODAY) in kept


def test_the_next_business_date_begins_at_the_first_local_midnight(company: Any, other_company: Any) -> None:
    from datetime import UTC, datetime

    # 20 November 10:00 UTC: Riga (UTC+2) reaches midnight at 22:00 UTC, Berlin (UTC+1) at 23:00 UTC
    assert figures.next_business_day_start(datetime(2026, 11, 20, 10, tzinfo=UTC)) == datetime(
        2026, 11, 20, 22, tzinfo=UTC
    )
