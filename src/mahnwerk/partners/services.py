"""Agencies and lawyers: partners, handing an account over (the dossier and the hold), the partner's statuses
booked back, payments that still reach the creditor reported to the partner, recalls.

**Money the partner collects.** The partner reports the amount it collected from the debtor and the fee it
kept. What reaches the creditor — the amount collected less the fee — is booked as a payment through
``ledger.services.record_payments`` (applied costs → interest → principal like any payment); the fee is
recorded on the handover and on the timeline, not booked as a charge on the debtor. Whether and how far the
debtor must reimburse collection costs (§ 288(4) BGB, capped by § 13e RDG at a lawyer's fee, the 40 EUR flat
rate of § 288(5) credited against them) is the partner's claim against the debtor, pursued by the partner;
booking it here as well would claim it twice. What is still open after a partner's report stays on the
statement of account.

**The hold.** A handed-over account gets no more reminders: the debtor's case is put on hold through
``collection.services.set_hold`` with the reason "with partner X since D", which the run, "send now" and the
outbox's last check before sending all respect. A recall or the end of the handover releases it (or puts back a
hold the case had before); "uncollectable" keeps the account on hold for a person to decide.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mahnwerk.api.models import hash_key
from mahnwerk.collection.models import Case
from mahnwerk.collection.services import set_hold
from mahnwerk.core.money import format_money, to_decimal, to_minor
from mahnwerk.ids import parse_id
from mahnwerk.ledger import timeline
from mahnwerk.ledger.claims import debtor_law, statement
from mahnwerk.ledger.models import Company, Debtor, Payment
from mahnwerk.ledger.services import Receipt, company_today, record_payments
from mahnwerk.partners.models import (
    ExchangeFormat,
    Handover,
    HandoverStatus,
    Partner,
    PartnerEvent,
    PartnerEventKind,
    PartnerKind,
    PartnerStatus,
    PaymentNotice,
    StatusReport,
)

TOKEN_PREFIX = "mwp_"
# external_id of a payment booked from a partner's report: such payments are not reported back to it
PARTNER_PAYMENT_PREFIX = "partner:"
MAX_MINOR = 10**12
ENDING = (PartnerStatus.CLOSED, PartnerStatus.UNCOLLECTABLE)


class PartnerError(Exception):
    """A partner operation that cannot be done as asked; the message says why."""


# -- partners --------------------------------------------------------------------------------------------


def issue_token(partner: Partner) -> str:
    """A new token for the partner's status reports (the earlier one stops working); shown once."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    partner.api_token_hash = hash_key(key)
    partner.save(update_fields=["api_token_hash"])
    return key


@transaction.atomic
def reissue_token(partner: Partner, actor: str = "system") -> str:
    """A new token in place of the partner's current one (lost, or passed on to the wrong person), on the
    partner's history; the token itself is returned once and kept only as its hash."""
    key = issue_token(partner)
    PartnerEvent.objects.create(partner=partner, actor=actor, kind=PartnerEventKind.TOKEN_ISSUED)
    return key


# the fields of a partner a person may change, with how each is written on the history
EDITABLE = ("kind", "fee_percent", "email", "format", "active")


def _text(field: str, value: Any) -> str:
    if field == "active":
        return "yes" if value else "no"
    if field == "fee_percent":
        return f"{Decimal(value):.2f}"
    return str(value)


@transaction.atomic
def update_partner(
    company: Company, partner: Partner, actor: str = "system", **values: Any
) -> dict[str, list[str]]:
    """Change the partner's terms (``EDITABLE``: kind, fee, email, exchange format, active), validated as on
    adding; what changed goes on the partner's history with its old and new value. The name stays: it names
    the holds of its handovers. Returns the changes (empty: nothing changed, nothing written)."""
    if partner.company_id != company.pk:
        raise PartnerError(_("No partner named {name}.").format(name=partner.name))
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise PartnerError(
            _("These fields cannot be changed: {fields}").format(fields=", ".join(sorted(unknown)))
        )
    locked = Partner.objects.select_for_update().get(pk=partner.pk)
    changes: dict[str, list[str]] = {}
    for name, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        old = getattr(locked, name)
        if _text(name, old) != _text(name, value):
            changes[name] = [_text(name, old), _text(name, value)]
            setattr(locked, name, value)
    if not changes:
        return {}
    try:
        locked.full_clean(exclude=["company", "api_token_hash"])
    except ValidationError as exc:
        raise PartnerError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    locked.save(update_fields=list(changes))
    for name in changes:
        setattr(partner, name, getattr(locked, name))
    PartnerEvent.objects.create(partner=locked, actor=actor, kind=PartnerEventKind.CHANGED, changes=changes)
    return changes


