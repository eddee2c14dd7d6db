"""German and Latvian pages carry no English the clerk ran into: untranslated strings passed through from the
services, raw choice values, English labels kept in the data, money and dates written the English way.

Every main page is rendered in de and lv with a case file whose timeline has the events the clerk saw in
English (a call outcome, a dispute, a plan outside the limits, a segment change, payments, a message)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

# English UI words that must not appear on a German or Latvian page (whole words, case-sensitive)
ENGLISH = [
    "Promised to pay",
    "Promised",
    "Wrong invoice",
    "Select an option",
    "the promised date",
    "Not reached",
    "Refused to pay",
    "Risky",
    "Watch",
    "too_long",
    "too_many_instalments",
    "down_payment_too_small",
    "user:",
    "debtor (portal)",
    "Payment of",
    "received (value date",
    "Dispute on",
    "Instalment plan outside the limits",
    "Call:",
    "days overdue",
    "Open items",
    "Record payment",
    "Key figures",
    "Playbook saved",
]
# money written the English way (€1,570.08, € 1,570.08, EUR 1,570.08) and ISO dates in the text
ENGLISH_MONEY = re.compile(r"(€|EUR)\s?\d{1,3}(,\d{3})*\.\d{2}(?![\d.])")  # not "€ 20.11.2026"
ISO_DATE = re.compile(r"(?<![\w/:=\"'-])(19|20)\d\d-\d\d-\d\d(?![\w/\"'-])")


@pytest.fixture
def case(
    company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
    pay: Callable[..., Any],
) -> Any:
    from mahnwerk.collection.agreements import open_dispute, propose_plan
    from mahnwerk.collection.calls import record_call_outcome
    from mahnwerk.collection.models import Task
    from mahnwerk.collection.services import run_collection
    from mahnwerk.ledger.services import company_today
    from mahnwerk.ledger.timeline import event

    debtor = make_debtor(name="Jānis Krūmiņš", number="K0001", language="lv", jurisdiction="LV")
    first = make_invoice(debtor, "R-100", "1570.08", "2026-09-01")
    second = make_invoice(debtor, "R-101", "800.00", "2026-10-01")
    third = make_invoice(debtor, "R-102", "2400.00", "2026-10-15")
    make_invoice(debtor, "R-103", "99.00", "2026-12-15")
    pay(debtor, "100.00", "2026-11-02", reference="R-100")
    run_collection(company, send=False, approved=True)
    open_dispute(company, second, "wrong_invoice", source="clerk", actor="user:demo")
    propose_plan(company, debtor, [third], 24, source="clerk", actor="user:demo")
    task = Task.objects.create(company=company, debtor=debtor, kind="call", due_on=date(2026, 11, 20))
    record_call_outcome(task, "not_reached", actor="user:demo")
    # as a call that ended in a promise wrote it: the outcome's English label
    event(
        debtor.pk,
        company.pk,
        "call_outcome",
        date(2026, 11, 19),
        actor="user:demo",
        outcome="Promised to pay",
    ).save()
    Task.objects.create(company=company, debtor=debtor, kind="call", due_on=company_today(company))
    event(
        debtor.pk,
        company.pk,
        "segment_changed",
        date(2026, 11, 19),
        old="Watch",
        new="Risky",
        reason="late",
        old_key="watch",
        new_key="risky",
    ).save()
    return {"debtor": debtor, "first": first}


def _pages(case: dict[str, Any]) -> list[str]:
    from mahnwerk.collection.models import Playbook

    playbook = Playbook.objects.get(company=case["debtor"].company, is_default=True)
    return [
        "/",
        "/debtors/",
        f"/debtors/{case['debtor'].pk}/",
        "/run/",
        "/kpi/",
        "/playbooks/",
        f"/playbooks/{playbook.pk}/",
        "/settings/",
    ]


def _visible_text(html: str) -> str:
    """The text a reader sees: no scripts or styles, no tags, no attribute values."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


def _english_left(text: str) -> list[str]:
    found = [
        word
        for word in ENGLISH
        if re.search(rf"(?<!\w){re.escape(word)}" + (r"(?!\w)" if word[-1].isalnum() else ""), text)
    ]
    found += [m.group(0) for m in ENGLISH_MONEY.finditer(text)]
    found += [m.group(0) for m in ISO_DATE.finditer(text)]
    return found


@pytest.mark.parametrize("language", ["de", "lv"])
def test_main_pages_carry_no_english(alice: Client, case: dict[str, Any], language: str) -> None:
    left = {}
    for url in _pages(case):
        response = alice.get(url, headers={"Accept-Language": language})
        assert response.status_code == 200, url
        found = _english_left(_visible_text(response.content.decode()))
        if found:
            left[url] = found
    assert left == {}, "\n".join(f"{k}: {v}" for k, v in left.items())


@pytest.mark.parametrize("language", ["de", "lv"])
def test_the_customer_page_carries_no_english(
    company: Any, case: dict[str, Any], language: str, client: Client
) -> None:
    from mahnwerk.web.portal.links import portal_path

    debtor = case["debtor"]
    debtor.language = language
    debtor.save(update_fields=["language"])
    response = client.get(portal_path(debtor))
    assert response.status_code == 200
    assert _english_left(_visible_text(response.content.decode())) == []


def test_the_check_finds_english() -> None:
    text = _visible_text(
        "<p>Promised to pay · Wrong invoice · user:demo · € 1,570.08 · 2026-11-20 · - Select an option -</p>"
    )
    assert set(_english_left(text)) >= {
        "Promised to pay",
        "Wrong invoice",
        "user:",
        "€ 1,570.08",
        "2026-11-20",
        "Select an option",
    }
