"""Never stale at send time, and agreements that hold.

A collection message is compared with the ledger just before it goes out (and letters when the batch is
printed): what was paid, put on hold, disputed or taken into an agreement after it was written withdraws
it, and the next run decides afresh. Agreements keep to the company's limits: no promise to pay on
31.12.9999, no plan starting there, and an offer holds its items while it runs.

Business dates: an invoice due on 10 March 2026 gets the reminder (step 2, deadline +10 days) on day 7.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mahnwerk.collection import agreements
from mahnwerk.collection import services as collection
from mahnwerk.collection.agreements_models import Dispute, Incentive, InstalmentPlan, Promise, Settlement
from mahnwerk.collection.models import Action, ActionItem, Step
from mahnwerk.comms.documents import letter_context
from mahnwerk.comms.letters_batch import print_letters, withdrawn_summary
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.comms.outbox import send_queued, stale_reasons
from mahnwerk.core.money import format_money
from mahnwerk.ledger.models import Invoice, TimelineEvent
from mahnwerk.ledger.services import Receipt, record_payments
from mahnwerk.ledger.timeline import describe

pytestmark = pytest.mark.django_db

D = date.fromisoformat
DUE = D("2026-03-10")


def day(offset: int) -> date:
    return DUE + timedelta(days=offset)


def sent(outbox: Path) -> list[email.message.EmailMessage]:
    files = sorted((outbox / "acme").glob("*.eml")) if (outbox / "acme").exists() else []
    out = []
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        out.append(msg)
    return out


def withdrawn_events(debtor: Any) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(debtor=debtor, kind="message_withdrawn").order_by("id"))


@contextmanager
def committed_mid_run() -> Iterator[None]:
    """Payments recorded as if committed by another process while a run was sending: the receiver that
    cancels queued messages when a payment is recorded does not see them."""
    from mahnwerk.comms.signals import cancel_stale_messages
    from mahnwerk.ledger.signals import items_settled

    assert items_settled.disconnect(cancel_stale_messages)
    try:
        yield
    finally:
        items_settled.connect(cancel_stale_messages)


def pay_quietly(company: Any, debtor: Any, amount_minor: int, on: date, invoice: Any) -> None:
    with committed_mid_run():
        record_payments(
            company, [Receipt(debtor.pk, amount_minor, "EUR", on, invoice.number, debtor.name, invoice.pk)]
        )


@pytest.fixture
def principal_only(company: Any) -> Any:
    """These stories are about the principal: no interest, no fees."""
    company.claim_interest = company.charge_fees = False
    company.save()
    return company


@pytest.fixture
def queued(principal_only: Any, make_debtor: Any, make_invoice: Any) -> Callable[..., tuple[Any, Any, Any]]:
    """A debtor whose reminder of day 7 waits in the outbox (the run did not send it yet)."""

    def make(amount: str = "300.00", number: str = "RE-1", **debtor: Any) -> tuple[Any, Any, Any]:
        who = make_debtor(language=debtor.pop("language", "en"), **debtor)
        invoice = make_invoice(who, number, amount, DUE.isoformat())
        collection.run_collection(principal_only, day(7), send=False)
        message = OutboundMessage.objects.get(debtor=who, status=MessageStatus.QUEUED)
        assert message.action is not None and message.action.level == 2
        return who, invoice, message

    return make


# --- the outbox checks before it sends ---------------------------------------------------------------


def test_a_payment_committed_while_the_run_was_sending_withdraws_the_message(
    company: Any, queued: Any, outbox: Path
) -> None:
    debtor, invoice, message = queued()
    pay_quietly(company, debtor, 300_00, day(7), invoice)
    assert OutboundMessage.objects.get(pk=message.pk).status == MessageStatus.QUEUED  # nobody cancelled it

    counts = send_queued(company)

    assert counts["sent"] == 0 and counts["withdrawn"] == 1
    assert sent(outbox) == []
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED
    assert message.last_error == (
        "withdrawn before sending: an item it lists was paid, credited or written off meanwhile"
    )
    assert Action.objects.get(pk=message.action_id).status == "cancelled"
    assert set(ActionItem.objects.filter(action_id=message.action_id).values_list("status", flat=True)) == {
        "cancelled"
    }
    (event,) = withdrawn_events(debtor)
    assert event.business_date == day(7) and event.data["reason"] == "paid"
    assert describe(event) == (
        "Queued email withdrawn before it went out: an item it lists was paid, credited or written off "
        "meanwhile. The next run decides again with the figures of its day"
    )
    # paid in full: the next run has nothing to say
    assert collection.run_collection(company, day(8)).actions_created == 0


def test_a_part_payment_mid_run_gives_a_fresh_message_with_the_rest(
    company: Any, queued: Any, outbox: Path
) -> None:
    debtor, invoice, _message = queued()
    pay_quietly(company, debtor, 100_00, day(7), invoice)
    assert send_queued(company)["withdrawn"] == 1
    again = collection.run_collection(company, day(7))  # the run of the same day decides afresh
    assert again.messages_queued == 1
    (mail,) = sent(outbox)
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "€200.00" in text and "€300.00" not in text


def test_a_dispute_opened_meanwhile_withdraws_the_message(company: Any, queued: Any, outbox: Path) -> None:
    debtor, invoice, message = queued()
    # written straight to the database, as by a process that committed while the run was sending
    Dispute.objects.create(company=company, debtor=debtor, invoice=invoice, reason="other", opened_on=day(7))
    assert send_queued(company) == {"sent": 0, "failed": 0, "retry": 0, "withdrawn": 1}
    assert sent(outbox) == []
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED and "dispute" in message.last_error
    assert [e.data["reason"] for e in withdrawn_events(debtor)] == ["dispute"]


def test_an_offer_made_meanwhile_withdraws_the_message_but_the_steps_own_offer_goes_out(
    company: Any, queued: Any, outbox: Path
) -> None:
    debtor, invoice, message = queued()
    other, other_invoice, other_message = queued(number="RE-2")
    offer = Incentive.objects.create(
        company=company,
        debtor=debtor,
        kind="waive_interest",
        offered_on=day(7),
        deadline=day(30),
        open_at_offer_minor=300_00,
        currency="EUR",
        actor="user:bob",
    )
    offer.invoices.set([invoice])
    # the playbook's offer made with the message itself (the step offering it) does not stop it
    own = Incentive.objects.create(
        company=company,
        debtor=other,
        kind="waive_fees",
        offered_on=day(7),
        deadline=day(17),
        open_at_offer_minor=300_00,
        currency="EUR",
        actor="playbook",
    )
    own.invoices.set([other_invoice])

    counts = send_queued(company)

    assert counts["sent"] == 1 and counts["withdrawn"] == 1
    (mail,) = sent(outbox)
    assert mail["Message-ID"] == other_message.message_id
    message.refresh_from_db()
    assert message.status == MessageStatus.CANCELLED and "offer" in message.last_error
    assert [e.data["reason"] for e in withdrawn_events(debtor)] == ["incentive"]


def test_holds_and_do_not_contact_set_meanwhile_withdraw_the_message(
    company: Any, queued: Any, outbox: Path
) -> None:
    held_item, invoice, _ = queued()
    Invoice.objects.filter(pk=invoice.pk).update(on_hold=True)
    held_case, _, _ = queued(number="RE-2")
    collection.set_hold(company, held_case, True, reason="insolvency check")
    silent, _, _ = queued(number="RE-3")
    type(silent).objects.filter(pk=silent.pk).update(do_not_contact=True)

    assert send_queued(company)["withdrawn"] == 3
    assert sent(outbox) == []
    assert [e.data["reason"] for e in withdrawn_events(held_item)] == ["invoice_hold"]
    assert [e.data["reason"] for e in withdrawn_events(held_case)] == ["case_hold"]
    assert [e.data["reason"] for e in withdrawn_events(silent)] == ["do_not_contact"]


def test_messages_without_an_action_are_not_checked(company: Any, queued: Any, outbox: Path) -> None:
    debtor, invoice, _message = queued()
    agreements.record_promise(company, debtor, [invoice], day(20), as_of=day(8))
    # the promise withdrew the reminder at once; its confirmation (no action) goes out although the
    # promise covers the item
    confirmation = OutboundMessage.objects.get(debtor=debtor, status=MessageStatus.QUEUED)
    assert confirmation.action_id is None
    assert send_queued(company)["sent"] == 1
    assert [e.data["reason"] for e in withdrawn_events(debtor)] == ["promise"]


def test_the_check_costs_the_same_queries_for_few_and_many_messages(
    company: Any, queued: Any, make_debtor: Any, make_invoice: Any
) -> None:
    def queries_for_check() -> int:
        messages = list(
            OutboundMessage.objects.filter(status=MessageStatus.QUEUED).select_related("action", "company")
        )
        with CaptureQueriesContext(connection) as ctx:
            stale_reasons(messages, print_date=day(7))
        return len(ctx.captured_queries)

    first, first_invoice, _ = queued()
    promise = Promise.objects.create(
        company=company,
        debtor=first,
        made_on=day(7),
        promised_date=day(20),
        amount_minor=100_00,
        currency="EUR",
        grace_days=3,
    )
    promise.invoices.set([first_invoice])
    debtor, invoice, _ = queued(number="RE-2")
    Dispute.objects.create(company=company, debtor=debtor, invoice=invoice, reason="other", opened_on=day(7))
    few = queries_for_check()
    for n in range(3, 9):
        queued(number=f"RE-{n}")
    many = queries_for_check()
    assert few == many <= 9


# --- letters -------------------------------------------------------------------------------------------


@pytest.fixture
def by_post(principal_only: Any, make_debtor: Any, make_invoice: Any, settings: Any, tmp_path: Path) -> Any:
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    debtor = make_debtor(
        name="Druckerei Lange KG",
        email=None,
        street="Lindenallee 5",
        postcode="04109",
        city="Leipzig",
        country="DE",
    )
    make_invoice(debtor, "RE-77", "480.00", DUE.isoformat())
    return debtor


def test_a_letter_printed_days_later_is_dated_that_day_and_its_deadline_moves_as_far(
    company: Any, by_post: Any, outbox: Path
) -> None:
    collection.run_collection(company, day(7), send=False)  # deadline day 17
    letter = OutboundMessage.objects.get(channel="letter")
    assert letter.action is not None and letter.action.deadline == day(17)

    batch = print_letters(company, day(11))  # printed four days later: six days before the old deadline

    assert batch.letters == 1 and batch.withdrawn == {}
    letter.refresh_from_db()
    assert letter.status == MessageStatus.SENT
    assert letter.action is not None and letter.action.deadline == day(
        21
    )  # ten days after printing, as written
    assert letter_context(letter).letter_date == day(11)
    assert letter_context(letter).new_deadline == day(21)
    (event,) = by_post.timeline.filter(kind="letter_redated")
    assert event.business_date == day(11)
    assert "deadline moved to 2026-03-31" in describe(event)


def test_a_step_whose_deadline_is_too_short_for_the_post_is_withdrawn_from_the_batch(
    company: Any, by_post: Any, outbox: Path
) -> None:
    Step.objects.filter(playbook__company=company, level=2).update(deadline_days=5)
    collection.run_collection(company, day(7), send=False)  # deadline day 12: five days
    letter = OutboundMessage.objects.get(channel="letter")

    batch = print_letters(company, day(7))

    assert batch.letters == 0 and batch.path is None and batch.withdrawn == {"deadline": 1}
    letter.refresh_from_db()
    assert letter.status == MessageStatus.CANCELLED and letter.action is not None
    assert letter.action.status == "cancelled"
    (event,) = withdrawn_events(by_post)
    assert event.business_date == day(7)
    assert describe(event).startswith(
        "Queued letter withdrawn before it went out: its deadline 2026-03-22 has passed or is less than 7 "
        "days after the print date."
    )
    assert withdrawn_summary(batch.withdrawn) == (
        "1 letter withdrawn: 1 × deadline passed or less than 7 days away"
    )


def test_a_letter_for_an_item_paid_meanwhile_is_not_printed_and_the_cli_says_why(
    company: Any, by_post: Any, outbox: Path
) -> None:
    collection.run_collection(company, day(7), send=False)
    invoice = Invoice.objects.get(number="RE-77")
    pay_quietly(company, by_post, 480_00, day(7), invoice)
    out = StringIO()
    with time_machine.travel("2026-03-18 08:00 +0000", tick=False):
        call_command("letters", "print", stdout=out)
    assert out.getvalue().splitlines() == [
        "0 letters",
        "1 letter withdrawn: 1 × paid, credited or written off meanwhile",
    ]


def test_no_letter_goes_out_without_a_return_address(company: Any, by_post: Any, outbox: Path) -> None:
    collection.run_collection(company, day(7), send=False)
    company.street = ""
    company.save()
    letter = OutboundMessage.objects.get(channel="letter")
    with pytest.raises(CommandError, match=f"letter {letter.pk} was never printed"):
        call_command("letters", "returned", str(letter.pk))
    with pytest.raises(CommandError) as refused:
        call_command("letters", "print", stdout=StringIO())
    assert "has no complete postal address (street, postcode, city)" in str(refused.value)
    assert f"mahnwerk company update {company.slug} --street" in str(refused.value)
    # nothing printed, nothing withdrawn: the letter waits for the address
    letter = OutboundMessage.objects.get(channel="letter")
    assert letter.status == MessageStatus.QUEUED and letter.action is not None
    assert letter.action.status == "active"
    company.street = "Am Markt 1"
    company.save()
    out = StringIO()
    call_command("letters", "print", stdout=out)
    assert out.getvalue().startswith("1 letter: ")
    with pytest.raises(CommandError, match="no letter abc in"):
        call_command("letters", "returned", "abc")
    call_command("letters", "returned", str(letter.pk), stdout=StringIO())
    with pytest.raises(CommandError, match=f"letter {letter.pk} was already recorded as returned"):
        call_command("letters", "returned", str(letter.pk))
    assert by_post.timeline.filter(kind="message_returned").count() == 1


def test_without_a_return_address_the_run_writes_no_letters(company: Any, by_post: Any, outbox: Path) -> None:
    from mahnwerk.ledger.models import Contact

    company.city = ""
    company.save()
    collection.run_collection(company, day(7), send=False)
    # the customer has only a postal address: nobody can be written to, nothing booked for a letter
    assert not OutboundMessage.objects.filter(debtor=by_post).exists()
    assert Invoice.objects.get(number="RE-77").default_rule != "reminder_deadline"
    Contact.objects.create(debtor=by_post, kind="email", value="buero@lange.example", is_primary=True)
    collection.run_collection(company, day(8), send=False)
    assert OutboundMessage.objects.get(debtor=by_post).channel == "email"


# --- agreements keep to the limits ---------------------------------------------------------------------


@pytest.fixture
def reminded(queued: Any) -> tuple[Any, Any]:
    debtor, invoice, _ = queued(amount="1200.00")
    return debtor, invoice


@pytest.mark.parametrize("promised", ["9999-12-31", "1900-01-01", "2026-06-18"])
def test_a_promise_too_far_ahead_or_in_the_past_is_refused(
    company: Any, reminded: Any, promised: str
) -> None:
    debtor, invoice = reminded
    with pytest.raises(agreements.AgreementError) as refused:
        agreements.record_promise(company, debtor, [invoice], D(promised), as_of=day(9))  # day 9: 19 March
    if promised == "1900-01-01":
        assert str(refused.value) == "the promised date has passed"
    else:
        assert "more than 90 days ahead (the limit for promises is 90 days)" in str(refused.value)
    assert not Promise.objects.exists()
    assert agreements.record_promise(company, debtor, [invoice], D("2026-06-17"), as_of=day(9))  # 90 days


def test_plans_settlements_and_offers_keep_to_the_limits(
    company: Any, reminded: Any, make_debtor: Any, make_invoice: Any
) -> None:
    debtor, invoice = reminded
    propose = lambda **kw: agreements.propose_plan(company, debtor, [invoice], as_of=day(9), **kw)  # noqa: E731
    for first, expected in (
        (D("9999-12-31"), "more than 90 days ahead"),
        (D("1900-01-01"), "cannot fall due in the past"),
    ):
        with pytest.raises(agreements.AgreementError, match=expected):
            propose(count=3, first_due=first)
    with pytest.raises(agreements.AgreementError, match="more than 36 months after the first payment"):
        propose(count=40, first_due=day(20))
    with pytest.raises(agreements.AgreementError, match="cannot be computed"):
        propose(count=3, first_due=day(20), interval_days=3_000_000)
    with pytest.raises(agreements.AgreementError, match="more than 36 months"):
        propose(count=2, first_due=day(20), dates=[day(30), D("9999-12-31")])
    assert not InstalmentPlan.objects.exists()
    assert propose(count=36, first_due=day(20)).instalments.count() == 37  # down payment + 36 months

    other = make_debtor()
    other_invoice = make_invoice(other, "RE-O", "500.00", DUE.isoformat())
    with pytest.raises(agreements.AgreementError, match="more than 90 days ahead"):
        agreements.offer_settlement(
            company, other, [other_invoice], 450_00, D("9999-12-31"), reason="x", as_of=day(9)
        )
    with pytest.raises(agreements.AgreementError, match="more than 90 days ahead"):
        agreements.offer_incentive(company, other, [other_invoice], "waive_fees", day(100), as_of=day(9))
    assert not Settlement.objects.exists() and not Incentive.objects.exists()


NOW = "2026-03-19 10:00 +0000"  # day 9


@pytest.fixture
def clerk(company: Any) -> Client:
    from django.contrib.auth import get_user_model

    from mahnwerk.web.models import Membership

    user = get_user_model().objects.create_user(username="bob", password="x")
    Membership.objects.create(user=user, company=company, role="collector")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("when", ["9999-12-31", "1900-01-01"])
def test_the_web_forms_show_the_refusal_instead_of_an_error(clerk: Client, reminded: Any, when: str) -> None:
    debtor, invoice = reminded
    with time_machine.travel(NOW, tick=False):
        promise = clerk.post(
            f"/debtors/{debtor.pk}/promise",
            {"promise-invoices": [invoice.pk], "promise-promised_date": when, "promise-amount": ""},
            follow=True,
        )
        plan = clerk.post(
            f"/debtors/{debtor.pk}/plan",
            {"plan-invoices": [invoice.pk], "plan-count": "3", "plan-first_due": when},
            follow=True,
        )
    for response, name in ((promise, "promise_form"), (plan, "plan_form")):
        # refused next to the field (the form knows the customer's terms and the accepted dates), or by the
        # service with its reason — never a server error, nothing saved
        texts = [str(m) for m in response.context["messages"]]
        if response.status_code == 422:
            errors = response.context[name].errors
            assert errors and ("first_due" in errors or "promised_date" in errors), errors
        else:
            assert response.status_code == 200
            expected = (
                ("more than 90 days ahead",) if when.startswith("9999") else ("has passed", "in the past")
            )
            assert any(t.startswith("Not possible:") and any(e in t for e in expected) for t in texts), texts
    assert not Promise.objects.exists() and not InstalmentPlan.objects.exists()


@pytest.mark.parametrize("when", ["9999-12-31", "1900-01-01"])
def test_the_api_and_the_cli_answer_with_the_refusal(
    company: Any, client: Any, reminded: Any, when: str
) -> None:
    import json

    from django.contrib.auth import get_user_model

    from mahnwerk.api.models import ApiToken
    from mahnwerk.web.models import Membership

    debtor, _invoice = reminded
    user = get_user_model().objects.create_user(username="anna", password="x")
    Membership.objects.create(user=user, company=company, role="admin")
    _token, key = ApiToken.issue(user, company, "test")
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            f"/api/debtors/{debtor.pk}/promises",
            json.dumps({"promised_date": when}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    # the API's schema refuses a date outside 1990..2100 before the agreement rules are asked
    assert f"{when} is outside the accepted range" in detail["msg"] and detail["loc"][-1] == "promised_date"

    for command in (
        ("promise", "add", debtor.number, "--date", when),
        ("plan", "propose", debtor.number, "--instalments", "3", "--first", when),
    ):
        with pytest.raises(CommandError, match=r"more than 90 days ahead|passed|in the past"):
            call_command(*command, "--today", day(9).isoformat(), stdout=StringIO())


# --- an offer holds its items; a promise is for the whole claim -------------------------------------------


def test_no_reminder_names_the_items_of_a_running_offer(company: Any, reminded: Any, outbox: Path) -> None:
    debtor, invoice = reminded
    send_queued(company)
    agreements.offer_incentive(company, debtor, [invoice], "waive_interest", day(30), as_of=day(10))
    for offset in range(11, 31):  # the firm reminder would be due on day 21
        collection.run_collection(company, day(offset))
        assert not Action.objects.filter(debtor=debtor, as_of=day(offset)).exists(), offset
    collection.run_collection(company, day(31))  # the offer lapsed: the playbook goes on
    assert Action.objects.get(debtor=debtor, as_of=day(31), status="active").level == 3
    assert Incentive.objects.get().status == "lapsed"


def test_a_promise_without_an_amount_is_for_principal_interest_and_fees(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    from mahnwerk.ledger.claims import claim_views

    debtor = make_debtor(language="en")
    invoice = make_invoice(debtor, "RE-9", "1200.00", DUE.isoformat())
    collection.run_collection(company, day(7))
    collection.run_collection(company, day(21))  # the firm reminder: default began, fees booked
    invoice.refresh_from_db()
    views = claim_views(company, [invoice], {debtor.pk: debtor.kind}, day(40))
    claim = views[invoice.pk]
    assert claim.interest_open > 0 and claim.costs_open > 0

    promise = agreements.record_promise(company, debtor, [invoice], day(40), as_of=day(22))

    assert promise.amount_minor == 1200_00 + claim.interest_open + claim.costs_open
    confirmation = OutboundMessage.objects.filter(debtor=debtor, action__isnull=True).latest("id")
    assert (
        f"{format_money(promise.amount_minor, 'EUR', 'en')} (principal €1,200.00, interest to the promised "
        f"date {format_money(claim.interest_open, 'EUR', 'en')}, fees {format_money(claim.costs_open, 'EUR', 'en')})"
    ) in confirmation.body_text
    # an amount given explicitly stays what it is
    agreements.cancel_agreement(company, promise, reason="new terms", as_of=day(22))
    smaller = agreements.record_promise(company, debtor, [invoice], day(40), 500_00, as_of=day(22))
    assert smaller.amount_minor == 500_00
    last = OutboundMessage.objects.filter(debtor=debtor, action__isnull=True).latest("id")
    assert "€500.00 by" in last.body_text and "principal" not in last.body_text