@transaction.atomic
def add_partner(
    company: Company,
    name: str,
    kind: str,
    fee_percent: Decimal,
    *,
    email: str = "",
    exchange_format: str = ExchangeFormat.CSV,
    actor: str = "system",
) -> tuple[Partner, str]:
    """A new partner and its API token (returned once, stored hashed)."""
    name = name.strip()
    if Partner.objects.filter(company=company, name=name).exists():
        raise PartnerError(_("There is already a partner named {name}.").format(name=name))
    partner = Partner(
        company=company,
        name=name,
        kind=kind,
        fee_percent=fee_percent,
        email=email.strip(),
        format=exchange_format,
    )
    try:
        partner.full_clean(exclude=["company", "api_token_hash"])
    except ValidationError as exc:
        raise PartnerError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    partner.save()
    PartnerEvent.objects.create(
        partner=partner,
        actor=actor,
        kind=PartnerEventKind.CREATED,
        changes={f: ["", _text(f, getattr(partner, f))] for f in EDITABLE},
    )
    return partner, issue_token(partner)


def find_partner(company: Company, name: str) -> Partner:
    partner = Partner.objects.filter(company=company, name=name).first()
    if partner is None:
        raise PartnerError(_("No partner named {name}.").format(name=name))
    return partner


def partner_for_token(key: str) -> Partner | None:
    """The partner a bearer token belongs to, or None."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    return Partner.objects.select_related("company").filter(api_token_hash=hash_key(key)).first()


def find_debtor(company: Company, ident: str) -> Debtor:
    qs = Debtor.objects.filter(company=company)
    debtor = qs.filter(number=ident).first() or (
        qs.filter(pk=pk).first() if (pk := parse_id(ident)) else None
    )
    if debtor is None:
        raise PartnerError(_("No debtor {ident} in {company}.").format(ident=ident, company=company.name))
    return debtor


def open_handover(debtor: Debtor) -> Handover | None:
    return (
        Handover.objects.select_related("partner").filter(debtor=debtor, status=HandoverStatus.OPEN).first()
    )


def kind_label(kind: str) -> str:
    return str(PartnerKind(kind).label) if kind in PartnerKind.values else kind


# -- handover --------------------------------------------------------------------------------------------


def hold_reason(partner: Partner, on: date) -> str:
    return _("with partner {partner} since {date}").format(partner=partner.name, date=on.isoformat())[:200]


def due_by_currency(data: dict[str, Any]) -> dict[str, int]:
    """A statement's total due per currency, only where something is due."""
    return {cur: t["total_open_minor"] for cur, t in data["totals"].items() if t["total_open_minor"] > 0}


