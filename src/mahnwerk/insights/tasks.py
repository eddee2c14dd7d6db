"""Background jobs (django-tasks-db) for the insights: the same service functions the CLI calls.

``retrain_model`` is meant to be enqueued on a schedule (e.g. weekly per company, by cron running
``mahnwerk model train --company SLUG`` or by enqueueing ``retrain_model.enqueue(company.pk)``); it
trains on what is known today, saves the model, then refreshes the stored predictions with it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.tasks import task

from mahnwerk.insights.services import predict_open_invoices, refresh_insights, train_company_model
from mahnwerk.ledger.models import Company


@task()
def retrain_model(company_id: int, as_of: str | None = None) -> dict[str, Any]:
    company = Company.objects.get(pk=company_id)
    day = date.fromisoformat(as_of) if as_of else None
    result = train_company_model(company, day)
    predictions = predict_open_invoices(company, result.as_of)
    return result.as_dict() | {"predictions": len(predictions)}


@task()
def refresh_company_insights(company_id: int, as_of: str | None = None) -> dict[str, Any]:
    company = Company.objects.get(pk=company_id)
    return refresh_insights(company, date.fromisoformat(as_of) if as_of else None).as_dict()
