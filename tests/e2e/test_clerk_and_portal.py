"""A clerk's day in the browser, and a debtor updating its email address through its portal link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def test_find_debtor_record_payment_item_gone(
    signed_in: Any, live_server: Any, ledger: dict[str, Any], shoot: Callable[[Any, str], None]
) -> None:
    from playwright.sync_api import expect

    from mahnwerk.collection.models import Task
    from mahnwerk.ledger.services import company_today

    mueller = ledger["mueller"]
    Task.objects.create(
        company=mueller.company, debtor=mueller, kind="call", due_on=company_today(mueller.company)
    )
    page = signed_in
    page.reload()
    assert page.get_by_role("heading", name="Worklist: most overdue money first").is_visible()
    waiting = page.get_by_test_id("home-tasks")
    assert waiting.locator("tr[data-kind=call]").get_by_text("Bäckerei Müller").is_visible()
    shoot(page, "home")
    page.get_by_role("link", name="Debtors", exact=True).click()
    page.get_by_label("Search").fill("Müller")  # HTMX replaces the results as one types
    # a Playwright assertion, not wait_for_function: the Content-Security-Policy forbids evaluating strings
    expect(page.locator("#results tbody tr")).to_have_count(1)
    shoot(page, "debtors")
    page.locator("#results").get_by_role("link", name="Bäckerei Müller").click()
    page.get_by_test_id("case-tabs").get_by_role("link", name="Items and payments").click()
    items = page.get_by_test_id("open-items")
    items.get_by_text("R-100").wait_for()  # the case file has loaded (the click only starts the navigation)
    assert items.get_by_text("R-100").is_visible()
    payment = page.get_by_role("region", name="Record a payment")
    payment.locator("summary").click()  # the form opens on demand
    payment.get_by_label("Amount:", exact=True).fill("1000.00")
    payment.get_by_label("Invoice:", exact=True).select_option(label="R-100")
    shoot(page, "debtor")
    page.evaluate("window.sameDocument = true")  # gone if the browser loaded a new page
    page.get_by_role("button", name="Record payment").click()
    page.get_by_text("Payment of €1,000.00 recorded.").wait_for()
    assert page.evaluate("window.sameDocument === true")  # the case file was replaced in place (HTMX)
    assert items.get_by_text("R-101").is_visible()
    assert items.get_by_text("R-100").count() == 0
    page.get_by_test_id("case-tabs").get_by_role("link", name="Conversation").click()
    assert page.get_by_test_id("timeline").get_by_text("Payment of €1,000.00 received").is_visible()


def test_hold_makes_the_run_skip_the_debtor(signed_in: Any, live_server: Any, ledger: dict[str, Any]) -> None:
    page = signed_in
    page.goto(live_server.url + "/run/")
    plan = page.get_by_test_id("run-rows")  # one row per debtor who gets a step
    assert plan.locator("tr[data-debtor=K0002]").count() == 1
    page.goto(f"{live_server.url}/debtors/{ledger['ozols'].pk}/?tab=details")
    page.get_by_label("Reason for the hold").fill("Delivery complaint")
    page.get_by_role("button", name="Put on hold").click()
    page.get_by_text("The debtor is on hold.").wait_for()
    page.get_by_role("link", name="Today's run").click()
    assert plan.locator("tr[data-debtor=K0001]").count() == 1
    assert plan.locator("tr[data-debtor=K0002]").count() == 0


def test_debtor_updates_email_in_portal_clerk_sees_it(
    signed_in: Any, browser: Any, live_server: Any, ledger: dict[str, Any], shoot: Callable[[Any, str], None]
) -> None:
    clerk = signed_in
    clerk.goto(f"{live_server.url}/debtors/{ledger['ozols'].pk}/")
    # the link to give the debtor (the case file's own link opens a preview that notes no visit)
    link = clerk.get_by_test_id("portal-url").input_value()
    debtor_context = browser.new_context(viewport={"width": 1280, "height": 900})
    portal = debtor_context.new_page()
    portal.goto(link)
    assert portal.locator("html").get_attribute("lang") == "lv"
    assert portal.get_by_test_id("portal-items").get_by_text("R-200").is_visible()
    shoot(portal, "portal")
    portal.locator("#id_email").fill("gramatvediba@ozols.example")
    portal.locator("form:has(#id_email) button[type=submit]").click()
    portal.locator(".messages li").wait_for()
    assert portal.locator("#id_email").input_value() == "gramatvediba@ozols.example"
    debtor_context.close()
    clerk.reload()
    assert clerk.get_by_test_id("contacts").get_by_text("gramatvediba@ozols.example").is_visible()


def test_promise_skips_the_run_and_portal_plan_reaches_the_clerk(
    signed_in: Any, browser: Any, live_server: Any, ledger: dict[str, Any], shoot: Callable[[Any, str], None]
) -> None:
    from mahnwerk.ledger.services import company_today

    page = signed_in
    in_a_week = (company_today(ledger["ozols"].company) + timedelta(days=7)).isoformat()
    # find the debtor
    page.get_by_role("link", name="Debtors", exact=True).click()
    page.get_by_label("Search").fill("Ozols")
    page.get_by_role("link", name='SIA "Ozols"').click()
    page.get_by_test_id("case-tabs").get_by_role("link", name="Agreements").click()
    page.get_by_text("Record a promise to pay").click()  # the form opens on demand
    # record a promise for R-200; without an invoice ticked, the form comes back with its error in place
    form = page.get_by_test_id("promise-form")
    form.get_by_label("Promised payment date").fill(in_a_week)
    form.get_by_role("button", name="Record promise").click()
    form.locator(".errorlist").wait_for()
    form.get_by_label("R-200").check()
    form.get_by_label("Promised payment date").fill(in_a_week)
    form.get_by_role("button", name="Record promise").click()
    page.get_by_text("Promise recorded").wait_for()
    assert page.get_by_test_id("promises").get_by_text("R-200").is_visible()
    shoot(page, "debtor-agreements")
    # the run preview leaves the debtor out while the promise runs
    page.get_by_role("link", name="Today's run").click()
    plan = page.get_by_test_id("run-rows")  # one row per debtor who gets a step
    assert plan.locator("tr[data-debtor=K0001]").count() == 1
    assert plan.locator("tr[data-debtor=K0002]").count() == 0
    # the debtor Müller asks for an instalment plan on the portal
    page.goto(f"{live_server.url}/debtors/{ledger['mueller'].pk}/")
    # the link to give the debtor (the case file's own link opens a preview that notes no visit)
    link = page.get_by_test_id("portal-url").input_value()
    debtor_context = browser.new_context(viewport={"width": 1280, "height": 900})
    portal = debtor_context.new_page()
    portal.goto(link)
    request = portal.get_by_test_id("portal-plan-form")
    request.get_by_label("R-100").check()
    request.locator("input[name=plan-count]").fill("3")
    request.locator("button[type=submit]").click()
    portal.get_by_test_id("portal-plan").wait_for()
    assert portal.get_by_test_id("portal-plan").locator("tbody tr").count() == 4  # down payment and three
    shoot(portal, "portal-plan")
    debtor_context.close()
    # the clerk sees the plan on the debtor page
    page.goto(f"{live_server.url}/debtors/{ledger['mueller'].pk}/?tab=agreements")
    agreement = page.get_by_test_id("agreement-plan")
    assert agreement.get_by_text("R-100").first.is_visible()
    assert agreement.locator("tbody tr").count() == 4


def test_clerk_stores_an_invoice_copy_and_downloads_it(
    signed_in: Any, live_server: Any, ledger: dict[str, Any], settings: Any, tmp_path: Any
) -> None:
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        }
    }
    copy = tmp_path / "scan.pdf"
    copy.write_bytes(b"%PDF-1.4\n% copy of R-100\n%%EOF\n")
    page = signed_in
    page.goto(f"{live_server.url}/debtors/{ledger['mueller'].pk}/?tab=documents")
    form = page.get_by_test_id("upload-form")
    form.get_by_label("Invoice:").select_option(label="R-100")
    form.get_by_label("Copy of the invoice (PDF):").set_input_files(str(copy))
    page.evaluate("window.sameDocument = true")
    form.get_by_role("button", name="Store copy").click()
    page.get_by_text("Copy of invoice R-100 stored.").wait_for()
    assert page.evaluate("window.sameDocument === true")  # sent by HTMX, the case file replaced in place
    with page.expect_download() as download:
        page.get_by_test_id("documents").get_by_role("link", name="Download").click()
    assert Path(download.value.path()).read_bytes() == copy.read_bytes()
