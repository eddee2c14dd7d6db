"""The clerk previews today's run, leaves one debtor out and approves the rest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.conftest import needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def test_approve_all_but_one_excluded_debtor(
    signed_in: Any,
    live_server: Any,
    ledger: dict[str, Any],
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
    outbox: Any,
    shoot: Callable[[Any, str], None],
) -> None:
    from mahnwerk.collection.models import Action
    from mahnwerk.comms.models import OutboundMessage
    from mahnwerk.ledger.models import TimelineEvent
    from mahnwerk.ledger.services import company_today

    mueller, ozols = ledger["mueller"], ledger["ozols"]
    today = company_today(mueller.company)
    weber = make_debtor(name="Weber KG", number="K0003")
    make_invoice(weber, "R-300", "600.00", (today - timedelta(days=30)).isoformat())
    page = signed_in
    page.get_by_role("link", name="Today's run").first.click()
    page.get_by_role("heading", name="Today's run").wait_for()
    rows = page.get_by_test_id("run-rows")
    assert sorted(rows.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.debtor)")) == [
        "K0001",
        "K0002",
        "K0003",
    ]
    mueller_row = rows.locator("tr[data-debtor=K0001]")
    assert "R-100" in mueller_row.inner_text() and "€1,000.00" in mueller_row.inner_text()
    # Ozols is left out of today's run
    page.get_by_role("button", name='Leave SIA "Ozols" out of today\'s run').click()
    page.get_by_text('SIA "Ozols" is left out of today\'s run.').wait_for()
    assert rows.locator("tr[data-debtor=K0002]").get_attribute("data-kind") == "excluded"
    assert rows.locator("tr[data-debtor=K0002]").get_by_text("Left out of today's run").is_visible()
    shoot(page, "run-preview")
    assert Action.objects.count() == 0  # the preview and the exclusion write nothing yet
    page.get_by_role("button", name="Approve and run").click()
    page.get_by_text("Run done.").wait_for()
    page.wait_for_load_state("networkidle")
    # the outbox: a message for Müller and Weber, none for Ozols
    written = set(OutboundMessage.objects.values_list("debtor__number", flat=True))
    assert written == {"K0001", "K0003"}
    assert not Action.objects.filter(debtor=ozols).exists()
    event = TimelineEvent.objects.get(debtor=ozols, kind="run_excluded")
    assert event.actor == "user:bob"
    # the exclusion is on Ozols's timeline, with the clerk
    page.goto(f"{live_server.url}/debtors/{ozols.pk}/?tab=conversation")
    page.get_by_text("Left out of this day's run by a person").first.wait_for()
    # it held for that run only: the run page decides Ozols afresh
    page.goto(f"{live_server.url}/run/")
    assert (
        page.get_by_test_id("run-rows").locator("tr[data-debtor=K0002]").get_attribute("data-kind") == "due"
    )
