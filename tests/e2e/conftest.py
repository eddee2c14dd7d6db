"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Skipped (``needs_chromium``) when /usr/bin/chromium is missing (``make e2e-setup`` installs it). Screenshots of the main pages
land in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct-horse-battery"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's Chromium at /usr/bin/chromium: run 'make e2e-setup'",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which Django's async-safety check
    # would take for async code; the ORM calls of these tests are synchronous. Allowed for this module only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def shoot() -> Callable[[Any, str], None]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def ledger(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    """Two debtors with overdue invoices (relative to today), a collector "bob"."""
    from django.contrib.auth import get_user_model

    from mahnwerk.ledger.services import company_today
    from mahnwerk.web.models import Membership

    today = company_today(company)
    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    ozols = make_debtor(name='SIA "Ozols"', number="K0002", language="lv", jurisdiction="LV")
    day = lambda n: (today + timedelta(days=n)).isoformat()  # noqa: E731
    make_invoice(mueller, "R-100", "1000.00", day(-50))
    make_invoice(mueller, "R-101", "250.00", day(20))
    make_invoice(ozols, "R-200", "400.00", day(-10))
    user = get_user_model().objects.create_user(username="bob", password=PASSWORD)
    Membership.objects.create(user=user, company=company, role="collector")
    return {"mueller": mueller, "ozols": ozols}


@pytest.fixture
def signed_in(page: Any, live_server: Any, ledger: dict[str, Any]) -> Any:
    page.goto(live_server.url + "/")
    page.get_by_label("User name").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")
    # the navigation's counts load after the page: let the server finish them before a test writes to the
    # database (SQLite's shared in-memory test database refuses a write while another thread reads a table)
    page.wait_for_load_state("networkidle")
    return page
