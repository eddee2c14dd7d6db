"""The debtor's data changes and collection follows: a new email address gets the next message, and "I have
paid" on the debtor's page makes the reminders for those invoices wait."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

NEW_ADDRESS = "zahlungen@baeckerei-mueller.example"


def _portal(browser: Any, link: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(link)
    return page


def test_new_email_address_gets_the_next_message(
    signed_in: Any,
    browser: Any,
    live_server: Any,
    ledger: dict[str, Any],
    outbox: Path,
    shoot: Callable[[Any, str], None],
) -> None:
    from mahnwerk.comms.models import OutboundMessage

    mueller = ledger["mueller"]
    old_address = mueller.contacts.get(kind="email", is_primary=True).value
    assert old_address != NEW_ADDRESS
    assert not OutboundMessage.objects.filter(debtor=mueller).exists()
    clerk = signed_in
    clerk.goto(f"{live_server.url}/debtors/{mueller.pk}/")
    # The case file's details form holds address, language and channels; the email address is a contact, and
    # the debtor keeps it current on its own page: the link the clerk gives the debtor.
    link = clerk.get_by_test_id("portal-url").input_value()
    portal = _portal(browser, link)
    portal.locator("#id_email").fill(NEW_ADDRESS)
    portal.locator("form:has(#id_email) button[type=submit]").click()
    portal.locator(".messages li").wait_for()
    portal.context.close()
    # the clerk sees the change in the history of the customer's data
    clerk.goto(f"{live_server.url}/debtors/{mueller.pk}/?tab=details")
    history = clerk.get_by_test_id("details-history")
    assert history.get_by_text(NEW_ADDRESS).is_visible()
    shoot(clerk, "debtor-details-history")
    # ... and sends the next step now, from the case file's overview
    clerk.get_by_test_id("case-tabs").get_by_role("link", name="Overview").click()
    clerk.get_by_role("button", name="Send the next step now").click()
    clerk.locator("#messages li").get_by_text("is on its way").wait_for()
    messages = list(OutboundMessage.objects.filter(debtor=mueller, channel="email"))
    assert len(messages) == 1
    assert messages[0].recipient == NEW_ADDRESS
    # the message as it left: one .eml in the company's outbox folder, addressed to the new address only
    files = list((outbox / "acme").glob("*.eml"))
    assert len(files) == 1
    mail = message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert mail["To"].addresses[0].addr_spec == NEW_ADDRESS
    assert old_address not in str(mail["To"]) + str(mail.get("Cc", ""))


def test_i_have_paid_holds_the_reminders_for_those_invoices(
    signed_in: Any, browser: Any, live_server: Any, ledger: dict[str, Any], shoot: Callable[[Any, str], None]
) -> None:
    from mahnwerk.collection.agreements_models import Promise
    from mahnwerk.collection.services import run_collection
    from mahnwerk.ledger.models import Invoice
    from mahnwerk.ledger.services import company_today

    mueller, ozols = ledger["mueller"], ledger["ozols"]
    company = mueller.company
    today = company_today(company)
    r100 = Invoice.objects.get(debtor=mueller, number="R-100")
    tomorrow = today + timedelta(days=1)
    # before: tomorrow's run would remind Müller of R-100 (and Ozols of R-200)
    before = run_collection(company, tomorrow, dry_run=True)
    planned = {entry["debtor_id"]: entry for entry in before.plan}
    assert {i["invoice_id"] for i in planned[mueller.pk]["items"]} == {r100.pk}  # type: ignore[attr-defined]
    assert ozols.pk in planned

    clerk = signed_in
    clerk.goto(f"{live_server.url}/debtors/{mueller.pk}/")
    portal = _portal(browser, clerk.get_by_test_id("portal-url").input_value())
    form = portal.get_by_test_id("portal-paid-form")
    yesterday = today - timedelta(days=1)
    form.locator("input[name=paid-paid_on]").fill(yesterday.isoformat())
    form.locator("input[name=paid-amount]").fill("1000.00")
    form.get_by_label("R-100").check()
    form.locator("button[type=submit]").click()
    confirmation = portal.locator(".messages li")
    confirmation.wait_for()
    assert "R-100" in confirmation.inner_text()
    notice = portal.get_by_test_id("portal-paid-notice")
    assert notice.is_visible()
    assert "R-100" in notice.inner_text()
    assert "R-101" not in notice.inner_text()
    shoot(portal, "portal-paid-notice")
    portal.context.close()

    promise = Promise.objects.get(debtor=mueller)
    assert promise.source == "paidnotice"
    assert promise.amount_minor == 100_000
    assert [inv.number for inv in promise.invoices.all()] == ["R-100"]
    # five business days after the stated payment date: at least five weekdays, at most two weeks of holidays
    weekdays = [yesterday + timedelta(days=n) for n in range(1, 15)]
    fifth_weekday = [d for d in weekdays if d.weekday() < 5][4]
    assert fifth_weekday <= promise.promised_date <= yesterday + timedelta(days=14)

    # tomorrow's run leaves Müller out (R-100 waits, R-101 is not due yet); Ozols still gets its step
    held = run_collection(company, tomorrow, dry_run=True, explain=True)
    planned = {entry["debtor_id"]: entry for entry in held.plan}
    assert mueller.pk not in planned
    assert ozols.pk in planned
    # with R-100 waiting, what comes next for Müller is R-101's step, whose date has not come
    assert [reason for debtor_id, reason, _when in held.held_debtors if debtor_id == mueller.pk] == [
        "not_yet"
    ]
    # the hold is not for ever: once the grace has passed without the payment, R-100 is reminded again
    later = run_collection(company, promise.promised_date + timedelta(days=1), dry_run=True)
    planned = {entry["debtor_id"]: entry for entry in later.plan}
    assert mueller.pk in planned
    assert r100.pk in {i["invoice_id"] for i in planned[mueller.pk]["items"]}  # type: ignore[attr-defined]
