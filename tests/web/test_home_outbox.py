"""The home page says how many emails and SMS failed (last 7 days) and how many wait to be tried again."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from mahnwerk.comms.models import OutboundMessage
from mahnwerk.comms.outbox import attention_counts
from mahnwerk.ledger.models import Company
from mahnwerk.ledger.services import company_today

counter = iter(range(1, 1000))


def message(company: Any, debtor: Any, status: str, days_ago: int, **fields: Any) -> OutboundMessage:
    n = next(counter)
    return OutboundMessage.objects.create(
        company=company,
        debtor=debtor,
        channel=fields.pop("channel", "email"),
        recipient="ap@example.com",
        language="de",
        subject=f"Erinnerung {n}",
        body_text="x",
        message_id=f"<m{n}@test>",
        status=status,
        business_date=company_today(company) - timedelta(days=days_ago),
        **fields,
    )


def test_failed_and_retrying_counts_on_the_home_page(company: Any, make_debtor: Any, alice: Client) -> None:
    debtor = make_debtor()
    later = timezone.now() + timedelta(minutes=5)
    message(company, debtor, "queued", 2, next_attempt_at=later, attempts=2)  # retrying
    message(company, debtor, "queued", 0, next_attempt_at=later, attempts=1)  # retrying
    message(company, debtor, "queued", 0)  # queued, never tried: not retrying
    message(company, debtor, "failed", 0)
    message(company, debtor, "bounced", 6)  # the 7th day back still counts
    message(company, debtor, "failed", 7)  # the 8th does not
    message(company, debtor, "failed", 0, channel="letter")  # letters are not emails or SMS
    message(company, debtor, "sent", 0)
    message(company, debtor, "cancelled", 0)
    other = Company.objects.create(
        slug="other", name="Other GmbH", country="DE", iban="DE89370400440532013000"
    )
    message(other, make_debtor(company=other), "failed", 0)

    assert attention_counts(company, company_today(company)) == {"retrying": 2, "failed": 2, "days": 7}
    assert attention_counts(other, company_today(other))["failed"] == 1

    response = alice.get("/")
    assert response.status_code == 200
    assert response.context["outbox"] == {"retrying": 2, "failed": 2, "days": 7}
    html = response.content.decode()
    line = re.search(r'<p data-testid="outbox-attention"[^>]*>(.*?)</p>', html, re.S)
    assert line is not None
    assert sorted(re.findall(r"\d+", line.group(1))) == ["2", "2", "7"]  # in any word order
    assert "mahnwerk outbox retry" in line.group(1)


def test_nothing_failed_says_zero_without_the_retry_hint(company: Any, alice: Client) -> None:
    response = alice.get("/")
    assert response.context["outbox"] == {"retrying": 0, "failed": 0, "days": 7}
    line = re.search(
        r'<p data-testid="outbox-attention" class="muted">(.*?)</p>', response.content.decode(), re.S
    )
    assert line is not None
    assert "outbox retry" not in line.group(1)


def test_the_home_page_links_to_the_failed_and_retrying_messages(
    company: Any, make_debtor: Any, alice: Client, carol: Client
) -> None:
    debtor = make_debtor(name="Bäckerei Schulz GmbH")
    later = timezone.now() + timedelta(minutes=5)
    retrying = message(company, debtor, "queued", 1, next_attempt_at=later, attempts=2, last_error="451 busy")
    failed = message(company, debtor, "failed", 0, attempts=1, last_error="550 5.1.1 user unknown")
    old = message(company, debtor, "failed", 7, last_error="too old")  # outside the 7 days: not listed
    sms = message(company, debtor, "bounced", 3, channel="sms", last_error="not a valid mobile number")
    letter = message(company, debtor, "failed", 0, channel="letter", last_error="printer jam")
    other = Company.objects.create(
        slug="other", name="Other GmbH", country="DE", iban="DE89370400440532013000"
    )
    foreign = message(other, make_debtor(company=other), "failed", 0, last_error="foreign")

    home = alice.get("/").content.decode()
    line = re.search(r'<p data-testid="outbox-attention"[^>]*>(.*?)</p>', home, re.S)
    assert line is not None
    assert 'href="/messages/failed/"' in line.group(1) and 'href="/messages/retrying/"' in line.group(1)

    page = carol.get("/messages/failed/")  # a viewer sees them too
    assert page.status_code == 200
    html = page.content.decode()
    for msg in (failed, sms):
        assert f'href="/debtors/{debtor.pk}/messages/{msg.pk}/"' in html
    assert "user unknown" in html and "not a valid mobile number" in html and "Bäckerei Schulz GmbH" in html
    for msg in (retrying, old, letter, foreign):
        assert f"/messages/{msg.pk}/" not in html
    assert [r["msg"].pk for r in page.context["rows"]] == [sms.pk, failed.pk]  # the newest first

    html = alice.get("/messages/retrying/").content.decode()
    assert f'href="/debtors/{debtor.pk}/messages/{retrying.pk}/"' in html and "451 busy" in html
    assert f"/messages/{failed.pk}/" not in html
    assert alice.get("/messages/sent/").status_code == 404


def test_no_links_when_nothing_failed_or_waits(company: Any, alice: Client) -> None:
    html = alice.get("/").content.decode()
    assert "/messages/failed/" not in html and "/messages/retrying/" not in html
    assert "None." in alice.get("/messages/failed/").content.decode()
