"""The outbox job moved from ``mahnwerk.collection.tasks`` to ``mahnwerk.comms.tasks`` (the run decides, the
outbox delivers): a job queued under the old path before the upgrade is pointed at the new one, so that the
worker can still import it."""

from __future__ import annotations

from typing import Any

from django.db import migrations

OLD = "mahnwerk.collection.tasks.send_outbox"
NEW = "mahnwerk.comms.tasks.send_outbox"


def forwards(apps: Any, schema_editor: Any) -> None:
    jobs = apps.get_model("django_tasks_database", "DBTaskResult")
    jobs.objects.using(schema_editor.connection.alias).filter(task_path=OLD).update(task_path=NEW)


class Migration(migrations.Migration):
    dependencies = [
        ("comms", "0006_render_at_send"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
