"""E-invoice import (XRechnung UBL/CII, ZUGFeRD/Factur-X PDFs): every file read and checked first, then
all of them applied in one transaction — or, if one file is wrong, nothing, and every problem is listed
with its file and element.

- The buyer is matched to a debtor of the company by VAT id (as recorded by earlier e-invoice imports),
  then by buyer id / GlobalID / buyer reference as the debtor's customer number, then by its exact
  normalised name; otherwise a debtor is created (a business when it has a VAT id, a legal form, a legal
  registration id or a Leitweg-ID; language and country from the address).
- Invoices get the due date of BT-9, else the one the payment terms name unambiguously; otherwise the file
  is refused. Credit notes (381, ...) are recorded against the invoice they name (BT-25) when it is known.
  A corrected invoice (384) replaces the invoice of the same number or the one it names, if nothing was
  paid or credited on it yet. A negative amount due is refused.
- An invoice (or credit note) whose number the company already has for the same buyer is skipped and
  reported: importing the same files again changes nothing. The same number for another buyer is refused.
- The PDF (or, for a plain XRechnung, the XML) is kept as the invoice's copy.

What the reader says (:mod:`mahnwerk.core.einvoice`: errors, warnings, why the terms give no due date) comes
as English templates with their parameters and is put into words here with Django's ``gettext``, in the
language active when the import runs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from mahnwerk.core.einvoice import NO_DUE_DATE, EInvoice, EInvoiceError, normalise_vat_id, parse_einvoice
from mahnwerk.core.money import format_money
from mahnwerk.ledger import timeline
from mahnwerk.ledger.claims import debtor_laws, default_start, limitation_date
from mahnwerk.ledger.invoice_documents import InvoiceCopy, copy_problem, remove_stored, store_invoice_copies
from mahnwerk.ledger.models import (
    Allocation,
    Company,
    Contact,
    ContactKind,
    CreditNote,
    Debtor,
    DebtorKind,
    Invoice,
    Language,
    TimelineEvent,
)
from mahnwerk.ledger.services import company_today, create_invoices, record_credit_note

# What a debtor row of an e-invoice import is: created, credited, corrected, skipped.
CREATED = "invoice_created"
CREDITED = "credit_note_recorded"
CORRECTED = "invoice_corrected"
DUPLICATE = "duplicate"
NOTHING_DUE = "nothing_due"

_LEGAL_FORM = re.compile(
    r"(?<![\w])(GmbH|gGmbH|AG|SE|KG|KGaA|OHG|GbR|PartG|UG|e\.\s?K\.|e\.\s?V\.|eG|mbH|SIA|AS|A/S|ApS|AB|Oy|"
    r"Ltd\.?|Limited|LLC|LLP|Inc\.?|Corp\.?|plc|S\.?A\.?|S\.?A\.?S\.?|SARL|S\.?r\.?l\.?|S\.?p\.?A\.?|B\.?V\.?|"
    r"N\.?V\.?|sp\.\s?z\s?o\.?o\.?|s\.\s?r\.\s?o\.?|Kft\.?|UAB|OÜ)(?![\w])"
)
_LEITWEG_ID = re.compile(r"^\d{2,12}(-[0-9A-Za-z]{1,30})?-\d{2}$")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LANGUAGES = {"DE": Language.DE, "AT": Language.DE, "CH": Language.DE, "LI": Language.DE, "LV": Language.LV}
_TIME_ZONES = {
    "DE": "Europe/Berlin",
    "AT": "Europe/Vienna",
    "CH": "Europe/Zurich",
    "LI": "Europe/Vaduz",
    "LV": "Europe/Riga",
    "LT": "Europe/Vilnius",
    "EE": "Europe/Tallinn",
    "PL": "Europe/Warsaw",
    "NL": "Europe/Amsterdam",
    "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg",
    "FR": "Europe/Paris",
    "IT": "Europe/Rome",
    "ES": "Europe/Madrid",
    "DK": "Europe/Copenhagen",
    "SE": "Europe/Stockholm",
    "FI": "Europe/Helsinki",
    "CZ": "Europe/Prague",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
}


class EInvoiceImportFailed(ValueError):
    """One or more files cannot be imported; nothing was. ``errors`` name each file and what is wrong."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(
            _("{count} error(s), nothing was imported:").format(count=len(errors))
            + "".join(f"\n  {e}" for e in errors)
        )


