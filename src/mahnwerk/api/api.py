"""The ``NinjaAPI`` instance: every route needs a bearer token; errors come back as ``{"detail": ...}``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from mahnwerk.api.auth import TokenAuth
from mahnwerk.api.errors import Invalid
from mahnwerk.api.routers import collection, debtors, insights, ledger
from mahnwerk.core.agreements import AgreementError
from mahnwerk.ledger.services import LedgerError

api = NinjaAPI(
    title="Mahnwerk API",
    version="1",
    description="Receivables collection: debtors, invoices, payments, the collection run, agreements and KPIs. "
    "Send a personal token as `Authorization: Bearer <token>` (create one with `mahnwerk apitoken create`). "
    "Money is in integer minor units (cents).",
    auth=TokenAuth(),
    urls_namespace="api",
)
api.add_router("", debtors.router)
api.add_router("", ledger.router)
api.add_router("", collection.router)
api.add_router("", insights.router)


@api.exception_handler(Invalid)
def _invalid(request: HttpRequest, exc: Invalid) -> HttpResponse:
    return api.create_response(request, {"detail": exc.as_detail()}, status=422)


@api.exception_handler(AgreementError)
def _agreement(request: HttpRequest, exc: AgreementError) -> HttpResponse:
    return api.create_response(request, {"detail": [{"loc": ["body"], "msg": str(exc)}]}, status=422)


@api.exception_handler(LedgerError)
def _ledger(request: HttpRequest, exc: LedgerError) -> HttpResponse:
    return api.create_response(request, {"detail": [{"loc": ["body"], "msg": str(exc)}]}, status=422)
