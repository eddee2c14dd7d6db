"""What a careful clerk would never send: each story is a defect found on real data, walked day by day.

Default playbook: 1 friendly note 3 days before due; 2 reminder 7 days after due (new deadline +10 days);
3 firm reminder 14 days after step 2; 4 formal final notice 14 days after step 3. Company defaults: one
collection message per debtor within 7 days, reminders from 5.00 overdue, final notices from 50.00, a
small-balance tolerance of 1.00.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest

from mahnwerk.collection import agreements
from mahnwerk.collection import services as collection
from mahnwerk.collection.models import Action, ActionItem, Task
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.ledger.models import Invoice

D = date.fromisoformat


def walk(company: Any, first: date, last: date) -> dict[date, list[tuple[int, int]]]:
    """Run every day from ``first`` to ``last``; return the (debtor, step) of each day's actions."""
    done: dict[date, list[tuple[int, int]]] = {}
    today = first
    while today <= last:
        collection.run_collection(company, today)
        rows = list(
            Action.objects.filter(as_of=today, status="active")
            .order_by("debtor_id")
            .values_list("debtor_id", "level")
        )
        if rows:
            done[today] = rows
        today += timedelta(days=1)
    return done


def live_messages(debtor: Any) -> list[OutboundMessage]:
    """Collection and agreement messages (keeping in touch is walked through in test_keeping_in_touch.py)."""
    return list(
        OutboundMessage.objects.filter(debtor=debtor)
        .exclude(status=MessageStatus.CANCELLED)
        .exclude(message_id__contains=".keep.")
        .order_by("business_date", "id")
    )


