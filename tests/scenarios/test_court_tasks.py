"""The deadlines after a court application become tasks: once each, shown with their labels, done when the
application's items are paid, cancelled when it is withdrawn; the Latvian warning procedure and the European
Small Claims form noted on the debtor's timeline."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mahnwerk.collection.models import COURT_TASK_KINDS, Task, TaskStatus
from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.models import TimelineEvent
from mahnwerk.ledger.timeline import describe
from mahnwerk.work.services import queue

from .test_escalation import latvian_consumer, run_json

D = date.fromisoformat


def court_tasks(debtor: Any, status: str = TaskStatus.OPEN) -> list[tuple[str, date]]:
    return list(
        Task.objects.filter(debtor=debtor, kind__in=COURT_TASK_KINDS, status=status)
        .order_by("due_on")
        .values_list("kind", "due_on")
    )


@pytest.fixture
def german(make_debtor: Any, make_invoice: Any) -> Any:
    debtor = make_debtor(street="Lindenweg 5", postcode="20095", city="Hamburg", country="DE")
    make_invoice(debtor, "RE-100", "1234.56", "2025-03-03", issue="2025-02-01")
    make_invoice(debtor, "RE-101", "100.00", "2025-04-03", issue="2025-03-01")
    return debtor


@pytest.mark.django_db
def test_the_deadlines_of_a_mahnantrag_become_tasks_once(company: Any, german: Any) -> None:
    data = run_json("court", "mahnantrag", german.number, "--date", "2025-08-15")
    # service assumed 7 days after 2025-08-15: 2025-08-22; two weeks later 2025-09-05 (§ 692 ZPO); six months
    # after service 2026-02-22 (§ 701 ZPO), a Sunday: Monday 2026-02-23 (§ 222 (2) ZPO)
    assert [(t["task"], t["due"]) for t in data["deadlines"]] == [
        ("court_objection", "2025-09-05"),
        ("court_enforcement", "2026-02-23"),
    ]
    assert court_tasks(german) == [
        ("court_objection", D("2025-09-05")),
        ("court_enforcement", D("2026-02-23")),
    ]
    objection = Task.objects.get(debtor=german, kind="court_objection")
    assert "§ 692 ZPO" in objection.notes
    assert str(objection.get_kind_display()) == "Court: check whether the debtor objected"
    # prepared again the same day and a week later: no second set of tasks, no deadline moved later
    run_json("court", "mahnantrag", german.number, "--date", "2025-08-15")
    run_json("court", "mahnantrag", german.number, "--date", "2025-08-22")
    assert court_tasks(german) == [
        ("court_objection", D("2025-09-05")),
        ("court_enforcement", D("2026-02-23")),
    ]
    [created] = TimelineEvent.objects.filter(debtor=german, kind="court_tasks_created")
    assert describe(created) == (
        "Court deadlines on the task list: check for an objection on 2025-09-05, apply for the enforcement "
        "order by 2026-02-23"
    )
    assert TimelineEvent.objects.filter(debtor=german, kind="court_order_prepared").count() == 2


@pytest.mark.django_db
def test_without_record_no_tasks(company: Any, german: Any) -> None:
    run_json("court", "mahnantrag", german.number, "--date", "2025-08-15", "--no-record")
    assert court_tasks(german) == []


@pytest.mark.django_db
def test_court_tasks_wait_in_the_work_queue_with_their_labels_when_due(company: Any, german: Any) -> None:
    run_json("court", "mahnantrag", german.number, "--date", "2025-08-15")

    def labels(today: str) -> list[str]:
        rows = [r for r in queue(company, today=D(today)).page.object_list if r.debtor_id == german.pk]
        return [label for r in rows for label in r.kind_labels if label.startswith("Court")]

    assert labels("2025-09-04") == []  # not due yet
    assert labels("2025-09-05") == ["Court: check for an objection"]
    assert labels("2026-02-22") == ["Court: check for an objection"]
    assert labels("2026-02-23") == ["Court: check for an objection", "Court: enforcement order"]


@pytest.mark.django_db
def test_the_tasks_are_done_once_the_application_is_paid(company: Any, german: Any, pay: Any) -> None:
    run_json("court", "mahnantrag", german.number, "--date", "2025-08-15")
    pay(german, "100.00", "2025-08-20")  # a part: the deadlines stand
    assert len(court_tasks(german)) == 2
    st = statement(company, german.pk, "business", D("2025-08-25"))
    total = st["totals"]["EUR"]["total_open_minor"]
    pay(german, f"{total // 100}.{total % 100:02d}", "2025-08-25")
    assert court_tasks(german) == []
    assert [k for k, _due in court_tasks(german, TaskStatus.DONE)] == ["court_objection", "court_enforcement"]
    [done] = TimelineEvent.objects.filter(debtor=german, kind="court_tasks_done")
    assert done.business_date == D("2025-08-25")
    assert describe(done) == "Court deadline tasks done: every item of the application is paid"


@pytest.mark.django_db
def test_an_invoice_outside_the_application_does_not_keep_its_tasks_open(
    company: Any, german: Any, make_invoice: Any, pay: Any
) -> None:
    run_json("court", "mahnantrag", german.number, "--date", "2025-08-15")
    make_invoice(german, "RE-200", "50.00", "2025-09-30", issue="2025-08-31")  # billed after the application
    st = statement(company, german.pk, "business", D("2025-08-25"))
    owed = sum(line["total_open_minor"] for line in st["lines"] if line["number"] in ("RE-100", "RE-101"))
    for line in st["lines"]:
        if line["number"] in ("RE-100", "RE-101"):
            amount = line["total_open_minor"]
            pay(
                german,
                f"{amount // 100}.{amount % 100:02d}",
                "2025-08-25",
                invoice=None,
                reference=line["number"],
            )
    assert owed > 0
    assert german.invoices.get(number="RE-200").open_minor == 5000  # still open, yet the application is paid
    assert court_tasks(german) == []


@pytest.mark.django_db
def test_a_withdrawn_application_cancels_its_tasks(company: Any, german: Any) -> None:
    run_json("court", "mahnantrag", german.number, "--date", "2025-08-15")
    with pytest.raises(CommandError, match="reason"):
        call_command("court", "withdraw", german.number, "--date", "2025-08-18", stdout=io.StringIO())
    out = io.StringIO()
    call_command(
        "court", "withdraw", german.number, "--date", "2025-08-18", "--reason", "paid in cash", stdout=out
    )
    assert "2 court deadline task(s)" in out.getvalue()
    assert court_tasks(german) == []
    assert len(court_tasks(german, TaskStatus.CANCELLED)) == 2
    [event] = TimelineEvent.objects.filter(debtor=german, kind="court_application_withdrawn")
    assert describe(event) == "Court application withdrawn, its deadline tasks cancelled: paid in cash"
    with pytest.raises(CommandError, match="no open court deadline tasks"):
        call_command("court", "withdraw", german.number, "--reason", "again", stdout=io.StringIO())
    # a new application after the withdrawal gets its own tasks
    run_json("court", "mahnantrag", german.number, "--date", "2025-09-01")
    assert court_tasks(german) == [
        ("court_objection", D("2025-09-22")),
        ("court_enforcement", D("2026-03-09")),  # 2026-03-08 is a Sunday
    ]


@pytest.mark.django_db
def test_the_latvian_warning_procedure_goes_on_the_timeline_and_its_deadlines_on_the_task_list(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = latvian_consumer(make_debtor, make_invoice)
    data = run_json("court", "lv-bridinajums", debtor.number, "--date", "2025-06-02")
    # other.toml: the letter gives 10 days (pay by 2025-06-12), the application from 2025-06-13; service assumed
    # 14 days later (2025-06-27), 14 days to object: 2025-07-11
    assert data["warning_letter"]["pay_by"] == "2025-06-12"
    assert data["assumed_service_on"] == "2025-06-27"
    assert court_tasks(debtor) == [
        ("court_application", D("2025-06-13")),
        ("court_objection", D("2025-07-11")),
    ]
    run_json("court", "lv-bridinajums", debtor.number, "--date", "2025-06-02")
    assert len(court_tasks(debtor)) == 2
    [written] = TimelineEvent.objects.filter(debtor=debtor, kind="lv_warning_written")
    assert written.data["pay_by"] == "2025-06-12"
    text = describe(written)
    assert text.startswith("Latvian warning procedure: warning letter written, €")
    assert "to pay by 2025-06-12" in text and "state fee €16.00" in text
    [tasks] = TimelineEvent.objects.filter(debtor=debtor, kind="lv_court_tasks_created")
    assert describe(tasks) == (
        "Warning procedure deadlines on the task list: file the application from 2025-06-13, check for an "
        "objection on 2025-07-11"
    )


@pytest.mark.django_db
def test_the_small_claims_form_is_noted_on_the_timeline_once_a_day(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor = make_debtor(
        name="SIA Koks",
        language="lv",
        country="LV",
        street="Brīvības iela 1",
        postcode="LV-1010",
        city="Rīga",
        time_zone="Europe/Riga",
        jurisdiction="DE",
    )
    make_invoice(debtor, "RE-300", "1500.00", "2025-03-03", issue="2025-02-01")
    data = run_json("court", "small-claims", debtor.number, "--date", "2025-06-02")
    run_json("court", "small-claims", debtor.number, "--date", "2025-06-02")
    [noted] = TimelineEvent.objects.filter(debtor=debtor, kind="small_claims_prepared")
    assert noted.data["invoices"] == ["RE-300"]
    assert describe(noted) == (
        f"European Small Claims Procedure: claim form A prepared, €{data['total_minor'] / 100:,.2f} "
        "(principal €1,500.00), for the court at the defendant's domicile in LV"
    )
    run_json("court", "small-claims", debtor.number, "--date", "2025-06-03", "--no-record")
    assert TimelineEvent.objects.filter(debtor=debtor, kind="small_claims_prepared").count() == 1