@dataclass(slots=True)
class EInvoiceImportResult:
    dry_run: bool = False
    documents: list[dict[str, Any]] = field(default_factory=list)  # one per file, in the given order
    debtors_created: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for d in self.documents if d["action"] == action)

    @property
    def invoices_created(self) -> int:
        return self.count(CREATED)

    @property
    def credit_notes(self) -> int:
        return self.count(CREDITED)

    @property
    def corrected(self) -> int:
        return self.count(CORRECTED)

    @property
    def duplicates(self) -> int:
        return self.count(DUPLICATE)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "dry_run": self.dry_run,
            "invoices_created": self.invoices_created,
            "credit_notes": self.credit_notes,
            "corrected": self.corrected,
            "duplicates": self.duplicates,
            "nothing_due": self.count(NOTHING_DUE),
            "debtors_created": self.debtors_created,
            "documents": self.documents,
        }


class _DryRun(Exception):
    pass


# --- planning: what each file will do, decided before anything is written ------------------------------


@dataclass(eq=False)
class _Buyer:
    debtor: Debtor  # unsaved when new
    new: bool
    emails: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class _Step:
    path: Path
    content: bytes
    doc: EInvoice
    action: str = ""
    buyer: _Buyer | None = None
    target_number: str = ""  # the invoice a credit note or correction names (stored or planned)
    due_date: date | None = None
    notes: list[str] = field(default_factory=list)
    invoice: Invoice | None = None  # the invoice created or corrected, once applied


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _identifiers(doc: EInvoice) -> list[str]:
    """The buyer's numbers that may be its customer number with us, most specific first."""
    found = [doc.buyer.buyer_id, *(v for _s, v in doc.buyer.global_ids), doc.buyer_reference]
    return list(dict.fromkeys(x for x in found if x and len(x) <= 50))


def _buyer_data(doc: EInvoice) -> dict[str, Any]:
    """What is recorded of the buyer with each document (matching a later file by VAT id reads it)."""
    data: dict[str, Any] = {}
    if doc.buyer.vat_id:
        data["vat_id"] = doc.buyer.vat_id
    if doc.buyer.buyer_id:
        data["buyer_id"] = doc.buyer.buyer_id
    if doc.buyer_reference:
        data["buyer_reference"] = doc.buyer_reference
    if doc.buyer.global_ids:
        data["global_ids"] = [f"{s}:{v}" for s, v in doc.buyer.global_ids]
    return data


