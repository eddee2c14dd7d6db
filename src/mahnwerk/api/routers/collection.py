"""The collection run."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from mahnwerk.api.auth import writer
from mahnwerk.api.schemas import Errors, RunIn
from mahnwerk.collection.services import run_collection

router = Router(tags=["collection"])


@router.post("/runs", response={200: dict[str, Any], 422: Errors})
def create_run(request: HttpRequest, payload: RunIn) -> dict[str, Any]:
    """Run the collection for the token's company on ``as_of`` (``dry_run``: only the plan, nothing written)."""
    who = writer(request)
    return run_collection(
        who.company, payload.as_of, dry_run=payload.dry_run, approved=payload.approve
    ).as_dict()
