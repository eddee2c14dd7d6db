"""Accessibility: axe-core (through axe-playwright-python) on every clerk page and the debtor's page, in
Chromium; no violation of serious or critical impact. Closed ``<details>`` are opened first, so the forms a
clerk opens on demand are checked too; each tab of the case file is checked as its own page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

SERIOUS = {"serious", "critical"}


def serious_violations(page: Any) -> list[str]:
    """The page's serious and critical axe violations, one line each with the elements they concern."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("networkidle")
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    results = Axe().run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


def check(page: Any, base: str, paths: list[str]) -> list[str]:
    found: list[str] = []
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        found += serious_violations(page)
    return found


@pytest.fixture
def admin(company: Any) -> Any:
    from django.contrib.auth import get_user_model

    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="anna", password=PASSWORD)
    Membership.objects.create(user=user, company=company, role="admin")
    return user


@pytest.fixture
def case(ledger: dict[str, Any], company: Any) -> dict[str, Any]:
    """Müller's case file with something on every tab: a call task, a note, a sent email and a queued letter."""
    from django.utils import timezone

    from mahnwerk.collection.models import Task
    from mahnwerk.comms.models import OutboundMessage
    from mahnwerk.work.notes import add_note

    mueller = ledger["mueller"]
    Task.objects.create(company=company, debtor=mueller, kind="call", due_on=timezone.localdate())
    add_note(company, mueller, "Buchhaltung ruft am Montag zurück.", author="user:bob")
    common = {"company": company, "debtor": mueller, "language": "de", "business_date": timezone.localdate()}
    email = OutboundMessage.objects.create(
        **common,
        channel="email",
        recipient="ap@1.example",
        subject="Zahlungserinnerung R-100",
        body_text="Guten Tag,\n\nbitte zahlen Sie 1.000,00 EUR.",
        message_id="<a11y-1@mahnwerk.example>",
        status="sent",
        sent_at=timezone.now() - timedelta(hours=1),
    )
    letter = OutboundMessage.objects.create(
        **common,
        channel="letter",
        recipient="Bäckerei Müller",
        subject="Mahnung R-100",
        body_text="Sehr geehrte Damen und Herren, ...",
        message_id="<a11y-2@mahnwerk.example>",
    )
    return {"debtor": mueller, "email": email, "letter": letter}


def _sign_in(page: Any, base: str, name: str) -> None:
    page.goto(base + "/")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def test_the_sign_in_page_and_the_debtors_page(page: Any, live_server: Any, case: dict[str, Any]) -> None:
    from mahnwerk.web.portal.links import portal_path

    found = check(page, live_server.url, ["/accounts/login/"])
    found += check(page, live_server.url, [portal_path(case["debtor"])])
    page.goto(live_server.url + "/portal/not-a-valid-token/")
    found += serious_violations(page)  # the clear page for a bad link
    assert not found, "\n".join(found)


def test_the_case_file_every_tab_and_a_message(
    signed_in: Any, live_server: Any, case: dict[str, Any]
) -> None:
    debtor = case["debtor"]
    tabs = ["overview", "items", "conversation", "agreements", "documents", "details"]
    paths = [f"/debtors/{debtor.pk}/?tab={tab}" for tab in tabs]
    paths += [
        f"/debtors/{debtor.pk}/messages/{case['email'].pk}/",
        f"/debtors/{debtor.pk}/messages/{case['letter'].pk}/",
    ]
    found = check(signed_in, live_server.url, paths)
    assert not found, "\n".join(found)


def test_home_lists_and_queues(signed_in: Any, live_server: Any, case: dict[str, Any]) -> None:
    found = check(
        signed_in, live_server.url, ["/", "/debtors/", "/work/", "/payments/review/", "/partners/", "/kpi/"]
    )
    assert not found, "\n".join(found)


def test_the_run_page(signed_in: Any, live_server: Any, case: dict[str, Any]) -> None:
    found = check(signed_in, live_server.url, ["/run/"])
    assert not found, "\n".join(found)


