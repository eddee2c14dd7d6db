"""The dossier a partner gets: one ZIP with a PDF summary, the claims as JSON and CSV (their total is the
statement of account of the handover day), the debtor's data, the timeline, agreements, and copies of the
invoices and of the letters as they went out."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date, datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from mahnwerk.collection.agreements_models import Dispute, InstalmentPlan, Promise, Settlement
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.comms.sent_pdfs import kept
from mahnwerk.core.money import format_money, to_decimal
from mahnwerk.ledger import timeline
from mahnwerk.ledger.claims import default_rule_label
from mahnwerk.ledger.models import ChannelChoice, Company, Debtor, Invoice, Payment, TimelineEvent
from mahnwerk.partners.models import Handover, Partner

CSV_FIELDS = (
    "invoice",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "paid",
    "principal_open",
    "interest_open",
    "fees_open",
    "total_open",
    "default_from",
    "interest_basis",
    "time_barred_after",  # the last day the item can be enforced (by the debtor's law)
    "time_barred",  # yes: its limitation period has ended by the handover day; the debtor may refuse to pay it
)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "file"


def _json(data: object) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_default).encode()


def _default(value: object) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _amount(minor: int, currency: str) -> str:
    return str(to_decimal(minor, currency))


def interest_basis(line: dict[str, Any]) -> str:
    """The rates of the interest segments, e.g. "9 points above the reference rate (11.27 %)"."""
    rates = []
    for seg in line["segments"]:
        text = f"{seg['rate']} %"
        if seg["base"] is not None:
            text = f"{seg['base']} % + {seg['margin']} = {text}"
        if text not in rates:
            rates.append(text)
    return "; ".join(rates)


def claims_data(
    company: Company, debtor: Debtor, partner: Partner, handover: Handover, data: dict[str, Any]
) -> dict[str, Any]:
    """``claims.json``: the statement of the handover day per invoice of the handover's currency, each with the
    last day it can be enforced (``time_barred_after``) and whether that day has passed (``time_barred``)."""
    cur = handover.currency
    lines = [line for line in data["lines"] if line["currency"] == cur and line["total_open_minor"] > 0]
    on = handover.handed_over_on

    def barred(line: dict[str, Any]) -> bool:
        return line["time_barred_after"] is not None and line["time_barred_after"] < on

    return {
        "handover_id": handover.pk,
        "handed_over_on": handover.handed_over_on,
        "partner": {"name": partner.name, "kind": partner.kind},
        "creditor": {
            "name": company.name,
            "address": company.address_lines(),
            "country": company.country,
            "iban": company.iban,
            "vat_id": company.vat_id,
            "register": " ".join(x for x in (company.register_court, company.register_number) if x),
        },
        "debtor": {"number": debtor.number, "name": debtor.name},
        "rules": data["rules"],
        "currency": cur,
        "claims": [
            {
                "invoice": line["number"],
                "issue_date": line["issue_date"],
                "due_date": line["due_date"],
                "amount_minor": line["amount_minor"],
                "paid_minor": line["paid"],
                "written_off_minor": line["written_off"],
                "principal_open_minor": line["principal_open_minor"],
                "interest_accrued_minor": line["interest_accrued_minor"],
                "interest_paid_minor": line["interest_paid_minor"],
                "interest_open_minor": line["interest_open_minor"],
                "fees_open_minor": line["fees_open_minor"],
                "total_open_minor": line["total_open_minor"],
                "default_from": line["default_from"],
                "default_rule": line["default_rule"],
                "default_rule_label": line["default_rule_label"],
                "interest_until": line["interest_until"],
                "interest_note": line["interest_error"],
                "time_barred_after": line["time_barred_after"],
                "time_barred": barred(line),
                "segments": line["segments"],
                "charges": [
                    {
                        "kind": c["kind"],
                        "booked_on": c["booked_on"],
                        "amount_minor": c["amount_minor"],
                        "open_minor": c["open_minor"],
                    }
                    for c in line["charges"]
                ],
            }
            for line in lines
        ],
        "totals": {
            key: sum(line[f"{key}_minor"] for line in lines)
            for key in ("principal_open", "interest_open", "fees_open", "total_open")
        },
        "total_minor": sum(line["total_open_minor"] for line in lines),
        "time_barred_total_minor": sum(line["total_open_minor"] for line in lines if barred(line)),
        "credit_on_account_minor": data["credits"].get(cur, 0),
    }


def claims_csv(claims: dict[str, Any]) -> bytes:
    """``claims.csv``: one row per invoice (amounts as decimals with a point), then the total row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    cur = claims["currency"]
    for c in claims["claims"]:
        paid = sum(c["paid_minor"].values())
        writer.writerow(
            [
                c["invoice"],
                c["issue_date"].isoformat(),
                c["due_date"].isoformat(),
                cur,
                _amount(c["amount_minor"], cur),
                _amount(paid, cur),
                _amount(c["principal_open_minor"], cur),
                _amount(c["interest_open_minor"], cur),
                _amount(c["fees_open_minor"], cur),
                _amount(c["total_open_minor"], cur),
                c["default_from"].isoformat() if c["default_from"] else "",
                interest_basis(c),
                c["time_barred_after"].isoformat() if c["time_barred_after"] else "",
                "yes" if c["time_barred"] else "no",
            ]
        )
    t = claims["totals"]
    writer.writerow(
        [
            "TOTAL",
            "",
            "",
            cur,
            "",
            "",
            _amount(t["principal_open"], cur),
            _amount(t["interest_open"], cur),
            _amount(t["fees_open"], cur),
            _amount(t["total_open"], cur),
            "",
            "",
            "",
            "",
        ]
    )
    return out.getvalue().encode("utf-8-sig")