def hand_over(
    company: Company, debtor: Debtor, partner: Partner, as_of: date, actor: str = "system"
) -> tuple[Handover, bytes]:
    """Hand the debtor's account to ``partner`` as of ``as_of``: the dossier (ZIP, kept in the file storage
    and returned), the handover with the statement's total of that day, the hold that stops our reminders."""
    from mahnwerk.partners.dossier import build_dossier

    if partner.company_id != company.pk or debtor.company_id != company.pk:
        raise PartnerError(_("The partner or the debtor belongs to another company."))
    if not partner.active:
        raise PartnerError(
            _("{partner} is not active: it takes no new handovers.").format(partner=partner.name)
        )
    with transaction.atomic():
        list(Debtor.objects.select_for_update().filter(pk=debtor.pk).values_list("pk", flat=True))
        current = open_handover(debtor)
        if current is not None:
            raise PartnerError(
                _("{debtor} is with {partner} since {date} already.").format(
                    debtor=debtor.number,
                    partner=current.partner.name,
                    date=current.handed_over_on.isoformat(),
                )
            )
        data = statement(company, debtor.pk, debtor_law(company, debtor), as_of)
        due = due_by_currency(data)
        if not due:
            raise PartnerError(
                _("Nothing is due from {debtor} on {date}.").format(debtor=debtor.number, date=as_of)
            )
        if len(due) > 1:
            raise PartnerError(
                _(
                    "{debtor} owes in several currencies ({currencies}): hand over one currency at a time."
                ).format(debtor=debtor.number, currencies=", ".join(sorted(due)))
            )
        ((currency, total),) = due.items()
        case = Case.objects.filter(debtor=debtor).first()
        handover = Handover.objects.create(
            company=company,
            debtor=debtor,
            partner=partner,
            handed_over_on=as_of,
            total_minor=total,
            currency=currency,
            invoice_ids=[
                line["invoice_id"]
                for line in data["lines"]
                if line["currency"] == currency and line["total_open_minor"] > 0
            ],
            hold_before=case.hold_reason if case is not None and case.on_hold else "",
            actor=actor,
        )
        content = build_dossier(company, debtor, partner, handover, data)
        handover.dossier = default_storage.save(
            f"handovers/{company.pk}/{handover.pk}.zip", ContentFile(content)
        )
        handover.save(update_fields=["dossier"])
        timeline.event(
            debtor.pk,
            company.pk,
            "handed_over",
            as_of,
            actor=actor,
            partner=partner.name,
            partner_kind=partner.kind,
            total=format_money(total, currency),
            date=as_of,
        ).save()
        set_hold(company, debtor, True, reason=hold_reason(partner, as_of), actor=actor)
    return handover, content


def dossier_bytes(handover: Handover) -> bytes | None:
    """The ZIP handed over, as it was built on the day."""
    if not handover.dossier:
        return None
    try:
        with default_storage.open(handover.dossier, "rb") as fh:
            return bytes(fh.read())
    except (FileNotFoundError, OSError):
        return None


def _release(company: Company, handover: Handover, actor: str, *, keep_reason: str = "") -> None:
    """Take back the hold of the handover (only if it is still ours): the hold before it comes back, or with
    ``keep_reason`` the case stays on hold for that reason."""
    case = Case.objects.filter(debtor=handover.debtor).first()
    ours = hold_reason(handover.partner, handover.handed_over_on)
    if case is None or not case.on_hold or case.hold_reason != ours:
        return  # somebody changed the hold meanwhile: theirs stands
    if keep_reason:
        set_hold(company, handover.debtor, True, reason=keep_reason[:200], actor=actor)
    elif handover.hold_before:
        set_hold(company, handover.debtor, True, reason=handover.hold_before, actor=actor)
    else:
        set_hold(company, handover.debtor, False, actor=actor)


@transaction.atomic
def recall(company: Company, debtor: Debtor, reason: str, as_of: date, actor: str = "system") -> Handover:
    """End the debtor's handover: the partner is to stop, our own collection resumes."""
    handover = open_handover(debtor)
    if handover is None or handover.company_id != company.pk:
        raise PartnerError(_("{debtor} is not with a partner.").format(debtor=debtor.number))
    handover.status = HandoverStatus.RECALLED
    handover.ended_on = as_of
    handover.end_reason = reason[:500]
    handover.save(update_fields=["status", "ended_on", "end_reason"])
    timeline.event(
        debtor.pk,
        company.pk,
        "handover_recalled",
        as_of,
        actor=actor,
        partner=handover.partner.name,
        reason=reason or "-",
    ).save()
    _release(company, handover, actor)
    return handover


# -- payments that reach us after the handover -----------------------------------------------------------


