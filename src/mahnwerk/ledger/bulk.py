"""Bulk inserts for the ledger's hot tables: one ``executemany`` instead of Django's ``bulk_create``.

``bulk_create`` assembles one SQL text of up to a thousand rows with a placeholder per cell and runs every
value through its field's full preparation; for the imports (100,000 invoices, a statement of 10,000 entries
with their payments, allocations and timeline events) that assembly costs more than the database itself.
:func:`bulk_insert` writes the same rows with one prepared ``INSERT`` for the whole list, on SQLite and
PostgreSQL alike (``%s`` placeholders through Django's connection, so inside the caller's transaction), and
keeps what ``bulk_create`` promises:

- defaults: the model instances carry them already (set when they were built);
- ``auto_now``/``auto_now_add`` fields get the time of the call;
- a field with a database default (``db_default``) that an instance leaves unset is left to the database;
- every instance gets its primary key and counts as saved (``_state.adding`` false), so later
  ``save()``/``update`` calls and foreign keys to it work as after ``bulk_create``.

Values that are already what the driver takes (``str``, ``int``, ``bool``, ``None``) are passed as they are;
dates go through the backend's adapter; anything else (JSON, decimals, aware datetimes, lazy strings) through
the field's own ``get_db_prep_save``, exactly as Django would.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from itertools import repeat
from operator import attrgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, router, transaction
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone

# values of these exact types need no preparation in any field that holds them
_PLAIN = (str, int, bool, type(None))
_PLAIN_TYPES = frozenset(_PLAIN)


_SPECIAL = {
    "DateField",
    "JSONField",
    "DecimalField",
    "DateTimeField",
    "TimeField",
    "UUIDField",
    "BinaryField",
}


def _is_plain(field: models.Field[Any, Any]) -> bool:
    """Whether a ``str``/``int``/``bool``/``None`` value of ``field`` goes to the driver as it is."""
    return field.get_internal_type() not in _SPECIAL


def _converter(field: models.Field[Any, Any], connection: Any) -> Callable[[Any], Any]:
    """A function from an attribute value to the value the database driver gets, for ``field``."""
    prep = field.get_db_prep_save
    internal = field.get_internal_type()
    if internal == "DateField":
        adapt = connection.ops.adapt_datefield_value

        def date_value(value: Any) -> Any:
            if value is None:
                return None
            if type(value) is date:
                return adapt(value)
            return prep(value, connection)

        return date_value
    if internal == "JSONField":
        adapt_json = connection.ops.adapt_json_value
        encoder = getattr(field, "encoder", None)

        def json_value(value: Any) -> Any:
            # a plain dict or list straight to the backend's adapter: what get_db_prep_save ends in
            if type(value) in (dict, list):
                return adapt_json(value, encoder)
            return prep(value, connection)

        return json_value
    if internal in _SPECIAL:
        return lambda value: prep(value, connection)

    def plain(value: Any) -> Any:
        return value if type(value) in _PLAIN else prep(value, connection)

    return plain


def bulk_insert[M: models.Model](objs: Iterable[M], *, using: str | None = None) -> list[M]:
    """Insert new instances of one model (no primary key yet) and give each its primary key; returns them.

    Runs in the caller's transaction (the caller owns atomicity); an empty list costs no query. Only plain
    models (no multi-table inheritance), as with ``bulk_create``.
    """
    instances = list(objs)
    if not instances:
        return instances
    model = type(instances[0])
    if any(type(o) is not model for o in instances):
        raise TypeError("bulk_insert takes instances of one model")
    if any(o.pk is not None for o in instances):
        raise ValueError("bulk_insert writes new rows only: an instance already has a primary key")
    # as bulk_create does: a related object assigned before it was saved gives its id now
    for f in model._meta.concrete_fields:
        if not isinstance(f, models.ForeignKey):
            continue
        attname = f.attname
        for o in instances:
            if o.__dict__.get(attname) is None and f.is_cached(o):
                related = f.get_cached_value(o)
                if related is not None:
                    if related.pk is None:
                        raise ValueError(f"{model._meta.label}.{f.name}: the related object is not saved yet")
                    setattr(o, attname, related.pk)
    alias = using or router.db_for_write(model)
    now = timezone.now()
    stamped = {f.attname for f in _stamped(model)}
    pk = model._meta.pk
    names = [f.attname for f in model._meta.concrete_fields if f is not pk and f.attname not in stamped]
    # a model instance keeps its field values under their attribute names
    get = attrgetter(*names)
    rows = [get(o) for o in instances] if len(names) > 1 else [(get(o),) for o in instances]
    ids = bulk_insert_rows(model, names, rows, using=alias, now=now)
    stamps = [
        (f.attname, now if isinstance(f, models.DateTimeField) else timezone.localdate(now))
        for f in _stamped(model)
    ]
    for o, pk_value in zip(instances, ids, strict=True):
        o.pk = pk_value
        o._state.adding = False
        o._state.db = alias
        for attname, stamp in stamps:
            setattr(o, attname, stamp)
    return instances


def bulk_insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    using: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Insert rows given as tuples of the fields named in ``columns`` (attribute names: ``debtor_id``, not
    ``debtor``) without building model instances; returns their new primary keys in order.

    A field ``columns`` leaves out gets what a new instance would have: its default (a callable default is
    called once per call; ``""`` for text, ``None`` when nullable), the time of the call for
    ``auto_now``/``auto_now_add`` (also when named), the database's own for a ``db_default`` (the column is
    then not written; so too for the rows whose value is ``DatabaseDefault``); a required field left out is
    a ``ValueError`` before anything is written.
    """
    if not rows:
        return []
    fields = _fields(model, columns)
    if set(map(len, rows)) != {len(columns)}:
        raise ValueError(f"{model._meta.label}: every row needs a value for each of {len(columns)} columns")
    values: list[Sequence[Any]] = list(zip(*rows, strict=True)) if columns else []
    return _insert_columns(model, fields, columns, values, len(rows), using, now)


