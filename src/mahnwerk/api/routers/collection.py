"""The collection run and "send now", through the same services as the web application and the command line
(:mod:`mahnwerk.collection.runs`: the role and company checks are made there)."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from mahnwerk.api.auth import caller
from mahnwerk.api.errors import FieldError, Invalid
from mahnwerk.api.schemas import Errors, RunIn
from mahnwerk.collection import runs
from mahnwerk.collection.services import CollectionError, ExclusionError

router = Router(tags=["collection"])


def _clerk(request: HttpRequest) -> runs.Clerk:
    who = caller(request)
    return runs.Clerk(who.company, who.role, who.actor)


@router.post("/runs", response={200: dict[str, Any], 400: Errors, 401: Errors, 403: Errors, 422: Errors})
def create_run(request: HttpRequest, payload: RunIn) -> dict[str, Any]:
    """Run the collection for the token's company on ``as_of`` (``dry_run``: only the plan, nothing written).

    ``approve`` also takes the steps waiting for a person. ``exclude_debtors`` (ids) get nothing from this
    run, ``exclude_items`` (invoice ids) are neither named in their debtor's message nor in its total, and
    with ``only_debtors`` no other debtor is written to (nor planned for in a dry run); every id must be the
    company's (else 422). The exclusions hold for this run only and go on the debtors' timelines with the
    token's user."""
    clerk = _clerk(request)
    debtors, items, only = payload.exclude_debtors, payload.exclude_items, payload.only_debtors
    try:
        if payload.dry_run:
            result = runs.preview_run(
                clerk, payload.as_of, exclude_debtors=debtors, exclude_items=items, only_debtors=only
            )
        elif payload.approve:
            result = runs.approve_run(
                clerk, payload.as_of, exclude_debtors=debtors, exclude_items=items, only_debtors=only
            )
        else:
            result = runs.start_run(
                clerk, payload.as_of, exclude_debtors=debtors, exclude_items=items, only_debtors=only
            )
    except runs.NotAllowed as exc:
        raise HttpError(403, str(exc)) from None
    except ExclusionError as exc:
        raise Invalid([FieldError(("body", exc.field), str(exc))]) from None
    return result.as_dict()


@router.post(
    "/debtors/{debtor_id}/send-now",
    response={200: dict[str, Any], 401: Errors, 403: Errors, 404: Errors, 422: Errors},
)
def send_now(request: HttpRequest, debtor_id: int) -> dict[str, Any]:
    """The debtor's next step now, before its date, with every other rule of the run (a refusal is a 422 that
    says why). Another company's debtor is not found (404)."""
    clerk = _clerk(request)
    try:
        debtor = runs.company_debtor(clerk, debtor_id)
    except CollectionError as exc:
        raise HttpError(404, str(exc)) from None
    try:
        action = runs.send_now(clerk, debtor)
    except runs.NotAllowed as exc:
        raise HttpError(403, str(exc)) from None
    except CollectionError as exc:
        raise Invalid([FieldError(("path", "debtor_id"), str(exc))]) from None
    return {
        "action_id": action.pk,
        "debtor_id": debtor.pk,
        "level": action.level,
        "channel": action.channel,
        "deadline": action.deadline.isoformat() if action.deadline else None,
    }
