"""A message that goes out days after its run wrote it carries the day it goes out: that day's interest and
total, its deadline moved by as many days, its business date moved so the audit compares it with that day's
statement. Letters had this at print; emails and text messages get it at sending (a mail server that said
"try again later", an outbox nobody sent).

The worked example of ``test_same_figures``: German B2B, invoice RE-4 of 1,000.00 due 2025-03-03, reminder
03-10 "pay by 03-20" (default from 03-21), firm reminder 03-24 with the 40.00 flat compensation, final notice
written on 04-07 with interest 03-21..04-07 = 18 days at 11.27 % = 5.56. Sent three days later, on 04-10:
21 days, 1000.00 x 0.1127 x 21 / 365 = 6.4841 -> 6.48; total 1,000.00 + 6.48 + 40.00 = 1,046.48.
"""

from __future__ import annotations

import email
import email.policy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine

from mahnwerk.collection.services import run_collection
from mahnwerk.comms.audit import audit_messages
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.comms.outbox import send_queued
from mahnwerk.ledger.claims import statement
from mahnwerk.ledger.timeline import describe

pytestmark = pytest.mark.django_db
D = date.fromisoformat


def _final_notice_written_on_04_07(company: Any, make_debtor: Any, make_invoice: Any) -> tuple[Any, Any]:
    debtor = make_debtor(name="Metallbau Krüger GmbH", language="de")
    make_invoice(debtor, "RE-4", "1000.00", "2025-03-03", issue="2025-02-01")
    for day in ("2025-03-10", "2025-03-24"):
        run_collection(company, D(day))
    with time_machine.travel("2025-04-07 08:00 +0000", tick=False):
        run_collection(company, D("2025-04-07"), send=False)
    final = OutboundMessage.objects.filter(debtor=debtor).latest("id")
    assert final.status == MessageStatus.QUEUED and final.action is not None
    return debtor, final


def _eml(outbox: Path, msg: OutboundMessage) -> str:
    path = outbox / "acme" / f"{msg.message_id.strip('<>')}.eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_an_email_sent_three_days_late_carries_that_days_figures_and_deadline(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor, final = _final_notice_written_on_04_07(company, make_debtor, make_invoice)
    written_deadline = final.action.deadline
    assert final.business_date == D("2025-04-07")

    with time_machine.travel("2025-04-10 08:00 +0000", tick=False):
        counts = send_queued(company=company)
    assert counts["sent"] == 1 and counts["redated"] == 1

    final.refresh_from_db()
    assert final.status == MessageStatus.SENT and final.business_date == D("2025-04-10")
    assert final.action.deadline == written_deadline + (D("2025-04-10") - D("2025-04-07"))
    assert "compose" not in final.payload  # sent: the run's record is let go
    text = _eml(outbox, final)
    assert "1.046,48" in text and "6,48" in text, text
    assert "1.045,56" not in text
    assert f"{final.action.deadline:%d.%m.%Y}" in text
    assert f"{written_deadline:%d.%m.%Y}" not in text
    # the figures are the statement's of the day it went out
    line = statement(company, debtor.pk, "business", D("2025-04-10"))["lines"][0]
    assert (line["interest_open_minor"], line["total_open_minor"]) == (648, 1046_48)
    (event,) = debtor.timeline.filter(kind="message_redated")
    assert event.business_date == D("2025-04-10")
    assert "2025-04-07" in describe(event) and str(final.action.deadline) in describe(event)
    report = audit_messages(company)
    assert report.violations == [], [report.detail(v) for v in report.violations]


def test_an_email_sent_the_day_it_was_written_is_left_as_written(
    company: Any, make_debtor: Any, make_invoice: Any, outbox: Path
) -> None:
    debtor, final = _final_notice_written_on_04_07(company, make_debtor, make_invoice)
    written = final.action.deadline
    with time_machine.travel("2025-04-07 20:00 +0000", tick=False):  # 22:00 in Berlin: the same day
        counts = send_queued(company=company)
    assert counts["sent"] == 1 and "redated" not in counts
    final.refresh_from_db()
    assert final.action.deadline == written
    assert final.business_date == D("2025-04-07")
    assert "1.045,56" in _eml(outbox, final)
    assert not debtor.timeline.filter(kind="message_redated").exists()
