"""Pages fit the window: nothing wider than a 1366 px laptop screen or a 390 px phone, and on the phone the
debtor's open amounts stay on screen (Debian's Chromium, through Playwright)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.conftest import PASSWORD, needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]

WIDTHS = [1366, 390]


@pytest.fixture
def clerk(
    browser: Any,
    live_server: Any,
    company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> dict[str, Any]:
    """An admin ("anna"), a debtor with long names and numbers and interest on its items, a call task."""
    from django.contrib.auth import get_user_model

    from mahnwerk.collection.models import Playbook, Task
    from mahnwerk.ledger.services import company_today
    from mahnwerk.web.models import Membership

    today = company_today(company)
    debtor = make_debtor(
        name="Landwirtschaftliche Genossenschaft Oberschwäbische Hochebene eG", number="K0000123456"
    )
    for k in range(3):
        make_invoice(
            debtor,
            f"RE-2026-0145{k}-TEILLIEFERUNG",
            "123456.78",
            (today - timedelta(days=60 - k)).isoformat(),
        )
    Task.objects.create(company=company, debtor=debtor, kind="call", due_on=today)
    user = get_user_model().objects.create_user(username="anna", password=PASSWORD)
    Membership.objects.create(user=user, company=company, role="admin")
    playbook = Playbook.objects.get(company=company, is_default=True)
    return {"debtor": debtor, "playbook": playbook, "url": live_server.url}


def _sign_in(browser: Any, base: str, width: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(base + "/accounts/login/")
    page.locator("#id_username").fill("anna")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(base + "/")
    return page


def _overflow(page: Any) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


@pytest.mark.parametrize("width", WIDTHS)
def test_clerk_pages_fit_the_window(browser: Any, clerk: dict[str, Any], width: int) -> None:
    base = clerk["url"]
    page = _sign_in(browser, base, width)
    try:
        for path in (
            "/",
            "/debtors/",
            f"/debtors/{clerk['debtor'].pk}/",
            "/playbooks/",
            f"/playbooks/{clerk['playbook'].pk}/",
            "/run/",
            "/kpi/",
            "/settings/",
        ):
            page.goto(base + path)
            scroll, inner = _overflow(page)
            assert scroll <= inner, f"{path} at {width} px: {scroll} px wide"
    finally:
        page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_debtor_page_keeps_the_amounts_on_screen(browser: Any, clerk: dict[str, Any], width: int) -> None:
    from mahnwerk.web.portal.links import portal_path

    context = browser.new_context(viewport={"width": width, "height": 900}, locale="de-DE")
    page = context.new_page()
    try:
        page.goto(clerk["url"] + portal_path(clerk["debtor"]))
        scroll, inner = _overflow(page)
        assert scroll <= inner, f"{scroll} px wide in a {inner} px window"
        # the open amounts (the last column of the items) are inside the window, not scrolled away
        right = page.evaluate(
            "Math.max(...[...document.querySelectorAll('[data-testid=portal-items] td.num, "
            "[data-testid=portal-items] th.num')].map(e => e.getBoundingClientRect().right))"
        )
        assert right <= inner, f"the amounts end at {right} px in a {inner} px window"
    finally:
        context.close()


def test_record_payment_is_a_few_tabs_away(browser: Any, clerk: dict[str, Any]) -> None:
    """The case file's main action comes first: the keyboard reaches "Record payment" before the agreement and
    call forms (it took 113 Tab presses when it came after them)."""
    page = _sign_in(browser, clerk["url"], 1366)
    try:
        page.goto(f"{clerk['url']}/debtors/{clerk['debtor'].pk}/?tab=items")
        presses = 0
        while (
            page.evaluate("document.activeElement.textContent.trim()") != "Zahlung erfassen" and presses < 200
        ):
            page.keyboard.press("Tab")
            presses += 1
        page.keyboard.press("Enter")  # the form opens on demand (its summary)
        while (
            page.evaluate("document.activeElement.textContent.trim()") != "Zahlung buchen" and presses < 200
        ):
            page.keyboard.press("Tab")
            presses += 1
        assert presses <= 30, presses
    finally:
        page.context.close()