class _Planner:
    def __init__(self, company: Company, docs: list[_Step]) -> None:
        self.company = company
        self.errors: list[str] = []
        self.company_vat = normalise_vat_id(company.vat_id)
        rows = list(Debtor.objects.filter(company=company).values_list("pk", "number", "name"))
        self.by_number: dict[str, int] = {number: pk for pk, number, _n in rows}
        self.taken: set[str] = set(self.by_number)  # the numbers of debtors stored or planned
        self.by_name: dict[str, set[int]] = {}
        for pk, _number, name in rows:
            self.by_name.setdefault(_name_key(name), set()).add(pk)
        vats = sorted({s.doc.buyer.vat_id for s in docs if s.doc.buyer.vat_id})
        self.by_vat: dict[str, set[int]] = {}
        if vats:
            for debtor_id, vat in Debtor.objects.filter(company=company, vat_id__in=vats).values_list(
                "pk", "vat_id"
            ):
                self.by_vat.setdefault(vat, set()).add(debtor_id)
            for debtor_id, data in TimelineEvent.objects.filter(
                company=company,
                kind__in=["debtor_created", "invoice_document_stored"],
                data__vat_id__in=vats,
            ).values_list("debtor_id", "data"):
                self.by_vat.setdefault(str(data.get("vat_id")), set()).add(debtor_id)
        numbers = {s.doc.number for s in docs} | {n for s in docs for n in s.doc.preceding_invoices}
        self.invoices: dict[str, Invoice] = {
            i.number: i for i in Invoice.objects.filter(company=company, number__in=numbers)
        }
        self.paid: set[int] = set(
            Allocation.objects.filter(invoice__in=list(self.invoices.values()))
            .values_list("invoice_id", flat=True)
            .distinct()
        )
        self.credit_notes: dict[str, int] = dict(
            CreditNote.objects.filter(company=company, number__in={s.doc.number for s in docs}).values_list(
                "number", "debtor_id"
            )
        )
        self.debtors: dict[int, Debtor] = {}
        self.known_buyers: dict[int, _Buyer] = {}
        self.steps_so_far: list[_Step] = []
        self.vats_of: dict[int, set[str]] = {}
        self.new_buyers: list[_Buyer] = []
        self.new_by_key: dict[str, _Buyer] = {}  # vat / number / name of debtors planned in this import
        self.planned_invoices: dict[str, _Step] = {}
        self.planned_notes: dict[str, _Step] = {}

    def fail(self, step: _Step, message: str) -> None:
        self.errors.append(f"{step.path}: {message}")

    # -- debtors

    def known(self, pk: int) -> _Buyer:
        """The one plan entry of a stored debtor (steps of the same buyer share it)."""
        if pk not in self.known_buyers:
            self.known_buyers[pk] = _Buyer(self.debtor(pk), False)
        return self.known_buyers[pk]

    def debtor(self, pk: int) -> Debtor:
        if pk not in self.debtors:
            self.debtors[pk] = Debtor.objects.get(pk=pk)
        return self.debtors[pk]

    def match(self, step: _Step) -> _Buyer | None:
        doc = step.doc
        keys = ([f"vat:{doc.buyer.vat_id}"] if doc.buyer.vat_id else []) + [
            f"no:{x}" for x in _identifiers(doc)
        ]
        keys.append(f"name:{_name_key(doc.buyer.name)}")
        if doc.buyer.vat_id:
            found = self.by_vat.get(doc.buyer.vat_id, set())
            if len(found) > 1:
                numbers = ", ".join(sorted(self.debtor(pk).number for pk in found))
                self.fail(
                    step,
                    _("BT-48: the buyer's VAT id {vat} belongs to several debtors ({numbers})").format(
                        vat=doc.buyer.vat_id, numbers=numbers
                    ),
                )
                return None
            if found:
                return self.known(next(iter(found)))
            if (planned := self.new_by_key.get(keys[0])) is not None:
                return planned
        for ident in _identifiers(doc):
            if ident in self.by_number:
                return self.known(self.by_number[ident])
            if (planned := self.new_by_key.get(f"no:{ident}")) is not None:
                return planned
        # A name alone never wins over a VAT id (or, among debtors of this import, a buyer id) that differs.
        same_name = {
            pk for pk in self.by_name.get(_name_key(doc.buyer.name), set()) if not self.conflicts(doc, pk)
        }
        if len(same_name) > 1:
            numbers = ", ".join(sorted(self.debtor(pk).number for pk in same_name))
            self.fail(
                step,
                _(
                    "BT-44: the buyer '{name}' has the name of several debtors ({numbers}); without its VAT id "
                    "or customer number it cannot be told which"
                ).format(name=doc.buyer.name, numbers=numbers),
            )
            return None
        if same_name:
            return self.known(next(iter(same_name)))
        planned = self.new_by_key.get(keys[-1])
        if planned is not None and not self.planned_conflicts(doc, planned):
            return planned
        return self.new_debtor(doc, keys)

    def conflicts(self, doc: EInvoice, debtor_id: int) -> bool:
        """The debtor is known (from earlier e-invoices) under another VAT id than the buyer's."""
        if not doc.buyer.vat_id:
            return False
        if debtor_id not in self.vats_of:
            self.vats_of[debtor_id] = {
                str(v)
                for v in TimelineEvent.objects.filter(
                    company=self.company,
                    debtor_id=debtor_id,
                    kind__in=["debtor_created", "invoice_document_stored"],
                    data__has_key="vat_id",
                ).values_list("data__vat_id", flat=True)
            } | {
                normalise_vat_id(v)
                for v in Debtor.objects.filter(pk=debtor_id)
                .exclude(vat_id="")
                .values_list("vat_id", flat=True)
            }
        known = self.vats_of[debtor_id]
        return bool(known) and doc.buyer.vat_id not in known

    @staticmethod
    def planned_conflicts(doc: EInvoice, planned: _Buyer) -> bool:
        return any(
            mine and theirs and mine != theirs
            for mine, theirs in (
                (doc.buyer.vat_id, planned.data.get("vat_id", "")),
                (doc.buyer.buyer_id, planned.data.get("buyer_id", "")),
            )
        )

    def new_debtor(self, doc: EInvoice, keys: list[str]) -> _Buyer:
        company = self.company
        buyer = doc.buyer
        number = next((x for x in _identifiers(doc) if x not in self.taken), "")
        if not number:
            n = 1
            while f"E{n:05d}" in self.taken:
                n += 1
            number = f"E{n:05d}"
        self.taken.add(number)
        business = bool(
            buyer.vat_id
            or buyer.legal_form
            or buyer.legal_id
            or _LEGAL_FORM.search(f"{buyer.name} {buyer.trading_name}")
            or _LEITWEG_ID.match(doc.buyer_reference)
        )
        country = buyer.address.country if re.fullmatch(r"[A-Z]{2}", buyer.address.country) else ""
        debtor = Debtor(
            company=company,
            number=number,
            name=buyer.name[:200],
            kind=DebtorKind.BUSINESS if business else DebtorKind.CONSUMER,
            language=_LANGUAGES.get(country, Language.EN) if country else company.default_language,
            jurisdiction=company.jurisdiction,
            time_zone=_TIME_ZONES.get(country, company.time_zone),
            street=buyer.address.street[:200],
            postcode=buyer.address.postcode[:20],
            city=buyer.address.city[:100],
            country=country,
            contact_person=buyer.contact_name[:200] if business else "",
            vat_id=buyer.vat_id[:20],
        )
        emails = tuple(e for e in buyer.emails if _EMAIL.fullmatch(e) and len(e) <= 254)
        planned = _Buyer(debtor, True, emails, _buyer_data(doc))
        self.new_buyers.append(planned)
        for key in keys:
            if key not in self.new_by_key:
                self.new_by_key[key] = planned
        return planned

    # -- documents

    def plan(self, step: _Step) -> None:
        doc = step.doc
        if self.company_vat and doc.seller_vat_id and doc.seller_vat_id != self.company_vat:
            self.fail(
                step,
                _(
                    "BT-31: the invoice was issued by {seller} (VAT id {vat}), not by {company} (VAT id "
                    "{own}): is it an invoice the company received?"
                ).format(
                    seller=doc.seller_name or "-",
                    vat=doc.seller_vat_id,
                    company=self.company.name,
                    own=self.company_vat,
                ),
            )
            return
        if self.company_vat and doc.buyer.vat_id == self.company_vat:
            self.fail(
                step,
                _("BT-48: the buyer is {company} itself: is it an invoice the company received?").format(
                    company=self.company.name
                ),
            )
            return
        if doc.amount_due_minor < 0:
            self.fail(
                step,
                _(
                    "BT-115: the amount due is negative ({amount}); a {kind} cannot be collected — a credit "
                    "is sent as a credit note (381)"
                ).format(amount=format_money(doc.amount_due_minor, doc.currency), kind=_(doc.type_name)),
            )
            return
        if doc.is_credit_note:
            self.plan_credit_note(step)
        elif doc.is_correction:
            self.plan_correction(step)
        else:
            self.plan_invoice(step)

    def buyer_for(self, step: _Step) -> _Buyer | None:
        return self.match(step)

    def duplicate_of(
        self,
        step: _Step,
        existing_debtor_id: int | None,
        planned: _Step | None,
        what: str,
        buyer: _Buyer | None = None,
    ) -> bool:
        """True (and the step marked) if the number is taken for the same buyer; an error if for another."""
        doc = step.doc
        if existing_debtor_id is None and planned is None:
            return False
        buyer = buyer or self.buyer_for(step)
        if buyer is None:
            return True
        same = (
            planned.buyer is buyer
            if planned is not None
            else (not buyer.new and buyer.debtor.pk == existing_debtor_id)
        )
        if not same:
            other = (
                (planned.buyer.debtor.number if planned.buyer else "-")
                if planned is not None
                else self.debtor(existing_debtor_id or 0).number
            )
            self.fail(
                step,
                _(
                    "BT-1: {what} {number} already exists for another debtor ({other}), not for the buyer "
                    "'{buyer}': numbers are unique per company"
                ).format(what=what, number=doc.number, other=other, buyer=doc.buyer.name),
            )
            return True
        step.action = DUPLICATE
        step.buyer = buyer
        step.notes.append(
            _("{what} {number} was already imported{where}: skipped").format(
                what=what,
                number=doc.number,
                where=_(" (in this import: {file})").format(file=planned.path.name) if planned else "",
            )
        )
        return True

    def due_date(self, step: _Step) -> date | None:
        doc = step.doc
        if doc.due_date is None:
            why = next((w.params["reason"] for w in doc.warnings if w.message == NO_DUE_DATE), None)
            terms = doc.payment_terms.replace("\n", " / ").strip(" /")
            if terms:
                message = _(
                    "BT-9: no due date — the file has none, and its payment terms (BT-20) '{terms}' do not name "
                    "one unambiguously ({why}); nothing is guessed"
                ).format(terms=terms, why=why.render(_) if why is not None else "-")
            else:
                message = _(
                    "BT-9: no due date — the file has none and no payment terms (BT-20); nothing is guessed"
                )
            self.fail(step, message)
            return None
        if doc.due_date < doc.issue_date:
            self.fail(
                step,
                _("BT-9: the due date {due} is before the issue date {issue} (BT-2)").format(
                    due=doc.due_date, issue=doc.issue_date
                ),
            )
            return None
        return doc.due_date

    def plan_invoice(self, step: _Step) -> None:
        doc = step.doc
        existing = self.invoices.get(doc.number)
        planned = self.planned_invoices.get(doc.number)
        if (existing or planned) and self.other_seller(step, existing, planned):
            return
        if self.duplicate_of(step, existing.debtor_id if existing else None, planned, _("invoice")):
            if step.action == DUPLICATE:
                self.note_difference(step, existing or (planned.invoice if planned else None), planned)
            return
        if doc.amount_due_minor == 0:
            step.action = NOTHING_DUE
            step.notes.append(_("nothing due (BT-115 is 0): not imported"))
            return
        step.due_date = self.due_date(step)
        step.buyer = self.buyer_for(step)
        if step.due_date is None or step.buyer is None:
            return
        step.action = CREATED
        self.planned_invoices[doc.number] = step

    def other_seller(self, step: _Step, stored: Invoice | None, planned: _Step | None) -> bool:
        """An error if the number was imported from a file of another seller (BT-31): not the same invoice."""
        mine = step.doc.seller_vat_id
        if not mine:
            return False
        if planned is not None:
            theirs = planned.doc.seller_vat_id
        else:
            assert stored is not None
            recorded = (
                TimelineEvent.objects.filter(
                    company=self.company,
                    debtor_id=stored.debtor_id,
                    kind="invoice_document_stored",
                    data__number=stored.number,
                    data__has_key="seller_vat_id",
                )
                .values_list("data__seller_vat_id", flat=True)
                .last()
            )
            theirs = str(recorded or "")
        if not theirs or theirs == mine:
            return False
        self.fail(
            step,
            _(
                "BT-31: invoice {number} was imported from a file of the seller with VAT id {theirs}, this file "
                "is from {mine}: not the same invoice, and the number is taken"
            ).format(number=step.doc.number, theirs=theirs, mine=mine),
        )
        return True

    def note_difference(self, step: _Step, stored: Invoice | None, planned: _Step | None) -> None:
        doc = step.doc
        amount, issue = (
            (stored.amount_minor, stored.issue_date)
            if stored is not None
            else ((planned.doc.amount_due_minor, planned.doc.issue_date) if planned else (None, None))
        )
        if amount is not None and (amount != doc.amount_due_minor or issue != doc.issue_date):
            step.notes.append(
                _(
                    "this file says {amount} issued {issue}, the invoice has {stored_amount} issued {stored_issue}: "
                    "nothing changed (a change comes as a corrected invoice, 384)"
                ).format(
                    amount=format_money(doc.amount_due_minor, doc.currency),
                    issue=doc.issue_date,
                    stored_amount=format_money(amount, doc.currency),
                    stored_issue=issue,
                )
            )

    def plan_credit_note(self, step: _Step) -> None:
        doc = step.doc
        stored = next((self.invoices[n] for n in doc.preceding_invoices if n in self.invoices), None)
        planned = next(
            (self.planned_invoices[n] for n in doc.preceding_invoices if n in self.planned_invoices), None
        )
        buyer = self.buyer_for(step)
        if buyer is None:
            return
        if stored is not None and (buyer.new or buyer.debtor.pk != stored.debtor_id):
            owner = self.debtor(stored.debtor_id)
            if not buyer.new:
                self.fail(
                    step,
                    _(
                        "BT-25: the credit note names invoice {number} of debtor {owner}, but its buyer is "
                        "debtor {buyer}"
                    ).format(number=stored.number, owner=owner.number, buyer=buyer.debtor.number),
                )
                return
            self.drop_new(buyer)  # the buyer unknown by its data is the debtor of the invoice it names
            buyer = self.known(owner.pk)
            step.notes.append(
                _("buyer taken from invoice {number}: {debtor}").format(
                    number=stored.number, debtor=owner.number
                )
            )
        if self.duplicate_of(
            step,
            self.credit_notes.get(doc.number),
            self.planned_notes.get(doc.number),
            _("credit note"),
            buyer,
        ):
            return
        if doc.amount_due_minor == 0:
            step.action = NOTHING_DUE
            step.notes.append(_("nothing credited (BT-115 is 0): not imported"))
            return
        if stored is not None:
            step.target_number = stored.number
        elif planned is not None:
            step.target_number = planned.doc.number
            if planned.buyer is not buyer:
                self.fail(
                    step,
                    _("BT-25: the credit note names invoice {number} ({file}) of another buyer").format(
                        number=planned.doc.number, file=planned.path.name
                    ),
                )
                return
        elif doc.preceding_invoices:
            step.notes.append(
                _(
                    "the invoice it names ({numbers}) is not in the ledger: credited to the debtor's account"
                ).format(numbers=", ".join(doc.preceding_invoices))
            )
        currency = stored.currency if stored else (planned.doc.currency if planned else doc.currency)
        if currency != doc.currency:
            self.fail(
                step,
                _("BT-5: the credit note is in {new}, invoice {number} in {old}").format(
                    new=doc.currency, number=step.target_number, old=currency
                ),
            )
            return
        step.buyer = buyer
        step.action = CREDITED
        self.planned_notes[doc.number] = step

    def drop_new(self, buyer: _Buyer) -> None:
        """A debtor planned for this file only that turned out to be a known one: not created."""
        if buyer.new and all(s.buyer is not buyer for s in self.steps_so_far):
            if buyer in self.new_buyers:
                self.new_buyers.remove(buyer)
            self.new_by_key = {k: v for k, v in self.new_by_key.items() if v is not buyer}
            self.taken.discard(buyer.debtor.number)

    def plan_correction(self, step: _Step) -> None:
        doc = step.doc
        candidates = [doc.number, *doc.preceding_invoices]
        stored = next((self.invoices[n] for n in candidates if n in self.invoices), None)
        planned = next((self.planned_invoices[n] for n in candidates if n in self.planned_invoices), None)
        if stored is None and planned is None:
            if doc.amount_due_minor == 0:
                step.action = NOTHING_DUE
                step.notes.append(_("nothing due (BT-115 is 0): not imported"))
                return
            step.notes.append(
                _("corrects {numbers}, which is not in the ledger: imported as a new invoice").format(
                    numbers=", ".join(doc.preceding_invoices) or doc.number
                )
            )
            self.plan_invoice(step)
            return
        if doc.amount_due_minor == 0:
            self.fail(
                step,
                _(
                    "BT-115: the corrected invoice is for 0.00: to cancel invoice {number}, record a credit note instead"
                ).format(number=(stored.number if stored else planned.doc.number if planned else "")),
            )
            return
        buyer = self.buyer_for(step)
        if buyer is None:
            return
        if stored is not None:
            if buyer.new or buyer.debtor.pk != stored.debtor_id:
                self.fail(
                    step,
                    _(
                        "BT-25: the corrected invoice replaces invoice {number} of debtor {owner}, but its buyer "
                        "'{buyer}' is another debtor"
                    ).format(
                        number=stored.number, owner=self.debtor(stored.debtor_id).number, buyer=doc.buyer.name
                    ),
                )
                return
            due = self.due_date(step)
            if due is None:
                return
            if (
                stored.amount_minor == doc.amount_due_minor
                and stored.due_date == due
                and stored.issue_date == doc.issue_date
            ):
                step.action = DUPLICATE
                step.buyer = buyer
                step.notes.append(
                    _("invoice {number} already has this amount and due date: nothing to correct").format(
                        number=stored.number
                    )
                )
                return
            if stored.pk in self.paid or stored.open_minor != stored.amount_minor:
                self.fail(
                    step,
                    _(
                        "BT-25: invoice {number} cannot be replaced by the corrected invoice {new}: payments or "
                        "credits were already applied to it ({open} of {amount} open); record a credit note or "
                        "a new invoice for the difference instead"
                    ).format(
                        number=stored.number,
                        new=doc.number,
                        open=format_money(stored.open_minor, stored.currency),
                        amount=format_money(stored.amount_minor, stored.currency),
                    ),
                )
                return
            if stored.currency != doc.currency:
                self.fail(
                    step,
                    _("BT-5: invoice {number} is in {old}, its correction in {new}").format(
                        number=stored.number, old=stored.currency, new=doc.currency
                    ),
                )
                return
            step.target_number = stored.number
        else:
            assert planned is not None
            if planned.buyer is not buyer:
                self.fail(
                    step,
                    _(
                        "BT-25: the corrected invoice replaces invoice {number} ({file}) of another buyer"
                    ).format(number=planned.doc.number, file=planned.path.name),
                )
                return
            due = self.due_date(step)
            if due is None:
                return
            step.target_number = planned.doc.number
        step.due_date = due
        step.buyer = buyer
        step.action = CORRECTED