def debtor_data(debtor: Debtor) -> dict[str, Any]:
    return {
        "number": debtor.number,
        "name": debtor.name,
        "kind": debtor.kind,
        "language": debtor.language,
        "salutation": debtor.salutation,
        "title": debtor.title,
        "contact_person": debtor.contact_person,
        "vat_id": debtor.vat_id,
        "street": debtor.street,
        "postcode": debtor.postcode,
        "city": debtor.city,
        "country": debtor.country,
        "postal_address_invalid": debtor.address_invalid,
        "contacts": [
            {
                "kind": c.kind,
                "value": c.value,
                "primary": c.is_primary,
                "valid": c.is_valid,
                "opted_out": c.opted_out,
            }
            for c in debtor.contacts.order_by("kind", "-is_primary", "pk")
        ],
    }


def payments_data(debtor: Debtor, as_of: date) -> list[dict[str, Any]]:
    return [
        {
            "value_date": p.value_date,
            "amount_minor": p.amount_minor,
            "currency": p.currency,
            "reference": p.reference,
            "payer": p.payer,
            "unallocated_minor": p.unallocated_minor,
        }
        for p in Payment.objects.filter(debtor=debtor, value_date__lte=as_of).order_by("value_date", "pk")
    ]


def agreements_data(debtor: Debtor) -> dict[str, Any]:
    return {
        "promises": list(
            Promise.objects.filter(debtor=debtor).values(
                "made_on",
                "promised_date",
                "amount_minor",
                "currency",
                "status",
                "paid_minor",
                "closed_on",
                "note",
            )
        ),
        "instalment_plans": list(
            InstalmentPlan.objects.filter(debtor=debtor).values(
                "proposed_on", "confirm_by", "principal_minor", "costs_minor", "status"
            )
        ),
        "settlements": list(
            Settlement.objects.filter(debtor=debtor).values(
                "offered_on",
                "deadline",
                "amount_minor",
                "open_at_offer_minor",
                "currency",
                "status",
                "paid_minor",
            )
        ),
        "disputes": list(
            Dispute.objects.filter(debtor=debtor).values(
                "invoice__number",
                "amount_minor",
                "reason",
                "notes",
                "opened_on",
                "status",
                "resolved_on",
                "resolution",
            )
        ),
    }