def bulk_insert_columns(
    model: type[models.Model],
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    *,
    using: str | None = None,
    now: datetime | None = None,
) -> list[int]:
    """:func:`bulk_insert_rows` with the rows given a column at a time: ``values[j]`` holds the value of
    ``columns[j]`` for every row (for a caller that has its rows so: no tuple per row is built)."""
    count = len(values[0]) if values else 0
    if not count:
        return []
    fields = _fields(model, columns)
    if len(values) != len(columns) or set(map(len, values)) != {count}:
        raise ValueError(f"{model._meta.label}: every column needs a value for each of {count} rows")
    return _insert_columns(model, fields, columns, values, count, using, now)


def _fields(model: type[models.Model], columns: Sequence[str]) -> dict[str, models.Field[Any, Any]]:
    """The model's fields but its primary key, by attribute name (``columns`` checked against them)."""
    opts = model._meta
    if opts.parents:
        raise TypeError(f"bulk_insert cannot write {opts.label}: it inherits from another concrete model")
    pk = opts.pk
    fields = {f.attname: f for f in opts.concrete_fields if f is not pk}
    unknown = [c for c in columns if c not in fields]
    if unknown:
        raise ValueError(f"{opts.label}: no field {', '.join(unknown)} (or it is the primary key)")
    return fields


def _insert_columns(
    model: type[models.Model],
    fields: dict[str, models.Field[Any, Any]],
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    count: int,
    using: str | None,
    now: datetime | None,
) -> list[int]:
    opts = model._meta
    pk = opts.pk
    assert pk is not None and pk.column is not None
    pk_column: str = pk.column
    alias = using or router.db_for_write(model)
    connection = connections[alias]
    now = now or timezone.now()
    stamped = {f.attname for f in _stamped(model)}
    # the columns every row of the call shares: fields left out, and auto_now fields
    shared: dict[str, Any] = {}
    for attname, f in fields.items():
        if attname in stamped:
            shared[attname] = now if isinstance(f, models.DateTimeField) else timezone.localdate(now)
        elif attname not in columns and not f.has_db_default():
            shared[attname] = f.get_default()  # what a new instance gets ("" for text, None if null)
    missing = sorted(a for a, v in shared.items() if v is None and not fields[a].null)
    if missing:
        raise ValueError(f"{opts.label}: no value for {', '.join(missing)}")
    given = [(j, fields[c]) for j, c in enumerate(columns) if c not in stamped]
    # rows leaving a database default to the database are written without that column
    defaulted = [j for j, f in given if f.has_db_default()]
    groups: dict[tuple[int, ...], Sequence[int]] = {(): range(count)}
    if defaulted:
        by_omitted: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for n in range(count):
            by_omitted[tuple(j for j in defaulted if isinstance(values[j][n], DatabaseDefault))].append(n)
        groups = dict(by_omitted)
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    tail = tuple(_converter(fields[a], connection)(v) for a, v in shared.items())
    ids: list[int] = [0] * count
    # all or nothing also when the caller runs in autocommit (as bulk_create does)
    with transaction.atomic(using=alias, savepoint=False):
        _insert_groups(connection, opts, table, pk_column, given, groups, values, tail, shared, fields, ids)
    return ids


