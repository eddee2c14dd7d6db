"""The work queue: one row per debtor with every kind of work waiting, filters, assignment and bulk actions,
roles, company isolation and a bounded number of queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from mahnwerk.collection.agreements_models import Promise
from mahnwerk.collection.models import Action, ActionItem, Playbook, Task, TaskStatus
from mahnwerk.ledger.models import BankAccount, BankStatement, Debtor, StatementEntry, TimelineEvent
from mahnwerk.work import services as work
from mahnwerk.work.models import WorkAssignment

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

TODAY = date(2026, 11, 20)


def _task(debtor: Any, kind: str, due: date = TODAY) -> Task:
    return Task.objects.create(company=debtor.company, debtor=debtor, kind=kind, due_on=due)


def _payment_to_review(debtor: Any, amount_minor: int) -> StatementEntry:
    account, _new = BankAccount.objects.get_or_create(company=debtor.company, iban=debtor.company.iban)
    statement = BankStatement.objects.create(
        company=debtor.company,
        account=account,
        statement_id=f"S-{debtor.number}",
        format="camt.053",
        file_hash="x",
    )
    return StatementEntry.objects.create(
        company=debtor.company,
        account=account,
        statement=statement,
        key=f"k-{debtor.number}",
        position="1",
        value_date=TODAY - timedelta(days=1),
        amount_minor=amount_minor,
        currency="EUR",
        credit=True,
        status="review",
        debtor=debtor,
        counterparty_name=debtor.name,
    )


def _end_of_playbook(company: Any, invoice: Any) -> None:
    """The invoice has had the last step of the default playbook."""
    playbook = Playbook.objects.get(company=company, is_default=True)
    last = playbook.steps.order_by("-level").first()
    assert last is not None
    action = Action.objects.create(
        company=company,
        debtor=invoice.debtor,
        as_of=TODAY - timedelta(days=20),
        key=Action.make_key(invoice.debtor_id, TODAY - timedelta(days=20)),
        playbook=playbook,
        step=last,
        level=last.level,
        channel=last.channel,
        tone=last.tone,
    )
    ActionItem.objects.create(action=action, invoice=invoice, level=last.level, open_minor=invoice.open_minor)


@pytest.fixture
def acme(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    from mahnwerk.collection.agreements import open_dispute, propose_plan

    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    r100 = make_invoice(mueller, "R-100", "1000.00", "2026-09-01")
    r101 = make_invoice(mueller, "R-101", "200.00", "2026-10-01")
    _task(mueller, "call", TODAY - timedelta(days=2))
    _task(mueller, "review")
    open_dispute(company, r101, "not_satisfactory", actor="test")
    Promise.objects.create(
        company=company,
        debtor=mueller,
        made_on=TODAY - timedelta(days=10),
        promised_date=TODAY,
        amount_minor=100_000,
        currency="EUR",
        grace_days=3,
    ).invoices.add(r100)
    ozols = make_debtor(name='SIA "Ozols"', number="K0002", language="lv", jurisdiction="LV")
    r200 = make_invoice(ozols, "R-200", "400.00", "2026-11-01")
    propose_plan(company, ozols, [r200], 12, actor="test")  # outside the limits: waits for approval
    schmidt = make_debtor(name="Schmidt KG", number="K0003")
    make_invoice(schmidt, "R-300", "50.00", "2026-11-10")
    _payment_to_review(schmidt, 5_000)
    _task(schmidt, "address_research", TODAY + timedelta(days=3))  # not due yet: not in the queue
    weber = make_debtor(name="Weber AG", number="K0004")
    r400 = make_invoice(weber, "R-400", "3000.00", "2026-06-01")
    _end_of_playbook(company, r400)
    _task(weber, "time_barred")
    quiet = make_debtor(name="Ruhig GmbH", number="K0005")
    make_invoice(quiet, "R-500", "80.00", "2026-12-20")  # nothing waits for a person
    return {"mueller": mueller, "ozols": ozols, "schmidt": schmidt, "weber": weber, "quiet": quiet}


def _rows(client: Client, query: str = "") -> dict[str, Any]:
    response = client.get("/work/" + query)
    assert response.status_code == 200
    return {row.debtor.number: row for row in response.context["rows"]}


def test_one_row_per_debtor_with_every_kind(alice: Client, acme: dict[str, Any]) -> None:
    rows = _rows(alice)
    assert set(rows) == {"K0001", "K0002", "K0003", "K0004"}
    assert rows["K0001"].kinds == ["call", "review", "dispute", "promise_due"]
    assert rows["K0002"].kinds == ["plan_approval"]
    assert rows["K0003"].kinds == ["payment_review"]
    assert sorted(rows["K0004"].kinds) == ["end_of_playbook", "time_barred"]
    # the money at stake is the overdue amount; without a prediction the priority comes from the age
    assert rows["K0001"].amount_minor == 120_000
    assert rows["K0004"].priority_basis == "age"
    assert rows["K0004"].risk == 1.0  # 172 days overdue
    assert rows["K0003"].risk == pytest.approx(10 / 90)
    html = alice.get("/work/").content.decode()
    assert html.count('data-debtor="K0001"') == 1
    assert "Promise due today" in html and "Playbook ended" in html


def test_payments_of_unknown_payers_are_named_apart(alice: Client, acme: dict[str, Any]) -> None:
    entry = _payment_to_review(acme["quiet"], 7_000)
    StatementEntry.objects.filter(pk=entry.pk).update(debtor=None)
    response = alice.get("/work/")
    assert "K0005" not in {row.debtor.number for row in response.context["rows"]}
    assert "1 payment from an unknown payer waits for review." in response.content.decode()


def test_end_of_playbook_agrees_with_the_run(company: Any, acme: dict[str, Any]) -> None:
    from mahnwerk.collection.services import decide_debtor
    from mahnwerk.core.playbook import Held

    Task.objects.filter(debtor=acme["weber"]).delete()
    assert decide_debtor(company, acme["weber"], TODAY).held is Held.END_OF_PLAYBOOK
    rows = {row.debtor_id: row for row in work.queue(company).page.object_list}
    assert rows[acme["weber"].pk].kinds == ["end_of_playbook"]


def test_prediction_sets_the_priority(company: Any, alice: Client, acme: dict[str, Any]) -> None:
    from mahnwerk.insights.models import InvoicePrediction
    from mahnwerk.ledger.models import Invoice

    invoice = Invoice.objects.get(number="R-300")
    InvoicePrediction.objects.create(
        invoice=invoice, company=company, as_of=TODAY, open_minor=5_000, p_late=0.73, model_version="t"
    )
    row = _rows(alice)["K0003"]
    assert row.priority_basis == "prediction" and row.risk_percent == 73
    assert "73 %" in alice.get("/work/?kind=payment_review").content.decode()


def test_filters_and_sorting(alice: Client, acme: dict[str, Any]) -> None:
    assert set(_rows(alice, "?kind=dispute")) == {"K0001"}
    assert set(_rows(alice, "?kind=plan_approval")) == {"K0002"}
    assert set(_rows(alice, "?assignee=mine")) == set()
    assert set(_rows(alice, "?assignee=unassigned")) == {"K0001", "K0002", "K0003", "K0004"}
    by_amount = list(_rows(alice, "?sort=amount"))
    assert by_amount[0] == "K0004"  # 3000.00 overdue
    by_age = list(_rows(alice, "?sort=age"))
    assert by_age == ["K0004", "K0001", "K0003", "K0002"]  # last step 20 days ago, a call since 2 days, ...


def test_assign_and_filter_by_assignee(alice: Client, bob: Client, acme: dict[str, Any]) -> None:
    from django.contrib.auth import get_user_model

    bob_user = get_user_model().objects.get(username="bob")
    ids = [acme["mueller"].pk, acme["ozols"].pk]
    response = alice.post("/work/bulk", {"action": "assign", "user": bob_user.pk, "debtor": ids}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert "Bäckerei Müller: Assigned to bob." in texts
    assert WorkAssignment.objects.filter(user=bob_user).count() == 2
    assert TimelineEvent.objects.filter(debtor=acme["mueller"], kind="work_assigned").count() == 1
    assert set(_rows(bob, "?assignee=mine")) == {"K0001", "K0002"}
    assert set(_rows(alice, f"?assignee={bob_user.pk}")) == {"K0001", "K0002"}
    assert set(_rows(alice, "?assignee=unassigned")) == {"K0003", "K0004"}
    assert bob.get("/work/counts").content.decode() == "4 waiting, 2 mine"
    assert alice.get("/work/counts").content.decode() == "4 waiting, 0 mine"
    # assigning again to the same user is refused, with the reason
    response = alice.post(
        "/work/bulk", {"action": "assign", "user": bob_user.pk, "debtor": ids[:1]}, follow=True
    )
    assert "Bäckerei Müller: Already assigned to bob." in [str(m) for m in response.context["messages"]]
    # a viewer is no one to give work to
    carol = get_user_model().objects.create_user(username="carol2")
    from mahnwerk.web.models import Membership

    Membership.objects.create(user=carol, company=acme["mueller"].company, role="viewer")
    response = alice.post("/work/bulk", {"action": "assign", "user": carol.pk, "debtor": ids}, follow=True)
    assert WorkAssignment.objects.filter(user=carol).count() == 0
    # the timeline of the case file names the assignment
    page = alice.get(f"/debtors/{acme['mueller'].pk}/").content.decode()
    assert "Work assigned to bob" in page


def test_bulk_done_and_postpone(bob: Client, acme: dict[str, Any]) -> None:
    mueller, ozols = acme["mueller"], acme["ozols"]
    response = bob.post("/work/bulk", {"action": "done", "debtor": [mueller.pk, ozols.pk]}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert "Bäckerei Müller: Tasks done: Phone call, Review a reply." in texts
    assert 'SIA "Ozols": No open task is waiting.' in texts
    assert not Task.objects.filter(debtor=mueller, status=TaskStatus.OPEN).exists()
    assert Task.objects.filter(debtor=mueller, status=TaskStatus.DONE, done_by="user:bob").count() == 2
    assert _rows(bob)["K0001"].kinds == ["dispute", "promise_due"]
    assert TimelineEvent.objects.filter(debtor=mueller, kind="work_task_done", actor="user:bob").count() == 2
    weber = acme["weber"]
    response = bob.post("/work/bulk", {"action": "postpone", "days": "3", "debtor": [weber.pk]}, follow=True)
    assert Task.objects.get(debtor=weber).due_on == TODAY + timedelta(days=3)
    assert TimelineEvent.objects.filter(debtor=weber, kind="work_task_postponed").count() == 1
    assert _rows(bob)["K0004"].kinds == ["end_of_playbook"]
    response = bob.post("/work/bulk", {"action": "postpone", "days": "0", "debtor": [weber.pk]}, follow=True)
    assert "Postpone by 1 to 365 days." in [str(m) for m in response.context["messages"]]


def test_bulk_send_now_with_a_refusal(company: Any, bob: Client, acme: dict[str, Any], outbox: Any) -> None:
    from mahnwerk.collection.services import set_hold

    schmidt, ozols = acme["schmidt"], acme["ozols"]
    set_hold(company, ozols, True, "Klärung")
    response = bob.post("/work/bulk", {"action": "send_now", "debtor": [schmidt.pk, ozols.pk]}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any(t.startswith("Schmidt KG: Step ") and t.endswith(" is on its way.") for t in texts), texts
    assert 'SIA "Ozols": The debtor is on hold.' in texts
    assert Action.objects.filter(debtor=schmidt).count() == 1
    assert not Action.objects.filter(debtor=ozols).exists()


def test_a_request_without_action_or_rows_does_nothing(bob: Client, acme: dict[str, Any]) -> None:
    mueller = acme["mueller"]
    response = bob.post("/work/bulk", {"action": "", "debtor": [mueller.pk], "days": "7"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Choose what to do with the selected rows."]
    response = bob.post("/work/bulk", {"action": "done"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Select at least one row."]
    assert Task.objects.filter(debtor=mueller, status=TaskStatus.OPEN).count() == 2


def test_a_viewer_reads_but_cannot_act(carol: Client, acme: dict[str, Any]) -> None:
    page = carol.get("/work/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="debtor"' not in html and "Mark tasks done" not in html
    for action in ("assign", "done", "postpone", "send_now"):
        response = carol.post("/work/bulk", {"action": action, "debtor": [acme["mueller"].pk], "days": "1"})
        assert response.status_code == 403
    assert Task.objects.filter(debtor=acme["mueller"], status=TaskStatus.OPEN).count() == 2


def test_other_company_never_appears_nor_is_assigned(
    alice: Client,
    dave: Client,
    acme: dict[str, Any],
    other_company: Any,
    make_debtor: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    from django.contrib.auth import get_user_model

    baltic = make_debtor(name="Baltic Client", number="B0001", company=other_company)
    _task(baltic, "call")
    assert "B0001" not in _rows(alice)
    assert set(_rows(dave)) == {"B0001"}
    assert dave.get("/work/counts").content.decode() == "1 waiting, 0 mine"
    alice_user = get_user_model().objects.get(username="alice")
    response = alice.post(
        "/work/bulk", {"action": "assign", "user": alice_user.pk, "debtor": [baltic.pk]}, follow=True
    )
    assert f"{baltic.pk}: No such debtor." in [str(m) for m in response.context["messages"]]
    assert not WorkAssignment.objects.filter(debtor=baltic).exists()
    # dave cannot hand Acme's rows to himself, nor act on them
    dave_user = get_user_model().objects.get(username="dave")
    dave.post("/work/bulk", {"action": "assign", "user": dave_user.pk, "debtor": [acme["mueller"].pk]})
    dave.post("/work/bulk", {"action": "done", "debtor": [acme["mueller"].pk]})
    assert not WorkAssignment.objects.filter(debtor=acme["mueller"]).exists()
    assert Task.objects.filter(debtor=acme["mueller"], status=TaskStatus.OPEN).count() == 2
    # and alice cannot give Acme's rows to dave, who is no member of Acme
    alice.post("/work/bulk", {"action": "assign", "user": dave_user.pk, "debtor": [acme["mueller"].pk]})
    assert not WorkAssignment.objects.filter(debtor=acme["mueller"]).exists()


def test_the_queue_pages_without_a_cap(alice: Client, company: Any, make_debtor: Callable[..., Any]) -> None:
    for i in range(30):
        _task(make_debtor(name=f"Kunde {i}", number=f"P{i:03d}"), "call")
    first = alice.get("/work/")
    assert first.context["count"] == 30 and len(first.context["rows"]) == 25
    second = alice.get("/work/?page=2")
    assert len(second.context["rows"]) == 5
    assert not {r.debtor_id for r in first.context["rows"]} & {r.debtor_id for r in second.context["rows"]}


def _crowd(company: Any, start: int, n: int) -> None:
    """``n`` debtors, each with an overdue invoice, a call, a dispute and a payment to review."""
    from mahnwerk.collection.agreements import open_dispute
    from mahnwerk.ledger.models import Invoice

    debtors = Debtor.objects.bulk_create(
        Debtor(
            company=company,
            number=f"N{i:05d}",
            name=f"Kunde {i}",
            language="de",
            jurisdiction="DE",
            time_zone="Europe/Berlin",
        )
        for i in range(start, start + n)
    )
    invoices = Invoice.objects.bulk_create(
        Invoice(
            company=company,
            debtor=d,
            number=f"{d.number}-1",
            issue_date=date(2026, 8, 1),
            due_date=date(2026, 9, 1),
            amount_minor=10_000,
            open_minor=10_000,
            currency="EUR",
        )
        for d in debtors
    )
    Task.objects.bulk_create(Task(company=company, debtor=d, kind="call", due_on=TODAY) for d in debtors)
    for invoice in invoices:
        open_dispute(company, invoice, "not_satisfactory", actor="test")
    for d in debtors:
        _payment_to_review(d, 1_000)


def _count(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_queries_are_bounded(alice: Client, company: Any) -> None:
    from django.core.cache import cache

    _crowd(company, 0, 3)
    urls = ["/work/", "/work/?sort=amount&assignee=unassigned", "/work/?kind=call&page=2"]
    small = [_count(alice, url) for url in urls]
    _crowd(company, 3, 50)
    WorkAssignment.objects.bulk_create(
        WorkAssignment(company=company, debtor=d, user_id=alice.session["_auth_user_id"], assigned_by="t")
        for d in Debtor.objects.filter(company=company)[:20]
    )
    cache.clear()
    large = [_count(alice, url) for url in urls]
    assert small == large, (small, large)
    assert max(large) <= 25, large
    assert len(alice.get("/work/").context["rows"]) == 25
    # the navigation's counts: after session, user and membership one query, and one of index look-ups for the
    # version of the kept end-of-playbook debtors (work.services.ended_playbooks)
    assert _count(alice, "/work/counts") <= 5
    assert alice.get("/work/counts").content.decode() == "53 waiting, 20 mine"
