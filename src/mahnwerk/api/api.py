"""The ``NinjaAPI`` instance: every route needs a bearer token; errors come back as ``{"detail": ...}``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from mahnwerk.api.auth import TokenAuth
from mahnwerk.api.errors import Invalid
from mahnwerk.api.routers import collection, debtors, insights, ledger, work
from mahnwerk.core.agreements import AgreementError
from mahnwerk.ledger.services import LedgerError

api = NinjaAPI(
    title="Mahnwerk API",
    version="1",
    description="Receivables collection: debtors, invoices, payments, the collection run, agreements and KPIs. "
    "Send a personal token as `Authorization: Bearer <token>` (create one with `mahnwerk apitoken create`). "
    "Money is in integer minor units (cents). Every object belongs to the token's company; any other id is "
    "not found (404). Viewers may only read (403 on writes). Bulk bodies: up to about 10,000 invoices or "
    "payments per request (the server's request size limit); a batch is checked first and then written "
    "completely or not at all, errors (422) name the row index and field.",
    auth=TokenAuth(),
    urls_namespace="api",
)
api.add_router("", debtors.router)
api.add_router("", ledger.router)
api.add_router("", collection.router)
api.add_router("", insights.router)
api.add_router("", work.router)
api.add_router("", __import__("mahnwerk.api.routers.partners", fromlist=["router"]).router)


@api.exception_handler(Invalid)
def _invalid(request: HttpRequest, exc: Invalid) -> HttpResponse:
    return api.create_response(request, {"detail": exc.as_detail()}, status=422)


@api.exception_handler(AgreementError)
def _agreement(request: HttpRequest, exc: AgreementError) -> HttpResponse:
    return api.create_response(request, {"detail": [{"loc": ["body"], "msg": str(exc)}]}, status=422)


@api.exception_handler(LedgerError)
def _ledger(request: HttpRequest, exc: LedgerError) -> HttpResponse:
    return api.create_response(request, {"detail": [{"loc": ["body"], "msg": str(exc)}]}, status=422)