def _insert_groups(
    connection: Any,
    opts: Any,
    table: str,
    pk_column: str,
    given: list[tuple[int, models.Field[Any, Any]]],
    groups: dict[tuple[int, ...], Sequence[int]],
    columns: Sequence[Sequence[Any]],
    tail: tuple[Any, ...],
    shared: dict[str, Any],
    fields: dict[str, models.Field[Any, Any]],
    ids: list[int],
) -> None:
    quote = connection.ops.quote_name
    count = len(ids)
    for omitted, members in groups.items():
        own = [(j, f) for j, f in given if j not in omitted]
        values = [
            _column(f, columns[j] if len(members) == count else [columns[j][n] for n in members], connection)
            for j, f in own
        ]
        names = [quote(f.column or f.attname) for _j, f in own] + [
            quote(fields[a].column or a) for a in shared
        ]
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                # a large load: the values every row has alike (the shared ones, a column holding one value)
                # written into the statement, not bound a million times; the same values are stored
                inline = len(members) >= INLINE_FROM
                literals = [_same_literal(column) if inline else None for column in values]
                literals += [_sqlite_literal(v) if inline else None for v in tail]
                marks = [literal or "%s" for literal in literals]
                every = [*values, *(repeat(v, len(members)) for v in tail)]
                bound = [column for column, literal in zip(every, literals, strict=True) if not literal]
                # (the rows' parameters made as the driver takes them: no list of a million tuples)
                rows = zip(*bound, strict=True) if bound else repeat((), len(members))
                made = _insert_sqlite(cursor, table, names, rows, len(members), marks)
            else:
                params = _params(values, tail, len(members))
                made = _reserve_ids(cursor, opts.db_table, pk_column, len(params))
                params = [(pk_value, *row_params) for pk_value, row_params in zip(made, params, strict=True)]
                if len(params) >= COPY_FROM:
                    _copy(cursor, table, [quote(pk_column), *names], params)
                else:
                    _execute(cursor, table, [quote(pk_column), *names], params)
        for n, pk_value in zip(members, made, strict=True):
            ids[n] = pk_value


def _params(values: list[Sequence[Any]], tail: tuple[Any, ...], count: int) -> list[tuple[Any, ...]]:
    """The rows' own values, then the shared ones (zip and repeat: no Python per row)."""
    return list(zip(*values, *map(repeat, tail), strict=False)) if values else [tail] * count


# SQLite: from this many rows on, the values all rows share are written into the statement (a smaller load
# binds them, and its statement stays the same from call to call)
INLINE_FROM = 1000


def _same_literal(values: Sequence[Any]) -> str | None:
    """The SQLite literal of the value every row of a column has (of one type); ``None`` when they differ."""
    first = values[0]
    if values.count(first) != len(values) or set(map(type, values)) != {type(first)}:
        return None
    return _sqlite_literal(first)


def _sqlite_literal(value: Any) -> str | None:
    """``value`` as an SQLite literal storing what binding it stores (``None`` when it is not that simple); a
    ``%`` doubled, as the statement's text goes through the driver's placeholder conversion."""
    if value is None:
        return "NULL"
    if type(value) is bool:
        return "1" if value else "0"
    if type(value) is int and abs(value) < 2**63:
        return str(value)
    if type(value) is str and "\x00" not in value:
        return "'" + value.replace("'", "''").replace("%", "%%") + "'"
    return None


def _column(field: models.Field[Any, Any], values: Sequence[Any], connection: Any) -> Sequence[Any]:
    """A column's values as the driver takes them (converted once per distinct date)."""
    if _is_plain(field) and set(map(type, values)) <= _PLAIN_TYPES:
        return values
    fn = _converter(field, connection)
    if field.get_internal_type() == "DateField":
        converted = {v: fn(v) for v in dict.fromkeys(values)}
        return list(map(converted.__getitem__, values))
    return [fn(v) for v in values]


def _stamped(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [
        f
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]


def _execute(cursor: Any, table: str, names: list[str], params: Sequence[Sequence[Any]]) -> None:
    placeholders = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders})"
    if len(params) == 1:
        cursor.execute(sql, params[0])
    else:
        cursor.executemany(sql, params)


