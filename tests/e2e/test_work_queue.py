"""A clerk's morning in the work queue: take two rows, finish the call of one of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import needs_chromium

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def test_assign_two_rows_to_oneself_and_mark_one_done(
    signed_in: Any, live_server: Any, ledger: dict[str, Any], shoot: Callable[[Any, str], None]
) -> None:
    from mahnwerk.collection.models import Task, TaskStatus
    from mahnwerk.ledger.services import company_today

    mueller, ozols = ledger["mueller"], ledger["ozols"]
    today = company_today(mueller.company)
    Task.objects.create(company=mueller.company, debtor=mueller, kind="call", due_on=today)
    Task.objects.create(company=ozols.company, debtor=ozols, kind="review", due_on=today)
    page = signed_in
    page.reload()
    counts = page.get_by_test_id("work-counts")
    counts.get_by_text("2 waiting, 0 mine").wait_for()  # loaded after the page
    page.get_by_role("link", name="Work").click()
    page.get_by_role("heading", name="Work queue").wait_for()
    queue = page.get_by_test_id("work-queue")
    assert queue.locator("tbody tr").count() == 2
    # select both rows from the keyboard: tab to the checkbox, space ticks it
    page.get_by_label("Select Bäckerei Müller").focus()
    page.keyboard.press("Space")
    page.get_by_label('Select SIA "Ozols"').check()
    assert page.get_by_label("User", exact=True).input_value() == str(
        Task.objects.get(debtor=mueller).company.memberships.get(user__username="bob").user_id
    )
    shoot(page, "work-queue")
    page.get_by_role("button", name="Assign", exact=True).click()
    page.get_by_text("Bäckerei Müller: Assigned to bob.").wait_for()
    assert page.get_by_text('SIA "Ozols": Assigned to bob.').is_visible()
    counts.get_by_text("2 waiting, 2 mine").wait_for()
    # only mine
    page.get_by_label("Assigned to").select_option("mine")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**assignee=mine**")
    assert queue.locator("tbody tr").count() == 2
    assert queue.locator("td[data-testid=assignee]").all_inner_texts() == ["bob", "bob"]
    # the call with Müller is done
    page.get_by_label("Select Bäckerei Müller").check()
    page.get_by_role("button", name="Mark tasks done").click()
    page.get_by_text("Bäckerei Müller: Tasks done: Phone call.").wait_for()
    assert queue.locator("tbody tr").count() == 1
    assert queue.locator("tr[data-debtor=K0002]").count() == 1
    assert Task.objects.get(debtor=mueller).status == TaskStatus.DONE
    assert Task.objects.get(debtor=ozols).status == TaskStatus.OPEN
    counts.get_by_text("1 waiting, 1 mine").wait_for()
    # the assignment is on the debtor's timeline
    page.goto(f"{live_server.url}/debtors/{ozols.pk}/?tab=conversation")
    assert page.get_by_test_id("timeline").get_by_text("Work assigned to bob").is_visible()
