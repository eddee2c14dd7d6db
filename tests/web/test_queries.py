"""The list, home and debtor pages run a bounded number of queries, whatever the number of rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from mahnwerk.comms.compose import render_pending
from mahnwerk.ledger.models import Contact, Debtor, Invoice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def _ledger(company: Any, debtors: int, invoices_each: int) -> list[Debtor]:
    rows = Debtor.objects.bulk_create(
        Debtor(
            company=company,
            number=f"Q{i:05d}",
            name=f"Kunde {i}",
            language="de",
            jurisdiction="DE",
            time_zone="Europe/Berlin",
        )
        for i in range(debtors)
    )
    Contact.objects.bulk_create(Contact(debtor=d, kind="email", value=f"a@{d.number}.example") for d in rows)
    Invoice.objects.bulk_create(
        Invoice(
            company=company,
            debtor=d,
            number=f"{d.number}-{k}",
            issue_date=date(2026, 8, 1) + timedelta(days=k),
            due_date=date(2026, 9, 1) + timedelta(days=7 * k),
            amount_minor=10_000 + k,
            open_minor=10_000 + k,
            currency="EUR",
        )
        for d in rows
        for k in range(invoices_each)
    )
    return rows


def _count(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


LIST_URLS = [
    "/debtors/?sort=-overdue&hold=no&bucket=61-90",
    "/debtors/?q=Kunde&step=2",
    "/debtors/?page=2",
    "/",
]


@pytest.mark.parametrize("size", [3, 60])
def test_list_and_home_queries_are_bounded(
    alice: Client, company: Any, size: int, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    from mahnwerk.collection.services import run_collection

    _ledger(company, size, 4)
    run_collection(company, send=False)
    # session, user, membership, step names, count, page, totals, steps, holds, segments; sorted by amount
    # instead of count and page: the ledger version (4 index look-ups), the amounts per debtor and the debtor
    # ids (both cached), the ids matching the filters and the page's debtors
    with django_assert_max_num_queries(17):
        response = alice.get("/debtors/?sort=-overdue&hold=no")
    assert len(response.context["rows"]) == min(size, 25)
    for url in LIST_URLS:
        # the home page adds the ledger version (4 index look-ups), the last run, the worklist's rows,
        # what waits for a person (tasks, plans, disputes, predictions) and the outbox's failed and retrying
        with django_assert_max_num_queries(18 if url == "/" else 17):
            alice.get(url)


def test_list_and_home_queries_do_not_grow_with_rows(company: Any, alice: Client) -> None:
    from django.core.cache import cache

    from mahnwerk.collection.models import Task
    from mahnwerk.collection.services import run_collection

    first, *_rest = _ledger(company, 3, 2)
    run_collection(company, send=False)
    Task.objects.create(company=company, debtor=first, kind="call", due_on=date(2026, 11, 20))
    small = [_count(alice, url) for url in LIST_URLS]
    _more(company)  # 80 more debtors with 5 items each, a second run gives them steps
    run_collection(company, date(2026, 11, 21), send=False)
    for debtor in Debtor.objects.filter(company=company)[:60]:  # 60 tasks, 20 of them shown
        Task.objects.create(company=company, debtor=debtor, kind="review", due_on=date(2026, 11, 19))
    cache.clear()  # the first request reads the company-wide amounts afresh, as the first one above did
    large = [_count(alice, url) for url in LIST_URLS]
    assert small == large


def _more(company: Any) -> None:
    rows = Debtor.objects.bulk_create(
        Debtor(
            company=company,
            number=f"M{i:05d}",
            name=f"Kunde M{i}",
            language="de",
            jurisdiction="DE",
            time_zone="Europe/Berlin",
        )
        for i in range(80)
    )
    Invoice.objects.bulk_create(
        Invoice(
            company=company,
            debtor=d,
            number=f"{d.number}-{k}",
            issue_date=date(2026, 8, 1),
            due_date=date(2026, 9, 1) + timedelta(days=7 * k),
            amount_minor=5_000,
            open_minor=5_000,
            currency="EUR",
        )
        for d in rows
        for k in range(5)
    )


def test_debtor_page_queries_do_not_grow_with_items(company: Any, alice: Client) -> None:
    from mahnwerk.collection.services import run_collection

    few = _ledger(company, 2, 1)[0]
    many = Debtor.objects.create(
        company=company,
        number="MANY",
        name="Viele Rechnungen",
        language="de",
        jurisdiction="DE",
        time_zone="Europe/Berlin",
    )
    Invoice.objects.bulk_create(
        Invoice(
            company=company,
            debtor=many,
            number=f"MANY-{k}",
            issue_date=date(2026, 8, 1),
            due_date=date(2026, 9, 1) + timedelta(days=3 * k),
            amount_minor=5_000,
            open_minor=5_000,
            currency="EUR",
        )
        for k in range(40)
    )
    run_collection(company, send=False)
    render_pending(company)  # as the outbox does after the run: the page then only checks
    counts = [_count(alice, f"/debtors/{d.pk}/") for d in (few, many)]
    # 25 for the case file itself; the claims (items, allocations, charges, waivers), the insight, promises,
    # plans, settlements and disputes (with their invoice numbers), open tasks, the four item lists of the
    # agreement forms and the documents (invoice copies, letters) add a fixed number on top; the next step is
    # decided by the run's own loader for this one debtor (playbooks, history, contacts, agreements: about 20);
    # the segment's terms for the agreement forms, read once (segment rules, the debtor's insight, whether the
    # segment's playbook exists: 3); the
    # conversation's outgoing messages and notes (2); whether messages wait to be rendered (conversation and
    # documents: 2)
    assert counts[0] == counts[1] <= 70, counts