def _insert_sqlite(
    cursor: Any,
    table: str,
    names: list[str],
    params: Iterable[Sequence[Any]],
    count: int,
    marks: Sequence[str],
) -> list[int]:
    """Insert the ``count`` rows of ``params`` and return their ids: SQLite numbers the rows of one statement
    consecutively (one writer at a time, no triggers on these tables), so the last id names them all."""
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(marks)})"
    if count == 1:
        cursor.execute(sql, next(iter(params)))
    else:
        cursor.executemany(sql, params)
    cursor.execute("SELECT last_insert_rowid()")
    last = int(cursor.fetchone()[0])
    return list(range(last - count + 1, last + 1))


# PostgreSQL: from this many rows on, they are sent with COPY (one stream) instead of one INSERT each
COPY_FROM = 1000


def _copy(cursor: Any, table: str, names: list[str], params: Sequence[Sequence[Any]]) -> None:
    """PostgreSQL: the rows streamed with ``COPY ... FROM STDIN`` on the connection's own cursor (so inside the
    caller's transaction); the values are the ones ``executemany`` would bind, adapted by the driver alike."""
    # the driver's errors as Django's (IntegrityError for a duplicate), as for every other query
    with (
        cursor.db.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        write = copy.write_row
        for row in params:
            write(row)


def _reserve_ids(cursor: Any, table: str, column: str, count: int) -> list[int]:
    """PostgreSQL: ``count`` ids taken from the table's identity sequence, so the rows can be written with
    their ids (safe with concurrent writers: ``nextval`` never hands out a value twice)."""
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, count]
    )
    return [int(r[0]) for r in cursor.fetchall()]


# SQLite's page cache during a large load (KiB; its default is 2 MiB): the indexes of a table of a million
# rows do not fit in the default, and every insert then reads index pages from the file again
LOAD_CACHE_KIB = 128 * 1024
# a smaller load is written as it is (the page cache is left alone)
LARGE_LOAD = 10_000
# a load of at least this many rows, and at least as many as the table holds, is written without the
# table's non-unique indexes, which are built again afterwards (in one pass each, from sorted keys)
REBUILD_INDEXES_FROM = 50_000


@contextmanager
def page_cache(kib: int = LOAD_CACHE_KIB, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """SQLite: the connection's page cache at ``kib`` KiB while the block runs, then as it was; elsewhere
    (PostgreSQL) nothing. For work that writes all over a large database (a collection run at a million
    invoices): with the default 2 MiB every insert and update reads index pages from the file again, and
    writes them out again before the commit."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    cache = int(raw.execute("PRAGMA cache_size").fetchone()[0])
    raw.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        # on the driver's connection: after a failure Django allows no query until the rollback, and the page
        # cache is the connection's, not the transaction's (a connection closed meanwhile has none to restore)
        if connection.connection is raw:
            raw.execute(f"PRAGMA cache_size = {cache}")


@contextmanager
def bulk_load(model: type[models.Model], rows: int, *, using: str | None = None) -> Iterator[None]:
    """Prepare the database for inserting ``rows`` new rows of ``model`` inside the caller's transaction.

    On SQLite a larger page cache for a large load; for one that at least doubles the table, its
    non-unique indexes are dropped first and created again at the end, within the same transaction: a
    failure anywhere rolls the whole load back, indexes included, and readers never see the table without
    them (they read the last committed state). Unique indexes stay and are checked row by row. Elsewhere
    (PostgreSQL) this does nothing."""
    alias = using or router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "sqlite" or rows < LARGE_LOAD:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("bulk_load runs inside a transaction")
    table = model._meta.db_table
    with page_cache(using=alias):
        indexes: list[tuple[str, str]] = []
        with connection.cursor() as cursor:
            if rows >= REBUILD_INDEXES_FROM:
                cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
                if rows >= int(cursor.fetchone()[0]):
                    cursor.execute(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                        "AND sql IS NOT NULL",
                        [table],
                    )
                    indexes = [
                        (name, sql)
                        for name, sql in cursor.fetchall()
                        if not sql.lstrip().upper().startswith("CREATE UNIQUE")
                    ]
                    for name, _sql in indexes:
                        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        yield
        with connection.cursor() as cursor:
            for _name, sql in indexes:
                cursor.execute(sql.replace("%", "%%"))


__all__ = ["bulk_insert", "bulk_insert_columns", "bulk_insert_rows", "bulk_load", "page_cache"]
