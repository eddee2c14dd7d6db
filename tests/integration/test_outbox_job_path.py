"""A job queued under the outbox job's old path (before it moved to ``comms``) still runs after the upgrade."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django_tasks_db.models import DBTaskResult

from mahnwerk.comms.tasks import send_outbox

moved = importlib.import_module("mahnwerk.comms.migrations.0007_outbox_job_moved")


@pytest.mark.django_db
def test_a_job_queued_under_the_old_path_points_at_the_new_one() -> None:
    queued = send_outbox.enqueue()
    DBTaskResult.objects.filter(pk=queued.id).update(task_path=moved.OLD)
    with pytest.raises(ImportError):
        DBTaskResult.objects.get(pk=queued.id).task  # noqa: B018 - what a worker would do with it

    moved.forwards(apps, SimpleNamespace(connection=connection))

    job = DBTaskResult.objects.get(pk=queued.id)
    assert job.task_path == moved.NEW == f"{send_outbox.func.__module__}.{send_outbox.func.__name__}"
    assert job.task.func is send_outbox.func
