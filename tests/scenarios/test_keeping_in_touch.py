"""Keeping in touch, not only when money is late (``collection.agreements.keep_in_touch``, called by the run
after its decisions): a thank-you when a customer who was reminded has paid everything due — and for good
payers whose segment sends thank-you messages — once per settled episode; a monthly statement of account for
business customers with open items who hear nothing else from us; a call task for a person when a customer
with overdue items did not react to three contacts.

None of them counts against the cadence, none goes out on a day with a collection message, a second run on the
same day writes nothing twice, and the audit finds nothing to object to afterwards.

Default playbook: 1 note 3 days before due; 2 reminder 7 days after due; 3 firm reminder 14 days after step 2;
4 final notice 14 days after step 3. Cadence 7 days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from mahnwerk.collection import agreements
from mahnwerk.collection.models import Action, Task
from mahnwerk.collection.services import run_collection
from mahnwerk.comms.audit import audit_messages
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.core.behaviour import DEFAULT_SEGMENT_RULES, SegmentRule
from mahnwerk.insights.services import set_segment_rules
from mahnwerk.ledger.models import TimelineEvent

pytestmark = pytest.mark.django_db

D = date.fromisoformat


def walk(company: Any, first: str, last: str, before: dict[str, Callable[[], object]] | None = None) -> None:
    """Run every day from ``first`` to ``last`` (doing ``before[day]`` first)."""
    day, end = D(first), D(last)
    while day <= end:
        if before and day.isoformat() in before:
            before[day.isoformat()]()
        run_collection(company, day, approved=True)
        day += timedelta(days=1)


def kept(debtor: Any, kind: str) -> list[OutboundMessage]:
    """The debtor's keep-in-touch messages of one kind ("paid_thanks", "statement")."""
    return list(
        OutboundMessage.objects.filter(debtor=debtor, message_id__contains=".keep.")
        .filter(message_id__contains=f".{kind}")
        .exclude(status=MessageStatus.CANCELLED)
        .order_by("business_date", "id")
    )


def collection_days(debtor: Any) -> set[date]:
    return set(Action.objects.filter(debtor=debtor, status="active").values_list("as_of", flat=True))


def assert_clean(company: Any) -> None:
    report = audit_messages(company)
    assert report.violations == [], report.violations


@pytest.fixture
def plain(company: Any) -> Any:
    """The creditor claims no interest and no fees here: the stories are about who hears what, when."""
    company.claim_interest = company.charge_fees = False
    company.save()
    return company


# --- the thank-you ----------------------------------------------------------------------------------------