def note_payments(
    company: Company | None = None, debtor_ids: Iterable[int] | None = None
) -> list[PaymentNotice]:
    """Note, once each, the payments of handed-over debtors that reached us after the handover (recorded
    after it, or with a later value date) — not the ones booked from the partner's own reports. Each gets a
    notice for the partner's report and a timeline event. Safe to call again."""
    handovers = Handover.objects.filter(status=HandoverStatus.OPEN).select_related("partner")
    if company is not None:
        handovers = handovers.filter(company=company)
    if debtor_ids is not None:
        handovers = handovers.filter(debtor_id__in=list(debtor_ids))
    made: list[PaymentNotice] = []
    for handover in handovers:
        seen = set(PaymentNotice.objects.filter(handover=handover).values_list("payment_id", flat=True))
        payments = (
            Payment.objects.filter(debtor_id=handover.debtor_id, amount_minor__gt=0)
            .exclude(external_id__startswith=PARTNER_PAYMENT_PREFIX)
            .order_by("value_date", "pk")
        )
        for p in payments:
            if p.pk in seen or not (
                p.value_date > handover.handed_over_on or p.created_at >= handover.created_at
            ):
                continue
            made.append(
                PaymentNotice.objects.create(
                    handover=handover,
                    payment=p,
                    amount_minor=p.amount_minor,
                    currency=p.currency,
                    value_date=p.value_date,
                )
            )
            timeline.event(
                handover.debtor_id,
                handover.company_id,
                "partner_payment_noted",
                p.value_date,
                amount=format_money(p.amount_minor, p.currency),
                value_date=p.value_date,
                partner=handover.partner.name,
            ).save()
    return made


REPORT_FIELDS = (
    "partner",
    "debtor",
    "debtor_name",
    "handed_over_on",
    "payment_id",
    "value_date",
    "amount",
    "amount_minor",
    "currency",
    "reference",
    "payer",
)


def payment_report(
    company: Company, partner: Partner | None = None, *, mark: bool = True, include_reported: bool = False
) -> list[dict[str, Any]]:
    """One line per payment that came to us after a handover and was not reported yet (``include_reported``:
    all of them); ``mark`` notes them as reported now."""
    note_payments(company)
    notices = PaymentNotice.objects.filter(handover__company=company).select_related(
        "handover__partner", "handover__debtor", "payment"
    )
    if partner is not None:
        notices = notices.filter(handover__partner=partner)
    if not include_reported:
        notices = notices.filter(reported_at__isnull=True)
    rows = [
        {
            "partner": n.handover.partner.name,
            "debtor": n.handover.debtor.number,
            "debtor_name": n.handover.debtor.name,
            "handed_over_on": n.handover.handed_over_on.isoformat(),
            "payment_id": n.payment_id,
            "value_date": n.value_date.isoformat(),
            "amount": str(to_decimal(n.amount_minor, n.currency)),
            "amount_minor": n.amount_minor,
            "currency": n.currency,
            "reference": n.payment.reference,
            "payer": n.payment.payer,
        }
        for n in notices.order_by("handover__partner__name", "value_date", "pk")
    ]
    if mark and rows:
        PaymentNotice.objects.filter(pk__in=[n.pk for n in notices], reported_at__isnull=True).update(
            reported_at=timezone.now()
        )
    return rows