# --- the use case ---------------------------------------------------------------------------------------


def read_einvoices(paths: Sequence[str | Path]) -> tuple[list[_Step], list[str]]:
    steps: list[_Step] = []
    errors: list[str] = []
    for raw in paths:
        path = Path(raw)
        try:
            content = path.read_bytes()
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror or exc}")
            continue
        try:
            doc = parse_einvoice(content, str(path))
        except EInvoiceError as exc:
            errors.append(exc.render(_))
            continue
        extension = ".pdf" if doc.container == "pdf" else ".xml"
        if (problem := copy_problem(str(path), content, extension)) is not None:
            errors.append(problem)
            continue
        steps.append(_Step(path, content, doc))
    return steps, errors


def import_einvoices(
    company: Company, paths: Sequence[str | Path], actor: str = "system", dry_run: bool = False
) -> EInvoiceImportResult:
    """Import e-invoice files for ``company``; all or nothing. Raises :class:`EInvoiceImportFailed` listing
    every problem (file and element) when one file cannot be imported. ``dry_run`` decides and writes
    everything, then rolls it back (and stores no copies)."""
    steps, errors = read_einvoices(paths)
    result = EInvoiceImportResult(dry_run=dry_run)
    stored: list[str] = []
    try:
        with transaction.atomic():
            planner = _Planner(company, steps)
            planner.errors = errors
            for step in steps:
                planner.plan(step)
                planner.steps_so_far.append(step)
            if planner.errors:
                raise EInvoiceImportFailed(planner.errors)
            stored = _apply(company, planner, steps, actor, store=not dry_run)
            result.debtors_created = [b.debtor.number for b in planner.new_buyers if b.debtor.pk]
            result.documents = [_row(s) for s in steps]
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except BaseException:
        remove_stored(stored)
        raise
    return result