def test_the_admin_pages(page: Any, live_server: Any, case: dict[str, Any], admin: Any, company: Any) -> None:
    from mahnwerk.collection.models import Playbook

    _sign_in(page, live_server.url, "anna")
    playbook = Playbook.objects.filter(company=company).first()
    assert playbook is not None
    paths = ["/playbooks/", f"/playbooks/{playbook.pk}/", "/templates/", "/settings/", "/users/"]
    found = check(page, live_server.url, paths)
    # the editor of the first template listed
    page.goto(live_server.url + "/templates/")
    editor = (
        page.locator("a[href*='/templates/']").filter(has_not_text="Templates").first.get_attribute("href")
    )
    assert editor
    found += check(page, live_server.url, [editor])
    assert not found, "\n".join(found)


def test_the_first_start_page(
    page: Any, live_server: Any, db: None, shoot: Callable[[Any, str], None]
) -> None:
    """A fresh installation (no company, no user) opens the first-start page instead of the sign-in."""
    found = check(page, live_server.url, ["/setup/"])
    assert not found, "\n".join(found)


def test_the_case_file_works_with_and_without_javascript(
    signed_in: Any, browser: Any, live_server: Any, case: dict[str, Any], shoot: Callable[[Any, str], None]
) -> None:
    from playwright.sync_api import expect

    page = signed_in
    debtor = case["debtor"]
    page.goto(f"{live_server.url}/debtors/{debtor.pk}/")
    tabs = page.get_by_test_id("case-tabs")
    page.evaluate("window.sameDocument = true")
    tabs.get_by_role("link", name="Conversation").click()
    expect(page.locator("#tab-conversation")).to_be_visible()
    expect(page.locator("#tab-overview")).to_be_hidden()
    assert page.url.endswith("?tab=conversation") and page.evaluate("window.sameDocument === true")
    # the call form shows the fields of the chosen outcome only
    call = page.get_by_test_id("call-form")
    outcome, promised_on = (
        call.get_by_label("Outcome of the call"),
        call.get_by_label("Promised payment date"),
    )
    reason = call.get_by_label("Reason of the dispute")
    outcome.select_option("reached")
    expect(promised_on).to_be_hidden()
    expect(reason).to_be_hidden()
    outcome.select_option("promised")
    expect(promised_on).to_be_visible()
    expect(reason).to_be_hidden()
    outcome.select_option("disputed")
    expect(reason).to_be_visible()
    expect(promised_on).to_be_hidden()
    expect(promised_on).to_be_disabled()  # a hidden field is not sent
    # a note, written on the conversation, stays there
    page.get_by_text("Write a note").click()
    page.get_by_test_id("note-form").get_by_label("Note:").fill("Rückruf vereinbart für Donnerstag")
    page.get_by_role("button", name="Save note").click()
    page.get_by_text("Note saved.").wait_for()
    expect(page.locator("#tab-conversation")).to_be_visible()
    notes = page.get_by_test_id("timeline-note")
    expect(notes.filter(has_text="Rückruf vereinbart für Donnerstag")).to_have_count(1)
    shoot(page, "debtor-conversation")
    # the message as it went out, one click away, its HTML part in the sealed frame
    page.get_by_test_id("timeline").get_by_role("link", name="Zahlungserinnerung R-100").click()
    expect(page.get_by_test_id("message-state").locator("[data-state=sent]")).to_be_visible()
    frame = page.frame_locator("iframe[data-testid=message-html]")
    expect(frame.get_by_text("bitte zahlen Sie 1.000,00 EUR.")).to_be_visible()
    shoot(page, "message")

    # without JavaScript, each tab is a page of its own and the call form shows all its fields
    plain = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", java_script_enabled=False
    )
    plain.add_cookies(page.context.cookies())
    other = plain.new_page()
    try:
        other.goto(f"{live_server.url}/debtors/{debtor.pk}/")
        other.get_by_test_id("case-tabs").get_by_role("link", name="Conversation").click()
        other.wait_for_url(f"{live_server.url}/debtors/{debtor.pk}/?tab=conversation")
        expect(other.locator("#tab-conversation")).to_be_visible()
        expect(other.get_by_test_id("call-form").get_by_label("Promised payment date")).to_be_visible()
        expect(other.get_by_test_id("call-form").get_by_label("Reason of the dispute")).to_be_visible()
    finally:
        plain.close()