def test_a_reminded_customer_who_paid_everything_is_thanked_once(
    plain: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor(name="Spätzahler GmbH")
    make_invoice(debtor, "RE-1", "400.00", "2025-06-10")
    make_invoice(debtor, "RE-2", "250.00", "2025-06-10")
    walk(
        plain,
        "2025-06-06",
        "2025-06-24",
        before={
            "2025-06-19": lambda: pay(debtor, "400.00", "2025-06-19", "RE-1"),  # RE-2 still overdue
            "2025-06-21": lambda: pay(debtor, "250.00", "2025-06-21", "RE-2"),
        },
    )
    assert D("2025-06-17") in collection_days(debtor)  # the reminder
    (thanks,) = kept(debtor, "paid_thanks")
    assert thanks.business_date == D("2025-06-21") and thanks.purpose == "courtesy"
    assert thanks.subject == "Vielen Dank für Ihre Zahlung"
    assert "RE-1, RE-2" in thanks.body_text and "alle fälligen Rechnungen" in thanks.body_text
    assert "Mahnung" not in thanks.body_text
    # the same day again, and the days after: nothing twice
    run_collection(plain, D("2025-06-21"), approved=True)
    walk(plain, "2025-06-25", "2025-06-30")
    assert len(kept(debtor, "paid_thanks")) == 1
    assert_clean(plain)


def test_no_thanks_for_paying_on_time_nor_while_something_is_overdue(
    plain: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    punctual = make_debtor(name="Pünktlich GmbH")
    make_invoice(punctual, "RE-P", "300.00", "2025-06-10")
    partly = make_debtor(name="Teilzahler GmbH")
    make_invoice(partly, "RE-T", "300.00", "2025-06-10")
    walk(
        plain,
        "2025-06-06",
        "2025-06-30",
        before={
            "2025-06-09": lambda: pay(punctual, "300.00", "2025-06-09", "RE-P"),
            "2025-06-20": lambda: pay(partly, "100.00", "2025-06-20", "RE-T"),
        },
    )
    assert kept(punctual, "paid_thanks") == [] and kept(partly, "paid_thanks") == []


def test_the_thank_you_waits_for_a_day_without_a_collection_message(
    plain: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    debtor = make_debtor(name="Neue Bestellung GmbH")
    make_invoice(debtor, "RE-1", "400.00", "2025-06-10")
    make_invoice(debtor, "RE-2", "150.00", "2025-07-10", issue="2025-06-16")  # not yet due
    walk(plain, "2025-06-06", "2025-06-19")
    pay(debtor, "400.00", "2025-06-20", "RE-1")
    # a debtor the run decided to contact today (also when the step waits for an approval) hears nothing else
    assert agreements.keep_in_touch(plain, D("2025-06-20"), contacted={debtor.pk}) == 0
    assert kept(debtor, "paid_thanks") == []
    # nor does one who got a collection message today (a step written by an earlier run of the day)
    earlier = Action.objects.filter(debtor=debtor).latest("as_of")
    Action.objects.create(
        company=plain,
        debtor=debtor,
        as_of=D("2025-06-20"),
        key=Action.make_key(debtor.pk, D("2025-06-20")),
        playbook_id=earlier.playbook_id,
        step_id=earlier.step_id,
        level=earlier.level,
        channel="email",
        tone="friendly",
    )
    assert agreements.keep_in_touch(plain, D("2025-06-20")) == 0
    Action.objects.filter(debtor=debtor, as_of=D("2025-06-20")).delete()
    walk(plain, "2025-06-21", "2025-06-24")
    (thanks,) = kept(debtor, "paid_thanks")
    assert thanks.business_date == D("2025-06-21")
    assert "noch nicht fällig" in thanks.body_text  # RE-2 is not due yet: the thanks says so
    assert_clean(plain)


def test_good_payers_are_thanked_when_their_segment_says_so(
    plain: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    best = next(r for r in DEFAULT_SEGMENT_RULES if r.key == "best")
    set_segment_rules(plain, [SegmentRule(best.key, best.label, "", best.policy)])  # everyone: best payers
    debtor = make_debtor(name="Stammkunde GmbH", language="en")
    make_invoice(debtor, "RE-1", "300.00", "2025-06-10")
    make_invoice(debtor, "RE-2", "200.00", "2025-06-25", issue="2025-06-11")
    walk(
        plain,
        "2025-06-05",
        "2025-06-30",
        before={
            "2025-06-09": lambda: pay(debtor, "300.00", "2025-06-09", "RE-1"),
            "2025-06-24": lambda: pay(debtor, "200.00", "2025-06-24", "RE-2"),
        },
    )
    (thanks,) = kept(debtor, "paid_thanks")  # once: a good payer is thanked at most every 90 days
    assert thanks.business_date == D("2025-06-09")
    assert thanks.subject == "Thank you for your payment" and "always settling your invoices on time" in (
        thanks.body_text
    )
    assert_clean(plain)


# --- the statement of account ----------------------------------------------------------------------------


def test_the_monthly_statement_goes_to_business_customers_who_hear_nothing_else(
    plain: Any, make_debtor: Any, make_invoice: Any
) -> None:
    quiet = make_debtor(name="Ruhig GmbH")
    make_invoice(quiet, "RE-Q1", "500.00", "2025-06-25", issue="2025-05-26")  # overdue, not yet reminded
    make_invoice(quiet, "RE-Q2", "120.00", "2025-07-20", issue="2025-06-20")  # not yet due
    consumer = make_debtor(name="Erika Muster", kind="consumer")
    make_invoice(consumer, "RE-C", "80.00", "2025-07-20", issue="2025-06-20")
    reminded = make_debtor(name="Erinnert GmbH")
    make_invoice(reminded, "RE-R", "300.00", "2025-06-24", issue="2025-05-25")  # its reminder: 07-01
    latvian = make_debtor(name='SIA "Ozols"', language="lv", jurisdiction="LV")
    make_invoice(latvian, "R-7", "90.00", "2025-07-25", issue="2025-06-25")

    walk(plain, "2025-07-01", "2025-07-01")
    run_collection(plain, D("2025-07-01"), approved=True)  # the same day again
    walk(plain, "2025-07-02", "2025-07-12")

    (statement,) = kept(quiet, "statement")
    assert statement.business_date == D("2025-07-01") and statement.purpose == "courtesy"
    assert statement.subject.startswith("Kontoauszug Ihres Kundenkontos")
    body = statement.body_text
    assert "Bereits fällig:" in body and "Noch nicht fällig:" in body
    assert body.index("RE-Q1") < body.index("Noch nicht fällig:") < body.index("RE-Q2")
    assert "620,00" in body  # open in all
    assert "Mahnung" not in body
    # the statement does not count against the cadence: the reminder goes the next day
    assert D("2025-07-02") in collection_days(quiet)
    assert kept(consumer, "statement") == []
    # a reminder that day (and a collection message within four weeks): no statement this month
    assert D("2025-07-01") in collection_days(reminded) and kept(reminded, "statement") == []
    (lettre,) = kept(latvian, "statement")
    assert lettre.language == "lv" and lettre.subject.startswith("Jūsu klienta konta")
    assert "Apmaksas termiņš vēl nav pienācis" in lettre.body_text
    assert_clean(plain)


def test_no_email_keeps_in_touch_with_a_customer_whose_contract_names_other_channels(
    plain: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    """A contract that names only letters (or text messages) is kept by the courtesy messages too: the
    reminders went by letter, so neither the thank-you nor the statement goes by email."""
    by_letter = make_debtor(
        name="Nur Post GmbH", agreed_channels="letter", street="Weg 1", postcode="10115", city="Berlin"
    )
    make_invoice(by_letter, "RE-1", "400.00", "2025-06-10")
    quiet = make_debtor(name="Still Post GmbH", agreed_channels="letter, sms")
    make_invoice(quiet, "RE-Q", "500.00", "2025-07-20", issue="2025-06-20")  # open, not due: a statement
    walk(
        plain,
        "2025-06-06",
        "2025-07-03",
        before={"2025-06-21": lambda: pay(by_letter, "400.00", "2025-06-21", "RE-1")},
    )
    assert OutboundMessage.objects.filter(debtor=by_letter, channel="letter").exists()  # the reminder
    assert not OutboundMessage.objects.filter(debtor__in=[by_letter, quiet], channel="email").exists()
    assert_clean(plain)


# --- no answer --------------------------------------------------------------------------------------------


def test_a_person_is_asked_to_call_after_three_contacts_without_reaction(
    plain: Any, make_debtor: Any, make_invoice: Any
) -> None:
    silent = make_debtor(name="Schweigsam GmbH")
    make_invoice(silent, "RE-S", "900.00", "2025-06-10")
    reader = make_debtor(name="Leser GmbH")
    make_invoice(reader, "RE-L", "900.00", "2025-06-10")

    def visit() -> None:
        TimelineEvent.objects.create(
            debtor=reader, company=plain, kind="portal_opened", business_date=D("2025-06-20")
        )

    walk(plain, "2025-06-06", "2025-07-20", before={"2025-06-20": visit})
    assert {a.level for a in Action.objects.filter(debtor=silent)} == {1, 2, 3, 4}
    (task,) = Task.objects.filter(debtor=silent)
    assert task.kind == "call" and task.action is None and task.due_on == D("2025-07-15")
    assert "3" in task.notes and "17.06.2025" in task.notes and "15.07.2025" in task.notes
    (alert,) = TimelineEvent.objects.filter(debtor=silent, kind="task_created", data__alert="no_answer")
    assert alert.business_date == D("2025-07-15")
    # the reader looked at the payment page after the first reminder: two contacts since, no alert yet
    assert not Task.objects.filter(debtor=reader).exists()
    # the call task counts as no contact: nothing for the audit
    assert_clean(plain)


# --- set-based ---------------------------------------------------------------------------------------------


def test_the_step_reads_and_writes_in_a_fixed_number_of_queries(
    plain: Any, make_debtor: Any, make_invoice: Any, pay: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(count: int, month: str) -> tuple[int, int]:
        for n in range(count):
            quiet = make_debtor(name=f"Ruhig {month} {n} GmbH")
            make_invoice(quiet, f"RE-{month}-{n}", "100.00", f"2025-{month}-28", issue=f"2025-{month}-01")
            paid = make_debtor(name=f"Bezahlt {month} {n} GmbH")
            inv = make_invoice(
                paid, f"RB-{month}-{n}", "100.00", f"2025-{month}-02", issue=f"2025-{month}-01"
            )
            Action.objects.create(  # reminded a while ago
                company=plain,
                debtor=paid,
                as_of=D(f"2025-{month}-09"),
                key=Action.make_key(paid.pk, D(f"2025-{month}-09")),
                playbook_id=default.pk,
                step_id=step.pk,
                level=2,
                channel="email",
                tone="friendly",
            ).items.create(invoice=inv, level=2, open_minor=inv.open_minor)
            pay(paid, "100.00", f"2025-{int(month) + 1:02d}-01", f"RB-{month}-{n}")
        with CaptureQueriesContext(connection) as ctx:
            written = agreements.keep_in_touch(plain, D(f"2025-{int(month) + 1:02d}-01"))
        return written, len(ctx.captured_queries)

    from mahnwerk.collection.models import Playbook

    default = Playbook.objects.get(company=plain, is_default=True)
    step = default.steps.get(level=2)
    small_written, small = queries(2, "07")
    large_written, large = queries(8, "09")
    # a statement and a thank-you each (and statements again to the first ones, whose items are still open)
    assert (small_written, large_written) == (4, 18)
    assert large == small


def statement_months(company: Any, debtor: Any, months: list[str]) -> list[str]:
    """Keep in touch on the first of each month; the months in which ``debtor`` got a statement."""
    for month in months:
        agreements.keep_in_touch(company, D(f"{month}-01"))
    return sorted({m.business_date.strftime("%Y-%m") for m in kept(debtor, "statement")})


SECOND_HALF = ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        (1, SECOND_HALF),  # the default: monthly
        (3, ["2025-07", "2025-10"]),  # quarterly: three months after the last one
        (2, ["2025-07", "2025-09", "2025-11"]),
        (0, []),  # switched off
    ],
)
def test_the_company_chooses_how_often_statements_go_or_none(
    plain: Any, make_debtor: Any, make_invoice: Any, interval: int, expected: list[str]
) -> None:
    plain.statement_interval_months = interval
    plain.save()
    quiet = make_debtor(name="Ruhig GmbH")
    make_invoice(quiet, "RE-Q", "500.00", "2026-03-31", issue="2025-06-20")  # open, due next year
    assert statement_months(plain, quiet, SECOND_HALF) == expected


def test_the_default_is_monthly_and_the_command_line_changes_it(plain: Any) -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    assert plain.statement_interval_months == 1
    out = StringIO()
    call_command("company", "update", plain.slug, "--statement-interval-months", "3", "--json", stdout=out)
    assert '"statement_interval_months": 3' in out.getvalue()
    plain.refresh_from_db()
    assert plain.statement_interval_months == 3
    call_command("company", "update", plain.slug, "--statement-interval-months", "0", stdout=StringIO())
    plain.refresh_from_db()
    assert plain.statement_interval_months == 0
    with pytest.raises(CommandError, match="statement-interval-months"):
        call_command("company", "update", plain.slug, "--statement-interval-months", "13", stdout=StringIO())
    plain.refresh_from_db()
    assert plain.statement_interval_months == 0
