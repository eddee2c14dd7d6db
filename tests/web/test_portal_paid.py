"""'I have paid' on the debtor's page: the customer gives the date and amount of a transfer already made;
reminders for those items wait until the bank statement shows it or the grace has passed, then go on as if
nothing happened (no broken-promise text). Bad input is refused and nothing is stored.

Default playbook: 2 reminder 7 days after due; 3 firm reminder 14 days after step 2.
Invoice RE-1 (1200.00) due Mon 10 March 2025: reminder on 17 March, the firm reminder due on 31 March.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from mahnwerk.collection import agreements
from mahnwerk.collection.agreements_models import Promise
from mahnwerk.collection.models import Action
from mahnwerk.collection.services import run_collection
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.ledger.models import TimelineEvent
from mahnwerk.ledger.timeline import describe
from mahnwerk.web.portal import links, ratelimit
from mahnwerk.web.portal.services import PAID_NOTICE_GRACE_BUSINESS_DAYS
from mahnwerk.work.services import sources

pytestmark = pytest.mark.django_db

D = date.fromisoformat
NOTICE_DAY = "2025-03-28 10:00 +0000"  # a Friday; the customer paid on Thursday 27 March


@pytest.fixture
def reminded(company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> Any:
    company.claim_interest = company.charge_fees = False
    company.save()
    debtor = make_debtor(language="de")
    make_invoice(debtor, "RE-1", "1200.00", "2025-03-10")
    make_invoice(debtor, "RE-2", "300.00", "2025-03-10")
    run_collection(company, D("2025-03-17"), approved=True)
    assert Action.objects.filter(debtor=debtor, as_of=D("2025-03-17"), level=2).exists()
    return debtor


def _post(client: Client, debtor: Any, **fields: Any) -> Any:
    data = {"action": "paid"} | {f"paid-{k}": v for k, v in fields.items()}
    with time_machine.travel(NOTICE_DAY, tick=False):
        return client.post(links.portal_path(debtor), data)


def _messages(debtor: Any) -> list[OutboundMessage]:
    return list(
        OutboundMessage.objects.filter(debtor=debtor)
        .exclude(status=MessageStatus.CANCELLED)
        .exclude(message_id__contains=".keep.")
        .order_by("id")
    )


def _levels(company: Any, start: str, end: str) -> dict[str, list[int]]:
    done: dict[str, list[int]] = {}
    for ordinal in range(D(start).toordinal(), D(end).toordinal() + 1):
        day = date.fromordinal(ordinal)
        run_collection(company, day, approved=True)
        levels = list(Action.objects.filter(as_of=day, status="active").values_list("level", flat=True))
        if levels:
            done[day.isoformat()] = levels
    return done


def test_the_form_is_on_the_page(client: Client, reminded: Any) -> None:
    with time_machine.travel(NOTICE_DAY, tick=False):
        text = client.get(links.portal_path(reminded)).content.decode()
    assert 'data-testid="portal-paid-form"' in text
    assert 'name="paid-paid_on"' in text and 'name="paid-amount"' in text and "RE-1" in text
    assert "<script>" not in text  # strict CSP: nothing inline


def test_a_paid_notice_pauses_reminders_and_lapses_quietly(
    client: Client, company: Any, reminded: Any
) -> None:
    invoice = reminded.invoices.get(number="RE-1")
    response = _post(client, reminded, paid_on="2025-03-27", amount="1.200,00", invoices=[invoice.pk])
    assert response.status_code == 302
    notice = Promise.objects.get(debtor=reminded)
    # the stated date plus five business days: Thursday 3 April
    assert PAID_NOTICE_GRACE_BUSINESS_DAYS == 5
    assert (notice.source, notice.promised_date, notice.amount_minor, notice.grace_days) == (
        agreements.PAID_NOTICE,
        D("2025-04-03"),
        120_000,
        0,
    )
    assert list(notice.invoices.values_list("number", flat=True)) == ["RE-1"]
    # the clerk sees it on the timeline and, on its day, in the work queue as a promise due
    event = TimelineEvent.objects.get(debtor=reminded, kind="paid_notice_recorded")
    assert event.actor == "debtor (portal)"
    assert not TimelineEvent.objects.filter(debtor=reminded, kind="promise_recorded").exists()  # no promise
    with translation.override("de"):  # the note in the clerks' language (the company's)
        said = gettext("date of payment as stated: {day}").format(day="27.03.2025")
    with translation.override("en"):
        text = describe(event)
    assert "says it has paid €1,200.00 for RE-1" in text and "2025-04-03" in text, text
    assert said in text
    with time_machine.travel(NOTICE_DAY, tick=False):
        page = client.get(links.portal_path(reminded)).content.decode()
    assert 'data-testid="portal-paid-notice"' in page and 'data-testid="portal-promise"' not in page
    assert sources(company, D("2025-04-03"))["promise_due"].filter(pk=notice.pk).exists()

    before = len(_messages(reminded))
    # RE-2 (not named) goes on as before; RE-1 is held: its firm reminder, due on 31 March, waits until the
    # grace has passed (3 April), then follows the usual rules, here the debtor's cadence of 7 days after the
    # firm reminder for RE-2
    assert company.cadence_days == 7
    done = _levels(company, "2025-03-28", "2025-04-10")
    assert done == {"2025-03-31": [3], "2025-04-07": [3]}
    firm = Action.objects.get(debtor=reminded, as_of=D("2025-03-31"))
    assert list(firm.items.values_list("invoice__number", flat=True)) == ["RE-2"]
    later = Action.objects.get(debtor=reminded, as_of=D("2025-04-07"))
    assert "RE-1" in list(later.items.values_list("invoice__number", flat=True))
    notice.refresh_from_db()
    assert (notice.status, notice.closed_on) == ("cancelled", D("2025-04-04"))
    kinds = set(reminded.timeline.values_list("kind", flat=True))
    assert not kinds & {"promise_broken", "promise_partly_kept"}
    new = _messages(reminded)[before:]
    assert new and all("Zusage" not in m.body_text and "Zusage" not in m.subject for m in new)


def test_the_statements_payment_settles_it(
    client: Client, company: Any, reminded: Any, pay: Callable[..., Any]
) -> None:
    assert _post(client, reminded, paid_on="2025-03-27", amount="1500,00").status_code == 302
    notice = Promise.objects.get(debtor=reminded)  # no invoices named: all open ones
    assert sorted(notice.invoices.values_list("number", flat=True)) == ["RE-1", "RE-2"]
    assert _levels(company, "2025-03-28", "2025-03-31") == {}
    pay(reminded, "1500.00", "2025-03-27", "RE-1 RE-2")  # on the statement imported on 1 April
    assert _levels(company, "2025-04-01", "2025-04-30") == {}
    notice.refresh_from_db()
    assert (notice.status, notice.paid_minor) == ("kept", 150_000)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"paid_on": "2025-03-29", "amount": "100"}, "The payment date cannot be in the future."),
        ({"paid_on": "2025-02-25", "amount": "100"}, "The payment date can be at most {days} days back."),
        ({"paid_on": "2025-03-27", "amount": "0"}, None),
        ({"paid_on": "2025-03-27", "amount": "-5"}, None),
        ({"paid_on": "2025-03-27", "amount": "1e3"}, None),
        ({"paid_on": "2025-03-27", "amount": "abc"}, None),
        ({"paid_on": "2025-03-27", "amount": "1500,01"}, "1.500,00"),
        ({"paid_on": "2025-03-27", "amount": "300,01", "invoices": "RE-2"}, "300,00"),
        ({"paid_on": "", "amount": "100"}, None),
        ({"paid_on": "2025-03-27", "amount": ""}, None),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(
    client: Client, reminded: Any, fields: dict[str, Any], error: str | None
) -> None:
    if "invoices" in fields:
        fields["invoices"] = [reminded.invoices.get(number=fields["invoices"]).pk]
    events = TimelineEvent.objects.count()
    response = _post(client, reminded, **fields)
    assert response.status_code == 422
    text = response.content.decode().replace("\xa0", " ")
    assert 'class="errorlist' in text
    if error:
        with translation.override("de"):
            expected = gettext(error).format(days=30)
        assert expected in text
    assert not Promise.objects.exists()
    assert TimelineEvent.objects.count() == events


def test_another_debtors_invoices_are_refused(
    client: Client, reminded: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    other = make_debtor(name="Someone else")
    foreign = make_invoice(other, "X-1", "500.00", "2025-03-10")
    response = _post(client, reminded, paid_on="2025-03-27", amount="100", invoices=[foreign.pk])
    assert response.status_code == 422
    assert not Promise.objects.exists()


def test_an_item_held_otherwise_is_refused(client: Client, company: Any, reminded: Any) -> None:
    invoice = reminded.invoices.get(number="RE-1")
    agreements.record_promise(company, reminded, [invoice], D("2025-04-15"), as_of=D("2025-03-28"))
    response = _post(client, reminded, paid_on="2025-03-27", amount="100", invoices=[invoice.pk])
    assert response.status_code == 422
    assert Promise.objects.count() == 1


def test_paid_notices_count_against_the_rate_limit(client: Client, reminded: Any) -> None:
    from mahnwerk.web.models import PortalAttempt

    key = ratelimit.client_key(client.get("/").wsgi_request)
    with time_machine.travel(NOTICE_DAY, tick=False):
        PortalAttempt.objects.bulk_create([PortalAttempt(key=key) for _ in range(ratelimit.LIMIT)])
    response = _post(client, reminded, paid_on="2025-03-27", amount="100")
    assert response.status_code == 429
    assert not Promise.objects.exists()


def test_without_a_payment_the_next_reminder_comes_the_day_after_the_grace(
    client: Client, company: Any, reminded: Any
) -> None:
    reminded.invoices.filter(number="RE-2").delete()
    assert _post(client, reminded, paid_on="2025-03-27", amount="500").status_code == 302
    before = len(_messages(reminded))
    assert _levels(company, "2025-03-28", "2025-04-10") == {"2025-04-04": [3]}
    assert Promise.objects.get(debtor=reminded).status == "cancelled"
    new = _messages(reminded)[before:]
    assert len(new) == 1 and "Zusage" not in new[0].body_text and "Zusage" not in new[0].subject
    assert "promise_broken" not in set(reminded.timeline.values_list("kind", flat=True))
    ended = TimelineEvent.objects.get(debtor=reminded, kind="agreement_cancelled")
    assert ended.business_date == D("2025-04-04") and "03.04.2025" in ended.note


def test_a_part_paid_stays_paid_and_the_rest_is_reminded_without_a_fallback(
    client: Client, company: Any, reminded: Any, pay: Callable[..., Any]
) -> None:
    reminded.invoices.filter(number="RE-2").delete()
    invoice = reminded.invoices.get(number="RE-1")
    assert _post(client, reminded, paid_on="2025-03-27", amount="1200").status_code == 302
    pay(reminded, "200.00", "2025-03-27", "RE-1", invoice=invoice)  # less than said
    assert _levels(company, "2025-03-28", "2025-04-10") == {"2025-04-04": [3]}
    notice = Promise.objects.get(debtor=reminded)
    assert (notice.status, notice.paid_minor) == ("cancelled", 20_000)
    kinds = set(reminded.timeline.values_list("kind", flat=True))
    assert not kinds & {"promise_broken", "promise_partly_kept"}