def timeline_rows(debtor: Debtor, language: str) -> list[dict[str, str]]:
    with translation.override(language):
        return [
            {
                "date": e.business_date.isoformat(),
                "actor": e.actor,
                "kind": e.kind,
                "text": timeline.describe(e),
            }
            for e in TimelineEvent.objects.filter(debtor=debtor).order_by("business_date", "pk")
        ]


def letters(debtor: Debtor) -> list[tuple[str, bytes, dict[str, Any]]]:
    """The letters that went out (kept as sent), and the collection emails as a list."""
    found = []
    for msg in OutboundMessage.objects.filter(debtor=debtor, status=MessageStatus.SENT).order_by(
        "business_date", "pk"
    ):
        pdf = kept(msg) if msg.channel in (ChannelChoice.LETTER, ChannelChoice.EMAIL) else None
        day = (msg.business_date or (msg.sent_at.date() if msg.sent_at else date.min)).isoformat()
        info = {"date": day, "channel": msg.channel, "recipient": msg.recipient, "subject": msg.subject}
        found.append((f"letters/{day}_{msg.channel}_{msg.pk}.pdf" if pdf else "", pdf or b"", info))
    return found


def summary_pdf(context: dict[str, Any]) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    source = render_to_string("partners/handover_summary.html", context)
    pdf = HTML(string=source, url_fetcher=URLFetcher(allowed_protocols={"data"}, timeout=1)).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf


def build_dossier(
    company: Company, debtor: Debtor, partner: Partner, handover: Handover, data: dict[str, Any]
) -> bytes:
    language = company.default_language or "en"
    claims = claims_data(company, debtor, partner, handover, data)
    events = timeline_rows(debtor, language)
    sent = letters(debtor)
    cur = handover.currency
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("claims.json", _json(claims))
        zf.writestr("claims.csv", claims_csv(claims))
        zf.writestr("debtor.json", _json(debtor_data(debtor)))
        zf.writestr("payments.json", _json(payments_data(debtor, handover.handed_over_on)))
        zf.writestr("agreements.json", _json(agreements_data(debtor)))
        zf.writestr("timeline.json", _json(events))
        zf.writestr(
            "timeline.txt", "".join(f"{e['date']}  {e['actor']:<16} {e['text']}\n" for e in events).encode()
        )
        zf.writestr("messages.json", _json([info for _name, _pdf, info in sent]))
        for name, pdf, _info in sent:
            if name:
                zf.writestr(name, pdf)
        copies = []
        for inv in (
            Invoice.objects.filter(pk__in=handover.invoice_ids).exclude(document="").order_by("number")
        ):
            try:
                with inv.document.open("rb") as fh:
                    content = fh.read()
            except (FileNotFoundError, OSError):
                continue
            name = f"invoices/{_safe(inv.number)}.pdf"
            zf.writestr(name, content)
            copies.append(name)
        with translation.override(language):
            zf.writestr(
                "summary.pdf",
                summary_pdf(
                    {
                        "company": company,
                        "debtor": debtor,
                        "partner": partner,
                        "handover": handover,
                        "claims": [
                            c
                            | {
                                "amount": format_money(c["amount_minor"], cur, language),
                                "principal": format_money(c["principal_open_minor"], cur, language),
                                "interest": format_money(c["interest_open_minor"], cur, language),
                                "fees": format_money(c["fees_open_minor"], cur, language),
                                "total": format_money(c["total_open_minor"], cur, language),
                                "basis": interest_basis(c),
                                "default_rule_label": default_rule_label(c["default_rule"]),
                                "segments": [
                                    seg | {"principal": format_money(seg["principal_minor"], cur, language)}
                                    for seg in c["segments"]
                                ],
                            }
                            for c in claims["claims"]
                        ],
                        "total": format_money(claims["total_minor"], cur, language),
                        "events": events,
                        "messages": [info for _name, _pdf, info in sent],
                        "copies": copies,
                        "rules": data["rules"],
                    }
                ),
            )
    return buffer.getvalue()
