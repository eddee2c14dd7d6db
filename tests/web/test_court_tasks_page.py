"""The deadlines after a court payment order, as tasks on the case file and in the work queue with their
labels."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from mahnwerk.escalation.court import mahnantrag, record_mahnantrag

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def test_court_tasks_on_the_case_file_and_in_the_work_queue(
    bob: Client, company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-100", "1234.56", "2026-06-01", issue="2026-05-01")
    # prepared on 2026-10-20: service assumed 2026-10-27, objection period ends 2026-11-10, enforcement order
    # by 2027-04-27; today is 2026-11-20
    record_mahnantrag(company, debtor, mahnantrag(company, debtor, date(2026, 10, 20)), actor="test")
    page = bob.get(f"/debtors/{debtor.pk}/").content.decode()
    tasks = page.split('data-testid="tasks"')[1].split("</ul>")[0]
    assert "Court: check whether the debtor objected" in tasks
    assert "Court: apply for the enforcement order" in tasks
    assert "Nov 10, 2026" in tasks or "11/10/2026" in tasks
    queue = bob.get("/work/").content.decode()
    assert 'data-kind="court_objection">Court: check for an objection</span>' in queue
    assert 'data-kind="court_enforcement"' not in queue  # due only in April 2027
    assert '<option value="court_objection">Court: check for an objection</option>' in queue  # the filter
    assert "§ 692 ZPO" in queue  # the task's note as its detail
