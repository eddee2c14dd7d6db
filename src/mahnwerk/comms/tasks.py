"""Background jobs of the messages (django-tasks-db): the same service functions the CLI calls."""

from __future__ import annotations

from django.tasks import task

from mahnwerk.comms.outbox import recover_stuck, send_queued


@task()
def send_outbox() -> dict[str, int]:
    recover_stuck()
    return send_queued()