def _apply(company: Company, planner: _Planner, steps: list[_Step], actor: str, *, store: bool) -> list[str]:
    today = company_today(company)
    # 1. debtors
    used = {id(s.buyer) for s in steps if s.buyer is not None and s.action in {CREATED, CREDITED, CORRECTED}}
    new = [b for b in planner.new_buyers if id(b) in used]
    planner.new_buyers = new
    if new:
        Debtor.objects.bulk_create([b.debtor for b in new])
        contacts = [
            Contact(debtor=b.debtor, kind=ContactKind.EMAIL, value=email, is_primary=i == 0)
            for b in new
            for i, email in enumerate(b.emails)
        ]
        Contact.objects.bulk_create(contacts)
        timeline.record(
            timeline.event(b.debtor.pk, company.pk, "debtor_created", today, actor=actor, **b.data)
            for b in new
        )
    # 2. invoices
    creating = [s for s in steps if s.action == CREATED]
    invoices = [
        Invoice(
            company=company,
            debtor=s.buyer.debtor,
            number=s.doc.number,
            issue_date=s.doc.issue_date,
            due_date=s.due_date,
            amount_minor=s.doc.amount_due_minor,
            open_minor=s.doc.amount_due_minor,
            currency=s.doc.currency,
            reference=(s.doc.payment_reference or s.doc.number)[:140],
        )
        for s in creating
        if s.buyer is not None and s.due_date is not None
    ]
    created = create_invoices(company, invoices, actor=actor, business_date=today) if invoices else []
    by_number = {i.number: i for i in created}
    for s in creating:
        s.invoice = by_number[s.doc.number]
    # 3. corrections
    for s in steps:
        if s.action == CORRECTED:
            s.invoice = _correct(company, s, by_number, actor, today)
    # 4. credit notes
    for s in steps:
        if s.action != CREDITED or s.buyer is None:
            continue
        target = by_number.get(s.target_number) if s.target_number else None
        if target is None and s.target_number:
            target = Invoice.objects.get(company=company, number=s.target_number)
        record_credit_note(
            company,
            debtor=s.buyer.debtor,
            number=s.doc.number,
            issue_date=s.doc.issue_date,
            amount_minor=s.doc.amount_due_minor,
            currency=s.doc.currency,
            invoice=target,
            reason=_("e-invoice {file}").format(file=s.path.name)[:200],
            actor=actor,
        )
    # 5. copies, last: a failure before this stores nothing
    if not store:
        return []
    copies = [
        InvoiceCopy(
            s.invoice,
            str(s.path),
            s.content,
            ".pdf" if s.doc.container == "pdf" else ".xml",
            _document_data(s),
        )
        for s in steps
        if s.invoice is not None and s.action in {CREATED, CORRECTED}
    ]
    return store_invoice_copies(company, copies, actor=actor)