def report_text(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    if fmt == ExchangeFormat.JSON:
        return json.dumps({"payments": list(rows)}, indent=2, ensure_ascii=False)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# -- status back from the partner ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusRow:
    debtor: str
    status: str
    collected_minor: int
    fee_minor: int
    on: date
    note: str = ""

    def key(self) -> str:
        text = json.dumps(
            [self.debtor, self.status, self.collected_minor, self.fee_minor, self.on.isoformat(), self.note]
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RowError:
    index: int  # 0-based row of the input
    field: str
    msg: str

    def text(self, first_row: int = 1) -> str:
        return _("row {row}, column '{field}': {msg}").format(
            row=self.index + first_row, field=self.field, msg=self.msg
        )


class StatusInputError(PartnerError):
    def __init__(self, errors: Sequence[RowError], first_row: int = 1) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(e.text(first_row) for e in self.errors))


class NotYours(PartnerError):
    """A row names a debtor the partner has no open handover for."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.msg for e in self.errors))


FIELD_ALIASES = {
    "debtor": "debtor",
    "debtor_number": "debtor",
    "customer_number": "debtor",
    "status": "status",
    "amount_collected": "amount_collected",
    "collected": "amount_collected",
    "amount": "amount_collected",
    "fee": "fee",
    "date": "date",
    "note": "note",
}


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {FIELD_ALIASES.get(str(k).strip().lower(), str(k).strip().lower()): v for k, v in record.items()}


def _amount(value: Any, currency: str) -> int:
    if value in (None, ""):
        return 0
    text = str(value).strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        minor = to_minor(Decimal(text), currency)
    except (InvalidOperation, ValueError, ArithmeticError):
        raise ValueError(_("not an amount: {value}").format(value=value)) from None
    if minor < 0 or minor >= MAX_MINOR:
        raise ValueError(_("an amount from 0 to below 10^12 minor units"))
    return minor


def parse_status_records(records: Sequence[dict[str, Any]], currency: str) -> list[StatusRow]:
    """Rows of a partner's status file (amounts as decimals, e.g. 850.00), each checked; all errors at once."""
    rows: list[StatusRow] = []
    errors: list[RowError] = []
    for index, raw in enumerate(records):
        if not isinstance(raw, dict):
            errors.append(RowError(index, "-", _("not a record")))
            continue
        record = _plain(raw)
        problems: list[RowError] = []
        debtor = str(record.get("debtor") or "").strip()
        if not debtor:
            problems.append(RowError(index, "debtor", _("missing")))
        status = str(record.get("status") or "").strip().lower()
        if status not in PartnerStatus.values:
            problems.append(
                RowError(
                    index, "status", _("one of: {values}").format(values=", ".join(PartnerStatus.values))
                )
            )
        amounts = {}
        for name in ("amount_collected", "fee"):
            try:
                amounts[name] = _amount(record.get(name), currency)
            except ValueError as exc:
                problems.append(RowError(index, name, str(exc)))
        try:
            on = date.fromisoformat(str(record.get("date") or "").strip())
            if not date(1990, 1, 1) <= on <= date(2100, 12, 31):
                raise ValueError
        except ValueError:
            problems.append(RowError(index, "date", _("a date YYYY-MM-DD within 1990..2100")))
        note = str(record.get("note") or "").strip()
        if len(note) > 500:
            problems.append(RowError(index, "note", _("at most 500 characters")))
        if not problems:
            problems = row_problems(index, status, amounts["amount_collected"], amounts["fee"])
        if problems:
            errors.extend(problems)
            continue
        rows.append(StatusRow(debtor, status, amounts["amount_collected"], amounts["fee"], on, note))
    if errors:
        raise StatusInputError(errors, first_row=2 if records and isinstance(records, list) else 1)
    return rows


def row_problems(index: int, status: str, collected: int, fee: int) -> list[RowError]:
    """The rules a status row must keep beyond its types."""
    if status == PartnerStatus.COLLECTED and collected <= 0:
        return [RowError(index, "amount_collected", _("the status 'collected' needs the amount collected"))]
    if status != PartnerStatus.COLLECTED and (collected or fee):
        return [
            RowError(
                index,
                "amount_collected" if collected else "fee",
                _("an amount and a fee go with the status 'collected' only"),
            )
        ]
    if fee > collected:
        return [RowError(index, "fee", _("the fee is more than the amount collected"))]
    return []


def read_status_file(content: bytes, name: str, currency: str) -> tuple[list[StatusRow], int]:
    """A partner's status file, CSV (header: debtor, status, amount_collected, fee, date, note; comma or
    semicolon) or JSON (a list of such objects, or ``{"statuses": [...]}``), told apart by the content.
    Returns the rows and the number of the first data row (for error messages)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PartnerError(_("{name}: not UTF-8 text; save the file as UTF-8").format(name=name)) from None
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise PartnerError(_("{name}: not valid JSON ({error})").format(name=name, error=exc)) from None
        records = data.get("statuses") if isinstance(data, dict) else data
        if not isinstance(records, list):
            raise PartnerError(_("{name}: expected a list of statuses").format(name=name))
        try:
            return parse_status_records(records, currency), 1
        except StatusInputError as exc:
            raise StatusInputError(exc.errors, first_row=1) from None
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    records_csv = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    try:
        return parse_status_records(records_csv, currency), 2
    except StatusInputError as exc:
        raise StatusInputError(exc.errors, first_row=2) from None


@dataclass
class StatusResult:
    booked: int = 0
    duplicates: int = 0
    payments: list[int] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "booked": self.booked,
            "duplicates": self.duplicates,
            "payments": self.payments,
            "closed": self.closed,
        }


@transaction.atomic
def apply_statuses(
    company: Company,
    rows: Sequence[StatusRow],
    *,
    partner: Partner | None = None,
    source: str = "file",
    actor: str = "system",
) -> StatusResult:
    """Book the partner's statuses, all or nothing: each on the timeline; "collected" books what reaches us
    (the amount collected less the partner's fee) as a payment and keeps the fee on the handover; "closed"
    and "uncollectable" end the handover. A row seen before (same content) is skipped. With ``partner``,
    only its own handovers may be named (:class:`NotYours` otherwise)."""
    debtors = {
        d.number: d for d in Debtor.objects.filter(company=company, number__in={r.debtor for r in rows})
    }
    handovers = {
        h.debtor_id: h
        for h in Handover.objects.select_related("partner", "debtor").filter(
            company=company, status=HandoverStatus.OPEN, debtor_id__in=[d.pk for d in debtors.values()]
        )
    }
    missing = []
    for index, row in enumerate(rows):
        debtor = debtors.get(row.debtor)
        handover = handovers.get(debtor.pk) if debtor is not None else None
        if handover is None or (partner is not None and handover.partner_id != partner.pk):
            missing.append(
                RowError(
                    index,
                    "debtor",
                    _("no open handover for debtor {debtor}").format(debtor=row.debtor)
                    + ("" if partner is None else _(" with {partner}").format(partner=partner.name)),
                )
            )
    if missing:
        raise NotYours(missing)
    today = company_today(company)
    future = [
        RowError(
            index,
            "date",
            _("the status of {debtor} is dated {date}, in the future (today is {today})").format(
                debtor=row.debtor, date=row.on.isoformat(), today=today.isoformat()
            ),
        )
        for index, row in enumerate(rows)
        if row.on > today
    ]
    # nor can the partner report on an account from before it had it
    for index, row in enumerate(rows):
        handed_over_on = handovers[debtors[row.debtor].pk].handed_over_on
        if row.on < handed_over_on:
            future.append(
                RowError(
                    index,
                    "date",
                    _(
                        "the status of {debtor} is dated {date}, before the handover on {handed_over_on}"
                    ).format(
                        debtor=row.debtor, date=row.on.isoformat(), handed_over_on=handed_over_on.isoformat()
                    ),
                )
            )
    if future:
        raise StatusInputError(sorted(future, key=lambda e: e.index))
    result = StatusResult()
    for index, row in enumerate(rows):
        debtor = debtors[row.debtor]
        handover = handovers[debtor.pk]
        if handover.status != HandoverStatus.OPEN:  # an earlier row of this batch ended it
            raise NotYours(
                [
                    RowError(
                        index,
                        "debtor",
                        _("the handover of {debtor} ended earlier in this batch").format(debtor=row.debtor),
                    )
                ]
            )
        key = row.key()
        if StatusReport.objects.filter(handover=handover, key=key).exists():
            result.duplicates += 1
            continue
        report = StatusReport(
            handover=handover,
            status=row.status,
            reported_on=row.on,
            collected_minor=row.collected_minor,
            fee_minor=row.fee_minor,
            note=row.note,
            source=source,
            key=key,
        )
        if row.status == PartnerStatus.COLLECTED:
            _check_collected(company, handover, report, index)
        _book(company, handover, report, result, actor)
        result.booked += 1
    return result


def _check_collected(company: Company, handover: Handover, report: StatusReport, index: int) -> None:
    """Refuse a "collected" whose amount reaching the creditor (collected less the partner's fee) is more
    than the debtor's account has open in the handover's currency on the day of collection: the claim handed
    over with the interest and costs accrued since, less what was paid since (an earlier row of the same batch
    included). The fee is the partner's collection costs, which it may collect from the debtor on top."""
    debtor, cur = handover.debtor, handover.currency
    data = statement(company, debtor.pk, debtor_law(company, debtor), report.reported_on)
    open_minor = max(data["totals"].get(cur, {}).get("total_open_minor", 0), 0)
    net = report.collected_minor - report.fee_minor
    if net <= open_minor:
        return
    if report.fee_minor:
        text = _(
            "{collected} collected less the fee of {fee} is {net}, more than the {open} open on debtor "
            "{debtor}'s account on {date} ({total} handed over on {handed_over_on})"
        )
    else:
        text = _(
            "{collected} collected is more than the {open} open on debtor {debtor}'s account on {date} "
            "({total} handed over on {handed_over_on})"
        )
    raise StatusInputError(
        [
            RowError(
                index,
                "amount_collected",
                text.format(
                    collected=format_money(report.collected_minor, cur),
                    fee=format_money(report.fee_minor, cur),
                    net=format_money(net, cur),
                    open=format_money(open_minor, cur),
                    debtor=debtor.number,
                    date=report.reported_on.isoformat(),
                    total=format_money(handover.total_minor, cur),
                    handed_over_on=handover.handed_over_on.isoformat(),
                ),
            )
        ]
    )


def _book(
    company: Company, handover: Handover, report: StatusReport, result: StatusResult, actor: str
) -> None:
    partner, debtor, cur = handover.partner, handover.debtor, handover.currency
    handover.partner_status = report.status
    if report.status == PartnerStatus.COLLECTED:
        net = report.collected_minor - report.fee_minor
        if net > 0:
            (payment,) = record_payments(
                company,
                [
                    Receipt(
                        debtor.pk,
                        net,
                        cur,
                        report.reported_on,
                        reference=(
                            _("collected by {partner}").format(partner=partner.name)
                            + (f": {report.note}" if report.note else "")
                        )[:140],
                        payer=partner.name[:140],
                        external_id=f"{PARTNER_PAYMENT_PREFIX}{handover.pk}:{report.key[:32]}",
                    )
                ],
                actor=actor,
            )
            report.payment = payment
            result.payments.append(payment.pk)
        handover.collected_minor += report.collected_minor
        handover.fee_minor += report.fee_minor
        handover.received_minor += max(net, 0)
        timeline.event(
            debtor.pk,
            company.pk,
            "partner_collected",
            report.reported_on,
            actor=actor,
            note=report.note,
            partner=partner.name,
            collected=format_money(report.collected_minor, cur),
            fee=format_money(report.fee_minor, cur),
            net=format_money(max(net, 0), cur),
            date=report.reported_on,
        ).save()
    else:
        timeline.event(
            debtor.pk,
            company.pk,
            "partner_status",
            report.reported_on,
            actor=actor,
            note=report.note,
            partner=partner.name,
            status=str(PartnerStatus(report.status).label),
            code=report.status,
            date=report.reported_on,
        ).save()
    report.save()
    ending = report.status in ENDING
    if not ending and report.status == PartnerStatus.COLLECTED:
        data = statement(company, debtor.pk, debtor_law(company, debtor), report.reported_on)
        ending = not due_by_currency(data)  # paid in full
    handover.save(update_fields=["partner_status", "collected_minor", "fee_minor", "received_minor"])
    if ending:
        _end(company, handover, report, actor)
        result.closed.append(debtor.number)


def _end(company: Company, handover: Handover, report: StatusReport, actor: str) -> None:
    handover.status = HandoverStatus.CLOSED
    handover.ended_on = report.reported_on
    handover.end_reason = report.note or str(PartnerStatus(report.status).label)
    handover.save(update_fields=["status", "ended_on", "end_reason"])
    timeline.event(
        handover.debtor_id,
        company.pk,
        "handover_closed",
        report.reported_on,
        actor=actor,
        partner=handover.partner.name,
        status=str(PartnerStatus(report.status).label),
        reason=handover.end_reason,
    ).save()
    keep = ""
    if report.status == PartnerStatus.UNCOLLECTABLE:
        keep = _("{partner} reported uncollectable on {date}: a person decides").format(
            partner=handover.partner.name, date=report.reported_on.isoformat()
        )
    _release(company, handover, actor, keep_reason=keep)