@pytest.mark.django_db
def test_invoices_falling_due_on_different_days_make_one_conversation_not_ten_messages(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    # Five invoices, one falling due every four days. Each used to walk its own sequence: 10+ messages
    # within weeks. Now the account gets at most one collection message a week, and each lists every
    # overdue item with the total of all of them.
    debtor = make_debtor(name="Vielkauf GmbH")
    for k in range(5):
        due = D("2026-03-02") + timedelta(days=4 * k)
        make_invoice(debtor, f"RE-{k}", "200.00", due.isoformat())
    done = walk(company, D("2026-02-20"), D("2026-04-30"))
    days = sorted(done)
    assert all(b - a >= timedelta(days=7) for a, b in itertools.pairwise(days)), days
    assert len(days) <= 6
    for action in Action.objects.filter(debtor=debtor, status="active"):
        if action.level == 1:
            continue  # the note before the first due date
        overdue = {
            n
            for n, due in Invoice.objects.filter(debtor=debtor).values_list("number", "due_date")
            if due < action.as_of
        }
        named = set(action.items.values_list("invoice__number", flat=True))
        assert named == overdue, (action.as_of, named, overdue)  # every overdue item, none that is not due
        message = OutboundMessage.objects.get(action=action)
        coming = {row["number"] for row in message.payload["coming"]}
        assert not coming & named


@pytest.mark.django_db
def test_no_final_notice_over_a_few_euros(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor(name="Kleinbetrag GmbH")
    inv = make_invoice(debtor, "RE-375", "103.75", "2026-03-10")
    pay(debtor, "100.00", "2026-03-12", invoice=inv)  # 3.75 left: below the 5.00 minimum for any reminder
    assert walk(company, D("2026-03-01"), D("2026-05-30")) == {}  # not even the note before due
    big = make_debtor(name="Rest GmbH")
    inv = make_invoice(big, "RE-4375", "143.75", "2026-03-10")
    pay(big, "100.00", "2026-03-12", invoice=inv)  # 43.75 left: reminders, but no final notice under 50.00
    done = walk(company, D("2026-05-31"), D("2026-08-30"))
    levels = sorted({level for rows in done.values() for _d, level in rows})
    assert levels == [2, 3], done
    result = collection.run_collection(company, D("2026-08-31"))
    assert result.held.get("below_step_minimum") == 1


@pytest.mark.django_db
def test_a_payment_committed_during_the_run_wins(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, monkeypatch: Any
) -> None:
    # The run decides for all debtors at its start; a payment lands before the chunk is written.
    debtors = [make_debtor(name=f"Zahler {n} GmbH") for n in range(3)]
    for n, debtor in enumerate(debtors):
        make_invoice(debtor, f"RE-{n}", "500.00", "2026-03-10")
    collection.run_collection(company, D("2026-03-07"))  # notes before due

    def pay_first(ctx: Any, chunk: Any) -> None:
        assert {d.debtor_id for d in chunk} == {d.pk for d in debtors}  # all three were decided
        pay(debtors[0], "500.00", "2026-03-16", reference="RE-0")

    monkeypatch.setattr(collection, "after_decide", pay_first)
    result = collection.run_collection(company, D("2026-03-17"))
    assert result.actions_created == 2 and result.withdrawn_at_write == 1
    assert not Action.objects.filter(debtor=debtors[0], as_of=D("2026-03-17")).exists()
    assert [m.business_date for m in live_messages(debtors[0])] == [D("2026-03-07")]  # only the note


@pytest.mark.django_db
def test_the_payment_behaviour_after_a_run_knows_a_payment_made_during_it(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, monkeypatch: Any
) -> None:
    # The run reads every payment history once when it begins (the provisional segments of debtors not rated
    # yet) and keeps what it worked out for the refresh at its end: a debtor whose records changed meanwhile
    # is profiled again, the others keep theirs. What is stored must be what a refresh on its own stores.
    from mahnwerk.core.behaviour import DebtorHistory
    from mahnwerk.insights.models import DebtorInsight
    from mahnwerk.insights.services import refresh_insights

    debtors = [make_debtor(name=f"Kunde {n} GmbH") for n in range(4)]
    for n, debtor in enumerate(debtors):
        make_invoice(debtor, f"RE-{n}", "800.00", "2026-03-10")
    profiled: list[str] = []
    profile = DebtorHistory.profile

    def counted(self: Any, debtor_id: str, *args: Any, **kwargs: Any) -> Any:
        profiled.append(debtor_id)
        return profile(self, debtor_id, *args, **kwargs)

    def pay_first(ctx: Any, chunk: Any) -> None:
        pay(debtors[0], "800.00", "2026-03-20", reference="RE-0")

    monkeypatch.setattr(DebtorHistory, "profile", counted)
    monkeypatch.setattr(collection, "after_decide", pay_first)
    collection.run_collection(company, D("2026-03-24"), send=False)
    # each debtor profiled when the run began, and the one who paid once more at its end
    assert sorted(profiled) == sorted([str(d.pk) for d in debtors] + [str(debtors[0].pk)])

    def stored() -> dict[int, tuple[Any, ...]]:
        return {
            row.debtor_id: (row.segment, row.rating, row.overdue_minor, row.profile)
            for row in DebtorInsight.objects.filter(company=company)
        }

    after_run = stored()
    assert after_run[debtors[0].pk][2] == 0 and after_run[debtors[1].pk][2] == 800_00
    monkeypatch.undo()
    refresh_insights(company, D("2026-03-24"))
    assert stored() == after_run


@pytest.mark.django_db
def test_no_reminder_on_the_day_of_a_thank_you(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor(name="Versprechen GmbH")
    promised = make_invoice(debtor, "RE-P", "300.00", "2026-03-01")
    make_invoice(debtor, "RE-Q", "200.00", "2026-03-18")  # its reminder is due on 03-25
    agreements.record_promise(
        company, debtor, [promised], D("2026-03-25"), as_of=D("2026-03-05"), confirm=False
    )
    walk(company, D("2026-03-10"), D("2026-03-24"))
    pay(debtor, "300.00", "2026-03-25", invoice=promised)
    done = walk(company, D("2026-03-25"), D("2026-04-10"))
    thanks = [m for m in live_messages(debtor) if m.purpose == "courtesy"]
    assert [m.business_date for m in thanks] == [D("2026-03-25")]  # the promise is found kept that day
    assert D("2026-03-25") not in done  # RE-Q's reminder does not go out with the thank-you
    assert done[D("2026-03-26")] == [(debtor.pk, 2)]  # it goes the next day


@pytest.mark.django_db
def test_send_now_refuses_a_disputed_account_and_says_why(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    from mahnwerk.collection.runs import SendNowError, command_line
    from mahnwerk.collection.runs import send_now as send_now_as

    def send_now(company: Any, debtor: Any, as_of: Any) -> Any:
        return send_now_as(command_line(company), debtor, as_of)

    debtor = make_debtor(name="Einwand GmbH")
    inv = make_invoice(debtor, "RE-D", "800.00", "2026-03-01")
    agreements.open_dispute(company, inv, "not_satisfactory", notes="Lieferung fehlt", as_of=D("2026-03-05"))
    with pytest.raises(SendNowError, match="disputed"):
        send_now(company, debtor, D("2026-03-20"))
    assert not ActionItem.objects.filter(invoice=inv).exists()
    other = make_invoice(debtor, "RE-E", "100.00", "2026-03-15")
    action = send_now(company, debtor, D("2026-03-20"))
    assert list(action.items.values_list("invoice_id", flat=True)) == [other.pk]
    with pytest.raises(SendNowError, match="already received a step today"):
        send_now(company, debtor, D("2026-03-20"))
    # while the reminder of 03-20 has not gone out, nothing follows it
    with pytest.raises(SendNowError, match="The message of 20 Mar 2026 has not gone out yet"):
        send_now(company, debtor, D("2026-03-23"))
    from mahnwerk.comms.outbox import send_queued

    assert send_queued(company)["sent"] == 1
    # the reminder of 03-20 gives ten days: nothing more before 03-31, not even on request
    with pytest.raises(
        SendNowError, match=r"still has the time the last message gave .* may go on 31 Mar 2026"
    ):
        send_now(company, debtor, D("2026-03-23"))


@pytest.mark.django_db
def test_a_time_barred_item_is_left_to_a_person(company: Any, make_debtor: Any, make_invoice: Any) -> None:
    debtor = make_debtor(name="Verjährt GmbH")
    old = make_invoice(
        debtor, "RE-2022", "900.00", "2022-06-30", issue="2022-06-01"
    )  # barred after 2025-12-31
    fresh = make_invoice(debtor, "RE-2026", "100.00", "2026-03-01")
    collection.run_collection(company, D("2026-03-20"))
    action = Action.objects.get(debtor=debtor)
    assert list(action.items.values_list("invoice_id", flat=True)) == [fresh.pk]
    task = Task.objects.get(debtor=debtor, kind="time_barred")
    assert "RE-2022" in task.notes
    assert old.pk not in set(ActionItem.objects.values_list("invoice_id", flat=True))
    collection.run_collection(company, D("2026-03-21"))
    assert Task.objects.filter(debtor=debtor, kind="time_barred").count() == 1  # asked once
    assert debtor.timeline.filter(kind="time_barred").count() == 1


@pytest.mark.django_db
def test_a_payment_of_the_invoice_amount_settles_it_and_no_reminder_follows(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    # Interest and fees used to take the first cents of an exact payment (§ 367(1) BGB), leaving a few euros
    # of "principal" that were dunned for a year. A payment that names the invoice and pays its amount
    # settles it (§ 367(2)); interest and fees stay a separate claim and trigger no reminder on their own.
    debtor = make_debtor(name="Genau GmbH")
    inv = make_invoice(debtor, "RE-EXACT", "1000.00", "2026-03-01")
    walk(company, D("2026-03-01"), D("2026-04-10"))  # reminders: default begins, fees are booked
    pay(debtor, "1000.00", "2026-04-12", invoice=inv)
    inv.refresh_from_db()
    assert inv.open_minor == 0
    before = Action.objects.filter(debtor=debtor).count()
    walk(company, D("2026-04-13"), D("2026-06-30"))
    assert Action.objects.filter(debtor=debtor).count() == before


@pytest.mark.django_db
def test_a_payment_a_few_cents_short_closes_the_item(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor(name="Rundung GmbH")
    inv = make_invoice(debtor, "RE-C", "250.00", "2026-03-01")
    pay(debtor, "249.50", "2026-03-05", invoice=inv)  # 0.50 short: within the 1.00 tolerance
    assert walk(company, D("2026-03-06"), D("2026-05-30")) == {}
    assert debtor.timeline.filter(kind="small_balance_written_off").count() == 1


@pytest.mark.django_db
def test_the_next_step_waits_until_the_deadline_the_last_one_gave_has_passed(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    from mahnwerk.collection.models import Step

    # a playbook written with the firm reminder 7 days after a reminder that gives 10 days to pay: it would
    # ask again, more sharply, while the customer still has three days left
    Step.objects.filter(playbook__company=company, level=3).update(offset_days=7)
    debtor = make_debtor(name="Termin GmbH")
    make_invoice(debtor, "RE-1", "500.00", "2026-03-02")
    done = walk(company, D("2026-03-01"), D("2026-03-25"))
    reminder = Action.objects.get(debtor=debtor, level=2)
    assert (reminder.as_of, reminder.deadline) == (D("2026-03-09"), D("2026-03-19"))
    # nothing on 03-16 (the step's own date) nor on the deadline day; the firm reminder the day after it
    assert [(day, level) for day, rows in done.items() for _d, level in rows if level >= 2] == [
        (D("2026-03-09"), 2),
        (D("2026-03-20"), 3),
    ]


@pytest.mark.django_db
def test_a_broken_promise_brings_its_fallback_once_the_reminders_deadline_has_passed(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Any
) -> None:
    debtor = make_debtor(name="Versprochen GmbH")
    inv = make_invoice(debtor, "RE-P", "1000.00", "2025-03-03", issue="2025-02-01")
    collection.run_collection(company, D("2025-03-10"))  # "pay by 03-20"
    agreements.record_promise(
        company, debtor, [inv], D("2025-03-13"), fallback_level=4, as_of=D("2025-03-11"), grace_days=0
    )
    done = walk(company, D("2025-03-12"), D("2025-04-10"))
    # the promise named 03-13 and was broken on 03-14; the reminder still gave time until 03-20: its
    # fallback, the final notice, goes the day after, once, and the playbook ends there
    assert [(day, level) for day, rows in done.items() for _d, level in rows] == [(D("2025-03-21"), 4)]