def _correct(company: Company, step: _Step, created: dict[str, Invoice], actor: str, today: date) -> Invoice:
    doc = step.doc
    invoice = created.get(step.target_number) or Invoice.objects.select_for_update().get(
        company=company, number=step.target_number
    )
    assert step.due_date is not None
    before = (invoice.amount_minor, invoice.due_date)
    invoice.amount_minor = invoice.open_minor = doc.amount_due_minor
    invoice.issue_date = doc.issue_date
    invoice.due_date = step.due_date
    if doc.payment_reference or doc.number != invoice.number:
        invoice.reference = (doc.payment_reference or doc.number)[:140]
    law = debtor_laws(company, {invoice.debtor_id})[invoice.debtor_id]
    start = default_start(invoice, law.jurisdiction, law.debtor_kind)
    invoice.default_from, invoice.default_rule = start.first_interest_day, start.rule
    invoice.time_barred_on = limitation_date(law.jurisdiction, law.debtor_kind, invoice.due_date)
    invoice.save(
        update_fields=[
            "amount_minor",
            "open_minor",
            "issue_date",
            "due_date",
            "reference",
            "default_from",
            "default_rule",
            "time_barred_on",
        ]
    )
    timeline.event(
        invoice.debtor_id,
        company.pk,
        "invoice_created",
        today,
        actor=actor,
        note=_("corrected by {number} ({file}); before: {amount} due {due}").format(
            number=doc.number,
            file=step.path.name,
            amount=format_money(before[0], invoice.currency),
            due=before[1],
        )[:500],
        number=invoice.number,
        amount=format_money(invoice.amount_minor, invoice.currency),
        due_date=invoice.due_date,
    ).save()
    return invoice


