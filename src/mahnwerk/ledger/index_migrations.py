"""A migration step for a foreign key whose own index another index already covers.

Django gives every foreign key an index on its column. Where a composite index or unique constraint starts
with that column (``ledger_invoice.company_id`` is the first column of the unique invoice number per
company), the single-column index answers no query the composite one does not, and every insert and
delete still maintains it: a collection run at a million invoices writes 850,000 action items, each into
two such indexes. :func:`drop_field_index` drops it.

Django's own ``AlterField`` to ``db_index=False`` would rebuild the whole table on SQLite (a copy of every
row); this step changes the field in the migration state and drops only the index in the database, on
SQLite and PostgreSQL alike (the index has the same name on both), and creates it again when reversed.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def drop_field_index(app_label: str, model_name: str, name: str, field: models.Field[Any, Any]) -> Any:
    """``AlterField(model_name, name, field)`` for a field that no longer has ``db_index``: the state changes,
    and in the database the field's own index is dropped (created again when the migration is reversed)."""

    def parts(apps: Any, schema_editor: Any) -> tuple[Any, Any, str, bool]:
        model = apps.get_model(app_label, model_name)
        column_field = model._meta.get_field(name)
        table = model._meta.db_table
        index = schema_editor._create_index_name(table, [column_field.column], suffix="")
        with schema_editor.connection.cursor() as cursor:
            present = index in schema_editor.connection.introspection.get_constraints(cursor, table)
        return model, column_field, index, present

    def forwards(apps: Any, schema_editor: Any) -> None:
        model, _field, index, present = parts(apps, schema_editor)
        if present:
            schema_editor.execute(schema_editor._delete_index_sql(model, index))

    def backwards(apps: Any, schema_editor: Any) -> None:
        model, column_field, _index, present = parts(apps, schema_editor)
        if not present:
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[column_field]))

    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
        database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
    )
