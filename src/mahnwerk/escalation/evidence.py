"""The evidence bundle for a court or a lawyer: one ZIP with everything that proves the claim.

* ``invoices/`` — the stored invoice copies (``Invoice.document``);
* ``messages/`` — every reminder and agreement message sent, with its date and channel: letters as the PDF
  that went out (``comms.sent_pdfs``), emails as the ``.eml`` of the outbox folder where it is there, else the
  stored text;
* ``agreements.json`` — promises, instalment plans, settlement offers and disputes with their outcome, and the
  timeline events of each breach;
* ``interest.json`` and ``interest.pdf`` — the statement of account with every interest segment;
* ``timeline.json`` — the debtor's timeline with its texts;
* ``manifest.json`` — what is in the bundle (messages with date, channel, subject and file).
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings

from mahnwerk.comms import sent_pdfs
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.escalation.pdf import statement_pdf
from mahnwerk.ledger.claims import debtor_law, statement
from mahnwerk.ledger.models import Company, Debtor, Invoice, TimelineEvent
from mahnwerk.ledger.timeline import describe, event

BREACH_EVENTS = (
    "promise_broken",
    "promise_partly_kept",
    "plan_breached",
    "plan_expired",
    "settlement_lapsed",
    "incentive_lapsed",
)


def _safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", value)[:200]


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str).encode("utf-8")


def _outbox_dir() -> Path:
    mailers: dict[str, Any] = getattr(settings, "MAILERS", {}) or {}
    options: dict[str, Any] = dict(mailers.get("default", {}).get("OPTIONS", {}) or {})
    return Path(str(options.get("file_path") or settings.OUTBOX_DIR))


def _eml(company: Company, msg: OutboundMessage) -> bytes | None:
    path = _outbox_dir() / _safe(company.slug) / f"{_safe(msg.message_id.strip().strip('<>'))}.eml"
    try:
        return path.read_bytes()
    except OSError:
        return None


def _rows(queryset: Iterable[Any], fields: Iterable[str]) -> list[dict[str, Any]]:
    names = list(fields)
    return [{f: getattr(row, f) for f in names} for row in queryset]


def _agreements(debtor: Debtor) -> dict[str, Any]:
    from mahnwerk.collection.agreements_models import Dispute, InstalmentPlan, Promise, Settlement

    def numbers(obj: Any) -> list[str]:
        return sorted(obj.invoices.values_list("number", flat=True)) if hasattr(obj, "invoices") else []

    promises = [
        {**row, "invoices": numbers(p)}
        for p, row in (
            (
                p,
                {
                    f: getattr(p, f)
                    for f in (
                        "id",
                        "made_on",
                        "promised_date",
                        "amount_minor",
                        "currency",
                        "status",
                        "paid_minor",
                        "closed_on",
                        "note",
                    )
                },
            )
            for p in Promise.objects.filter(debtor=debtor).order_by("made_on", "id")
        )
    ]
    plans = [
        {
            **{
                f: getattr(p, f)
                for f in (
                    "id",
                    "proposed_on",
                    "principal_minor",
                    "costs_minor",
                    "currency",
                    "count",
                    "status",
                    "confirmed_on",
                )
            },
            "invoices": numbers(p),
        }
        for p in InstalmentPlan.objects.filter(debtor=debtor).order_by("proposed_on", "id")
    ]
    settlement_fields = [
        f.name for f in Settlement._meta.concrete_fields if f.name not in ("company", "debtor")
    ]
    settlements = _rows(Settlement.objects.filter(debtor=debtor).order_by("id"), settlement_fields)
    disputes = [
        {
            "id": d.pk,
            "invoice": d.invoice.number,
            "amount_minor": d.amount_minor,
            "reason": d.reason,
            "opened_on": d.opened_on,
            "status": d.status,
            "resolved_on": d.resolved_on,
            "resolution": d.resolution,
        }
        for d in Dispute.objects.filter(debtor=debtor).select_related("invoice").order_by("opened_on", "id")
    ]
    breaches = [
        {"date": e.business_date, "kind": e.kind, "text": describe(e), "data": e.data}
        for e in TimelineEvent.objects.filter(debtor=debtor, kind__in=BREACH_EVENTS).order_by(
            "business_date", "id"
        )
    ]
    return {
        "promises": promises,
        "plans": plans,
        "settlements": settlements,
        "disputes": disputes,
        "breaches": breaches,
    }


def build_bundle(
    company: Company, debtor: Debtor, as_of: date, out: Path, actor: str = "system"
) -> dict[str, Any]:
    """Write the bundle to ``out`` and return its manifest."""
    manifest: dict[str, Any] = {
        "debtor": {"number": debtor.number, "name": debtor.name},
        "creditor": company.name,
        "as_of": as_of,
        "invoices": [],
        "messages": [],
        "missing": [],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for inv in Invoice.objects.filter(company=company, debtor=debtor, issue_date__lte=as_of).order_by(
            "due_date", "number"
        ):
            entry: dict[str, Any] = {
                "number": inv.number,
                "issue_date": inv.issue_date,
                "amount_minor": inv.amount_minor,
                "file": None,
            }
            if inv.document:
                try:
                    with inv.document.open("rb") as fh:
                        copy: bytes | None = bytes(fh.read())
                except OSError:
                    copy = None
                if copy is not None:
                    suffix = Path(str(inv.document.name)).suffix or ".pdf"
                    name = f"invoices/{_safe(inv.number)}{suffix}"
                    zf.writestr(name, copy)
                    entry["file"] = name
            if entry["file"] is None:
                manifest["missing"].append(f"invoice copy {inv.number}")
            manifest["invoices"].append(entry)
        messages = OutboundMessage.objects.filter(
            company=company,
            debtor=debtor,
            status__in=(MessageStatus.SENT, MessageStatus.BOUNCED, MessageStatus.RETURNED),
        ).order_by("business_date", "id")
        for msg in messages:
            day = msg.business_date or (msg.sent_at.date() if msg.sent_at else None)
            stem = f"messages/{day or 'undated'}_{msg.pk}_{msg.channel}"
            content: bytes | None = None
            name = ""
            if msg.channel == "letter":
                content = sent_pdfs.kept(msg)
                name = f"{stem}.pdf"
            elif msg.channel == "email":
                content = _eml(company, msg)
                name = f"{stem}.eml"
            if content is None:
                content = f"{msg.subject}\n\n{msg.body_text}".encode()
                name = f"{stem}.txt"
            zf.writestr(name, content)
            manifest["messages"].append(
                {
                    "date": day,
                    "sent_at": msg.sent_at,
                    "channel": msg.channel,
                    "recipient": msg.recipient,
                    "subject": msg.subject,
                    "purpose": msg.purpose,
                    "status": msg.status,
                    "file": name,
                }
            )
        zf.writestr("agreements.json", _json(_agreements(debtor)))
        data = statement(company, debtor.pk, debtor_law(company, debtor), as_of)
        zf.writestr("interest.json", _json(data))
        zf.writestr("interest.pdf", statement_pdf(data, debtor.name))
        timeline = [
            {
                "date": e.business_date,
                "at": e.at,
                "kind": e.kind,
                "actor": e.actor,
                "text": describe(e),
                "data": e.data,
            }
            for e in TimelineEvent.objects.filter(debtor=debtor, business_date__lte=as_of).order_by(
                "business_date", "id"
            )
        ]
        zf.writestr("timeline.json", _json(timeline))
        files = len(zf.namelist()) + 1
        manifest["files"] = sorted([*zf.namelist(), "manifest.json"])
        zf.writestr("manifest.json", _json(manifest))
    event(
        debtor.pk, company.pk, "evidence_bundle_built", as_of, actor=actor, files=files, file=out.name
    ).save()
    return manifest
