"""Debtors: list, overview, statement of account, documents, promises to pay, disputes, cancellations."""

from typing import Annotated, Any

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from mahnwerk.api.auth import caller, writer
from mahnwerk.api.errors import FieldError, Invalid
from mahnwerk.api.schemas import (
    MAX_ID,
    CancelIn,
    Created,
    DebtorIn,
    DebtorPage,
    DisputeIn,
    DisputeOut,
    Errors,
    PromiseIn,
    PromiseOut,
    RangeDate,
)
from mahnwerk.collection import agreements
from mahnwerk.comms.debtor_documents import DocumentNotFound, as_download, document_file, list_documents
from mahnwerk.core.tabular import TabularError, check_date_range
from mahnwerk.ledger import imports
from mahnwerk.ledger.claims import debtor_law
from mahnwerk.ledger.claims import statement as claim_statement
from mahnwerk.ledger.models import Company, Debtor, Invoice
from mahnwerk.ledger.queries import debtor_overview, debtor_page
from mahnwerk.ledger.services import company_today

router = Router(tags=["debtors"])

MAX_LIMIT = 500


def _debtor(company: Company, debtor_id: int) -> Debtor:
    """The company's debtor or 404: a debtor of another company does not exist for this token."""
    if not 1 <= debtor_id <= MAX_ID:  # no database integer: no such debtor (not an overflow)
        raise Http404("no such debtor")
    return get_object_or_404(Debtor, company=company, pk=debtor_id)


@router.get("/debtors", response={200: DebtorPage, 401: Errors, 422: Errors})
def list_debtors(
    request: HttpRequest,
    search: str = "",
    limit: int = Query(50, ge=1, le=MAX_LIMIT),
    # offset + limit must fit the database's 64-bit LIMIT/OFFSET (beyond it: an empty page, not an overflow)
    offset: int = Query(0, ge=0, le=MAX_ID - MAX_LIMIT),
) -> dict[str, Any]:
    return debtor_page(caller(request).company, search, limit, offset)


@router.post("/debtors", response={201: Created, 400: Errors, 401: Errors, 403: Errors, 422: Errors})
def create_debtors(request: HttpRequest, payload: list[DebtorIn]) -> Status[dict[str, Any]]:
    """Create debtors in bulk, checked like a spreadsheet import (number unused, choices, time zone, email
    and phone, lengths); one bad row and nothing is created: 422 with the row's index and field."""
    who = writer(request)
    rows: imports.Rows = []
    for index, d in enumerate(payload):
        row: imports.Row = {
            name: value for name, value in d.dict().items() if name in imports.FIELDS["debtors"] and value
        }
        row["email"] = ";".join(d.email)
        row["phone"] = ";".join(d.phone)
        rows.append((index, row))
    try:
        with transaction.atomic():
            imports.import_debtors(who.company, rows, actor=who.actor, refuse_known=True)
    except imports.ImportFailed as exc:
        raise Invalid([FieldError(("body", e.row, e.column), e.message) for e in exc.errors]) from None
    numbers = [d.number.strip() for d in payload]  # as the import stores them ("K1 " is debtor "K1")
    by_number = dict(
        Debtor.objects.filter(company=who.company, number__in=numbers).values_list("number", "pk")
    )
    return Status(201, {"created": len(payload), "ids": [by_number[n] for n in numbers]})


@router.get("/debtors/{debtor_id}", response={200: dict[str, Any], 401: Errors, 404: Errors, 422: Errors})
def get_debtor(request: HttpRequest, debtor_id: int) -> dict[str, Any]:
    return debtor_overview(_debtor(caller(request).company, debtor_id))


@router.get(
    "/debtors/{debtor_id}/statement", response={200: dict[str, Any], 401: Errors, 404: Errors, 422: Errors}
)
def get_statement(
    request: HttpRequest,
    debtor_id: int,
    as_of: Annotated[RangeDate | None, Query(alias="date")] = None,
) -> dict[str, Any]:
    company = caller(request).company
    debtor = _debtor(company, debtor_id)
    if as_of is not None:
        try:
            check_date_range(as_of)
        except TabularError as exc:
            raise Invalid([FieldError(("query", "date"), exc.render(_))]) from None
    return claim_statement(company, debtor.pk, debtor_law(company, debtor), as_of or company_today(company))


