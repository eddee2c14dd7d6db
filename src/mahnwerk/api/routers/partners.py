"""Status back from collection agencies and lawyers: ``POST /api/partners/status`` with the partner's own
token (``mahnwerk partner add`` / ``partner token``), which may touch only the handovers given to it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router
from ninja.errors import HttpError
from ninja.security import HttpBearer

from mahnwerk.api.errors import FieldError, Invalid
from mahnwerk.api.schemas import BusinessDate, Errors, In
from mahnwerk.core.tabular import MAX_ABS_MINOR
from mahnwerk.partners import services
from mahnwerk.partners.models import Partner


class PartnerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Partner | None:
        return services.partner_for_token(token) if token else None


router = Router(tags=["partners"], auth=PartnerAuth())

Minor = Annotated[int, Field(ge=0, lt=MAX_ABS_MINOR)]


class StatusIn(In):
    debtor: Annotated[str, Field(min_length=1, max_length=50, description="the debtor's customer number")]
    status: Literal["contacted", "promise", "instalments", "collected", "closed", "uncollectable"]
    amount_collected_minor: Minor = 0
    fee_minor: Minor = 0
    date: BusinessDate
    note: Annotated[str, Field(max_length=500)] = ""


class StatusesIn(In):
    statuses: Annotated[list[StatusIn], Field(min_length=1, max_length=1000)]


def _partner(request: HttpRequest) -> Partner:
    auth: Any = getattr(request, "auth", None)
    if not isinstance(auth, Partner):  # pragma: no cover - the router is behind PartnerAuth
        raise HttpError(401, _("Authentication required."))
    return auth


@router.post(
    "/partners/status", response={200: dict[str, Any], 400: Errors, 401: Errors, 404: Errors, 422: Errors}
)
def post_status(request: HttpRequest, payload: StatusesIn) -> dict[str, Any]:
    """Statuses of the partner's handovers (amounts in minor units): each goes on the debtor's timeline;
    "collected" books what reaches the creditor (the amount collected less the fee) as a payment, refused (422)
    if that is more than the debtor's account has open on the day; "closed" and "uncollectable" end the
    handover. No status may be dated in the future (422). All or nothing; a status sent again is not booked
    twice. A debtor not handed over to this partner is not found (404)."""
    partner = _partner(request)
    errors: list[FieldError] = []
    rows: list[services.StatusRow] = []
    field_names = {"amount_collected": "amount_collected_minor", "fee": "fee_minor"}
    for index, item in enumerate(payload.statuses):
        problems = services.row_problems(index, item.status, item.amount_collected_minor, item.fee_minor)
        errors.extend(
            FieldError(("body", "statuses", index, field_names.get(p.field, p.field)), p.msg)
            for p in problems
        )
        rows.append(
            services.StatusRow(
                item.debtor, item.status, item.amount_collected_minor, item.fee_minor, item.date, item.note
            )
        )
    if errors:
        raise Invalid(errors)
    try:
        result = services.apply_statuses(
            partner.company, rows, partner=partner, source="api", actor=f"partner:{partner.name}"[:100]
        )
    except services.NotYours as exc:
        raise HttpError(404, "; ".join(f"statuses[{e.index}]: {e.msg}" for e in exc.errors)) from None
    except services.StatusInputError as exc:  # a date in the future, more collected than was open
        raise Invalid(
            [
                FieldError(("body", "statuses", e.index, field_names.get(e.field, e.field)), e.msg)
                for e in exc.errors
            ]
        ) from None
    return result.as_dict()


@router.get("/partners/payments", response={200: dict[str, Any], 401: Errors, 422: Errors})
def get_payments(request: HttpRequest, all: bool = False) -> dict[str, Any]:
    """Payments that reached the creditor directly after a handover to this partner, one line each (amounts
    also in minor units): the ones not fetched before, which are then counted as reported (``all``: every
    one, marking nothing)."""
    partner = _partner(request)
    return {"payments": services.payment_report(partner.company, partner, mark=not all, include_reported=all)}
