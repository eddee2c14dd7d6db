"""Background jobs (django-tasks-db): the same service functions the CLI calls. Sending the outbox is a job
of the messages (:mod:`mahnwerk.comms.tasks`)."""

from __future__ import annotations

from datetime import date

from django.tasks import task

from mahnwerk.collection.services import run_collection
from mahnwerk.ledger.models import Company


@task()
def daily_run(company_id: int, as_of: str | None = None) -> dict[str, object]:
    company = Company.objects.get(pk=company_id)
    return run_collection(company, date.fromisoformat(as_of) if as_of else None).as_dict()