@router.post(
    "/debtors/{debtor_id}/promises",
    response={201: PromiseOut, 400: Errors, 401: Errors, 403: Errors, 404: Errors, 422: Errors},
)
def create_promise(request: HttpRequest, debtor_id: int, payload: PromiseIn) -> Status[dict[str, Any]]:
    who = writer(request)
    debtor = _debtor(who.company, debtor_id)
    invoice_ids = payload.invoice_ids
    if invoice_ids is None:
        invoice_ids = list(
            Invoice.objects.filter(company=who.company, debtor=debtor, open_minor__gt=0).values_list(
                "pk", flat=True
            )
        )
    promise = agreements.record_promise(
        who.company,
        debtor,
        invoice_ids,
        payload.promised_date,
        payload.amount_minor,
        grace_days=payload.grace_days,
        actor=who.actor,
        note=payload.note,
    )
    return Status(
        201,
        {
            "id": promise.pk,
            "debtor_id": debtor.pk,
            "promised_date": promise.promised_date,
            "amount_minor": promise.amount_minor,
            "currency": promise.currency,
            "grace_days": promise.grace_days,
            "status": promise.status,
            "invoice_ids": sorted(promise.invoices.values_list("pk", flat=True)),
        },
    )


@router.post(
    "/debtors/{debtor_id}/disputes",
    response={201: DisputeOut, 400: Errors, 401: Errors, 403: Errors, 404: Errors, 422: Errors},
)
def create_dispute(request: HttpRequest, debtor_id: int, payload: DisputeIn) -> Status[dict[str, Any]]:
    who = writer(request)
    debtor = _debtor(who.company, debtor_id)
    invoice = get_object_or_404(Invoice, company=who.company, debtor=debtor, pk=payload.invoice_id)
    dispute = agreements.open_dispute(
        who.company,
        invoice,
        payload.reason,
        amount_minor=payload.amount_minor,
        notes=payload.notes,
        actor=who.actor,
    )
    return Status(
        201,
        {
            "id": dispute.pk,
            "debtor_id": debtor.pk,
            "invoice_id": invoice.pk,
            "reason": dispute.reason,
            "amount_minor": dispute.amount_minor,
            "status": dispute.status,
            "opened_on": dispute.opened_on,
        },
    )


@router.get(
    "/debtors/{debtor_id}/documents",
    response={200: list[dict[str, Any]], 401: Errors, 404: Errors, 422: Errors},
)
def get_documents(request: HttpRequest, debtor_id: int) -> list[dict[str, Any]]:
    """The debtor's invoice copies and letters (newest first); fetch one from its ``url``."""
    debtor = _debtor(caller(request).company, debtor_id)
    return [
        {
            "kind": d.kind,
            "id": d.id,
            "label": d.label,
            "date": d.date,
            "settled": d.settled,
            "url": f"/api/debtors/{debtor.pk}/documents/{d.kind}/{d.id}",
        }
        for d in list_documents(debtor)
    ]


# a document is the file as kept: a PDF (invoice copies, letters) or an e-invoice's XML
_FILE = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/debtors/{debtor_id}/documents/{kind}/{doc_id}",
    response={401: Errors, 404: Errors, 422: Errors},
    openapi_extra={
        "responses": {
            200: {
                "description": "The file",
                "content": {kind: _FILE for kind in ("application/pdf", "application/xml", "text/xml")},
            }
        }
    },
)
def get_document(request: HttpRequest, debtor_id: int, kind: str, doc_id: int) -> HttpResponse:
    """One document of the debtor as a file (PDF); another debtor's document is not found."""
    debtor = _debtor(caller(request).company, debtor_id)
    if not 1 <= doc_id <= MAX_ID:
        raise Http404("no such document")
    try:
        return as_download(document_file(debtor, kind, doc_id))
    except DocumentNotFound:
        raise Http404("no such document") from None


@router.post(
    "/debtors/{debtor_id}/agreements/{kind}/{agreement_id}/cancel",
    response={200: dict[str, Any], 400: Errors, 401: Errors, 403: Errors, 404: Errors, 422: Errors},
)
def cancel_agreement(
    request: HttpRequest, debtor_id: int, kind: str, agreement_id: int, payload: CancelIn
) -> dict[str, Any]:
    """Cancel a pending promise or a proposed or running plan, withdraw a settlement or incentive offer."""
    who = writer(request)
    debtor = _debtor(who.company, debtor_id)
    agreement = (
        agreements.find_agreement(who.company, debtor, kind, agreement_id)
        if 1 <= agreement_id <= MAX_ID
        else None
    )
    if agreement is None:
        raise Http404("no such agreement")
    agreements.cancel_agreement(who.company, agreement, reason=payload.reason, actor=who.actor)
    agreement.refresh_from_db()
    return {"kind": kind, "id": agreement.pk, "status": agreement.status}
