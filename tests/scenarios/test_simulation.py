"""The audit over what the system wrote: hand-made records it must object to, and a simulated stretch of
collection (the run, payments, agreements, disputes, bounces, letters) in which it must find nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

D = date.fromisoformat
DAY = D("2026-03-20")


@pytest.fixture
def write(company: Any) -> Callable[..., Any]:
    """Write a message as the run would have: an action with its items and the message naming them."""
    from mahnwerk.collection.models import Action, ActionItem, Playbook
    from mahnwerk.comms.models import OutboundMessage

    playbook = Playbook.objects.get(company=company, is_default=True)
    steps = {s.template: s for s in playbook.steps.all()}
    counter = iter(range(1, 10_000))

    def make(
        debtor: Any,
        day: date,
        invoices: list[Any],
        template: str = "reminder",
        *,
        amounts: dict[str, int] | None = None,
        interest: int = 0,
        purpose: str = "collection",
        sent: bool = True,
    ) -> Any:
        n = next(counter)
        action = None
        items = []
        if purpose == "collection":
            step = steps[template]
            action = Action.objects.create(
                company=company,
                debtor=debtor,
                as_of=day,
                key=Action.make_key(debtor.pk, day),
                playbook=playbook,
                step=step,
                level=step.level,
                channel="email",
                tone=step.tone,
            )
            for inv in invoices:
                amount = (amounts or {}).get(inv.number, inv.open_minor)
                ActionItem.objects.create(action=action, invoice=inv, level=step.level, open_minor=amount)
                items.append(
                    {
                        "number": inv.number,
                        "due_date": inv.due_date.isoformat(),
                        "open_minor": amount,
                        "interest_minor": interest,
                        "fees_minor": 0,
                        "currency": inv.currency,
                    }
                )
        return OutboundMessage.objects.create(
            company=company,
            debtor=debtor,
            action=action,
            channel="email",
            recipient="ap@example.test",
            language="de",
            subject=f"message {n}",
            body_text="...",
            payload={"items": items, "coming": [], "template": template} if action else {},
            business_date=day,
            purpose=purpose,
            message_id=f"<audit-test-{n}@localhost>",
            status="sent" if sent else "queued",
            sent_at=timezone.now() if sent else None,
        )

    return make


@pytest.mark.django_db
def test_the_audit_objects_to_each_broken_rule_in_the_records(
    company: Any, make_debtor: Any, make_invoice: Any, pay: Any, write: Any
) -> None:
    from mahnwerk.collection.agreements import record_promise
    from mahnwerk.comms.audit import audit_messages
    from mahnwerk.comms.models import OutboundMessage
    from mahnwerk.ledger.models import Invoice

    def debtor_with(*amounts: str, due: str = "2026-03-01") -> tuple[Any, list[Any]]:
        debtor = make_debtor()
        invoices = [
            make_invoice(debtor, f"R-{debtor.number}-{n}", amount, due) for n, amount in enumerate(amounts, 1)
        ]
        return debtor, invoices

    clean, (c1,) = debtor_with("100.00")
    write(clean, DAY - timedelta(days=8), [c1])
    write(clean, DAY, [c1])

    paid, (p1,) = debtor_with("100.00")
    message = write(paid, DAY, [p1], sent=False)
    pay(paid, "40.00", DAY.isoformat(), invoice=p1)  # recorded after the message was written, before it left
    OutboundMessage.objects.filter(pk=message.pk).update(status="sent", sent_at=timezone.now())

    often, (o1,) = debtor_with("100.00")
    write(often, DAY - timedelta(days=3), [o1])
    write(often, DAY, [o1])

    small, (s1,) = debtor_with("3.00")
    write(small, DAY, [s1])

    final, (f1,) = debtor_with("40.00")
    write(final, DAY, [f1], "final_notice")

    thanked, (t1,) = debtor_with("100.00")
    write(thanked, DAY, [], purpose="courtesy")
    write(thanked, DAY, [t1])

    promised, (pr1,) = debtor_with("100.00")
    record_promise(
        company, promised, [pr1], DAY + timedelta(days=5), as_of=DAY - timedelta(days=2), confirm=False
    )
    write(promised, DAY, [pr1])

    early, (e1, e2) = debtor_with("100.00", "80.00")
    Invoice.objects.filter(pk=e2.pk).update(due_date=DAY + timedelta(days=4))
    e2.refresh_from_db()
    write(early, DAY, [e1, e2])

    missing, (m1, _m2) = debtor_with("100.00", "70.00")
    write(missing, DAY, [m1])

    wrong, (w1,) = debtor_with("100.00")
    write(wrong, DAY, [w1], interest=999)

    barred, (b1,) = debtor_with("100.00")
    Invoice.objects.filter(pk=b1.pk).update(time_barred_on=DAY - timedelta(days=1))
    write(barred, DAY, [b1], "final_notice")

    report = audit_messages(company)
    found = {(v.rule.value, v.debtor) for v in report.violations}
    assert found == {
        ("paid_item_named", paid.number),
        ("cadence", often.number),
        ("below_minimum", small.number),
        ("below_step_minimum", final.number),
        ("same_day_contradiction", thanked.number),
        ("covered_item_named", promised.number),
        ("not_due_in_total", early.number),
        ("overdue_item_missing", missing.number),
        ("total_mismatch", wrong.number),
        ("time_barred_threat", barred.number),
    }
    assert report.messages == 14
    assert all(report.detail(v) for v in report.violations)

    # the period: only the messages of that business date, an earlier one still counting for the cadence
    assert audit_messages(company, DAY - timedelta(days=1), DAY).by_rule == report.by_rule
    assert audit_messages(company, DAY - timedelta(days=9), DAY - timedelta(days=1)).violations == []


@pytest.mark.django_db
def test_the_audit_command_prints_each_violation_and_the_count(
    company: Any, make_debtor: Any, make_invoice: Any, write: Any
) -> None:
    debtor = make_debtor(number="K77")
    write(debtor, DAY, [make_invoice(debtor, "R-77", "3.00", "2026-03-01")])
    out = StringIO()
    call_command("audit", stdout=out)
    lines = out.getvalue().splitlines()
    assert "K77" in lines[0] and "below_minimum" in lines[0]
    assert lines[-1] == "1 violation(s) in 1 message(s)"
    out = StringIO()
    call_command("audit", "--json", "--company", "acme", "--from", "2026-03-20", stdout=out)
    data = json.loads(out.getvalue())
    assert data["messages"] == 1 and data["by_rule"] == {"below_minimum": 1}
    (violation,) = data["violations"]
    assert violation["debtor"] == "K77" and violation["rule"] == "below_minimum"
    assert violation["business_date"] == "2026-03-20" and violation["message_id"] and violation["detail"]
    with pytest.raises(CommandError, match="1 violation"):
        call_command("audit", "--fail-on-violation", stdout=StringIO())
    call_command("audit", "--fail-on-violation", "--to", "2026-03-19", stdout=StringIO())  # none then
    with pytest.raises(CommandError, match="no company 'nope'"):
        call_command("audit", "--company", "nope")


@pytest.mark.slow
@pytest.mark.django_db
def test_a_simulated_stretch_of_collection_breaks_no_rule(
    outbox: Path, settings: Any, tmp_path: Path
) -> None:
    from django.core.cache import cache

    from mahnwerk.comms.audit import audit_messages, violations_text
    from mahnwerk.simulation import EVENT_KINDS, simulate

    cache.clear()
    settings.OUTBOX_DIR = tmp_path / "outbox"
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        }
    }
    # any seed: the random draws follow the run's decisions, so a change in what the run does moves them (with
    # seed 3, the calls' capped retries left a single hard bounce in 120 days)
    result = simulate(150, 120, seed=4, render_pdfs=False)
    # every kind of event happened, more than once
    assert {kind: result.events[kind] for kind in EVENT_KINDS if result.events[kind] < 2} == {}
    assert result.runs == 120 and result.invoices > 500
    report = audit_messages(result.company)
    assert report.messages > 500 and report.calls > 0
    assert report.violations == [], "\n".join(violations_text(report))