def _document_data(step: _Step) -> dict[str, Any]:
    doc = step.doc
    data = _buyer_data(doc)
    data.update(
        einvoice=f"{doc.syntax} {doc.type_code}",
        seller_vat_id=doc.seller_vat_id,
        due_date_source=doc.due_date_source,
    )
    if doc.discounts:
        data["cash_discounts"] = [d.as_text(doc.currency) for d in doc.discounts]
    if doc.late_payment_terms:
        data["late_payment_terms"] = [t.as_text(doc.currency) for t in doc.late_payment_terms]
    if doc.direct_debit:
        data.update(direct_debit=True, debit_iban=doc.debit_iban, mandate=doc.mandate_id)
    return data


def _row(step: _Step) -> dict[str, Any]:
    doc = step.doc
    buyer = step.buyer
    return {
        "file": str(step.path),
        "format": f"{doc.syntax} ({doc.attachment})" if doc.attachment else doc.syntax,
        "type_code": doc.type_code,
        "type": doc.type_name,
        "number": doc.number,
        "action": step.action,
        "debtor": buyer.debtor.number if buyer else "",
        "debtor_created": bool(buyer and buyer.new and step.action in {CREATED, CREDITED, CORRECTED}),
        "issue_date": doc.issue_date.isoformat(),
        "due_date": step.due_date.isoformat() if step.due_date else None,
        "due_date_source": doc.due_date_source if step.due_date else "",
        "amount_minor": doc.amount_due_minor,
        "currency": doc.currency,
        "invoice": step.target_number or (step.invoice.number if step.invoice else ""),
        "payment_reference": doc.payment_reference,
        "cash_discounts": [d.as_text(doc.currency) for d in doc.discounts],
        "late_payment_terms": [t.as_text(doc.currency) for t in doc.late_payment_terms],
        "direct_debit": doc.direct_debit,
        "debit_iban": doc.debit_iban,
        "notes": step.notes,
        "warnings": [warning.render(_) for warning in doc.warnings],
    }
