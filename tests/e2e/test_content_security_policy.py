"""The Content-Security-Policy in a real browser: the clerk pages, the template editor (HTMX preview, the email
in its frame), the language switch, the question before a reset and the debtor's portal run without a single
violation, and the inline handlers the policy allows by hash still work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def test_no_page_breaks_the_policy(
    page: Any, live_server: Any, ledger: dict[str, Any], company: Any, shoot: Callable[[Any, str], None]
) -> None:
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect

    from mahnwerk.web.models import Membership
    from mahnwerk.web.portal.links import portal_path

    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: violations.append(str(error)))
    questions: list[str] = []

    def answer(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)

    user = get_user_model().objects.create_user(username="alice", password=PASSWORD)
    Membership.objects.create(user=user, company=company, role="admin")
    page.goto(live_server.url + "/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")

    page.get_by_role("link", name="Debtors", exact=True).click()
    page.get_by_label("Search").fill("Müller")
    expect(page.locator("#results tbody tr")).to_have_count(1)  # HTMX ran
    page.locator("#results").get_by_role("link", name="Bäckerei Müller").click()
    page.get_by_test_id("case-tabs").get_by_role("link", name="Items and payments").click()  # casefile.js
    page.get_by_test_id("open-items").wait_for()
    # a message as it went out: its HTML part in a sandboxed frame (srcdoc) under the page's policy
    from mahnwerk.comms.models import OutboundMessage

    page.wait_for_load_state("networkidle")
    email = OutboundMessage.objects.create(
        company=company,
        debtor=ledger["mueller"],
        channel="email",
        recipient="ap@1.example",
        language="de",
        subject="Zahlungserinnerung R-100",
        body_text="Guten Tag,\n\nbitte zahlen Sie.",
        message_id="<csp-1@mahnwerk.example>",
    )
    page.goto(f"{live_server.url}/debtors/{ledger['mueller'].pk}/messages/{email.pk}/")
    frame = page.frame_locator("iframe[data-testid=message-html]")
    expect(frame.get_by_text("bitte zahlen Sie.")).to_be_visible()

    page.goto(live_server.url + "/templates/email/reminder/friendly/en/")
    page.get_by_label("Customer number to preview for:").fill("K0001")
    page.get_by_label("Text:", exact=True).fill("Dear {{ debtor.name }},\n\nplease pay {{ total }}.")
    page.get_by_test_id("preview-text").get_by_text("please pay").wait_for()
    page.get_by_test_id("preview-html").wait_for()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Template saved").wait_for()

    # the language switch is an inline onchange handler: allowed by its hash
    page.locator("#language-switch").select_option("de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    # the question before a reset is an inline onsubmit handler, in German now: allowed by its hash too
    page.locator("form[action$='/reset'] button").click()
    expect(page.locator("form[action$='/reset']")).to_have_count(0)  # confirmed, reset to the shipped text
    assert questions == ["Den bearbeiteten Text verwerfen?"]
    shoot(page, "template-reset-de")

    page.goto(live_server.url + portal_path(ledger["mueller"]))
    page.get_by_text("R-100").first.wait_for()
    page.goto(live_server.url + "/kpi/")
    page.goto(live_server.url + "/run/")
    assert violations == []
