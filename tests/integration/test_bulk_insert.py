"""``ledger.bulk``: rows written with one ``executemany`` are the rows ``bulk_create`` writes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.db.models.expressions import DatabaseDefault
from django.forms.models import model_to_dict
from django.utils import timezone

from mahnwerk.ledger import timeline
from mahnwerk.ledger.bulk import bulk_insert, bulk_insert_rows
from mahnwerk.ledger.models import Invoice, StatementEntry, TimelineEvent

D = date.fromisoformat


@pytest.fixture(autouse=True, params=["insert", "copy"])
def postgres_way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """On PostgreSQL every test runs twice: rows sent one INSERT each, and streamed with COPY (what a call of
    many rows does); the stored rows must be the same."""
    from django.db import connection

    from mahnwerk.ledger import bulk

    if request.param == "copy":
        if connection.vendor != "postgresql":
            pytest.skip("COPY is PostgreSQL's")
        monkeypatch.setattr(bulk, "COPY_FROM", 1)
    return str(request.param)


def _invoice(company: Any, debtor: Any, number: str, amount: int = 10_000, **extra: Any) -> Invoice:
    return Invoice(
        company=company,
        debtor=debtor,
        number=number,
        issue_date=D("2026-01-01"),
        due_date=D("2026-01-31"),
        amount_minor=amount,
        open_minor=amount,
        currency="EUR",
        **extra,
    )


def _columns(invoice: Invoice) -> dict[str, Any]:
    values = model_to_dict(invoice, exclude=["id", "number", "document"])
    values["document"] = invoice.document.name
    return values


@pytest.mark.django_db
def test_the_same_rows_as_bulk_create(company: Any, make_debtor: Any) -> None:
    debtor = make_debtor()
    extra = {"received_on": D("2026-01-05"), "due_date_agreed": True, "hold_reason": "Prüfung"}
    reference = Invoice.objects.bulk_create([_invoice(company, debtor, "A-1", 12_345, **extra)])[0]
    before = timezone.now()
    made = bulk_insert([_invoice(company, debtor, "B-1", 12_345, **extra), _invoice(company, debtor, "B-2")])
    after = timezone.now()

    stored = {inv.number: inv for inv in Invoice.objects.filter(company=company)}
    assert [m.pk for m in made] == [stored["B-1"].pk, stored["B-2"].pk]
    assert _columns(stored["B-1"]) == _columns(Invoice.objects.get(pk=reference.pk))
    # defaults of a new instance, and the time of the call for auto_now_add (the same on the instance)
    assert (stored["B-2"].on_hold, stored["B-2"].hold_reason, stored["B-2"].received_on) == (False, "", None)
    assert before <= stored["B-1"].created_at <= after
    assert made[0].created_at == stored["B-1"].created_at
    # the instances count as saved: a later save updates the row instead of inserting another
    assert made[1]._state.adding is False
    made[1].hold_reason = "later"
    made[1].save(update_fields=["hold_reason"])
    assert Invoice.objects.get(pk=made[1].pk).hold_reason == "later"
    assert Invoice.objects.filter(company=company).count() == 3


@pytest.fixture
def small_loads(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``bulk`` with a load of 3 rows counting as large, and as large enough to rebuild an empty table's indexes."""
    from mahnwerk.ledger import bulk

    monkeypatch.setattr(bulk, "LARGE_LOAD", 3)
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 3)
    return bulk


COLUMNS = (
    "company_id",
    "debtor_id",
    "number",
    "issue_date",
    "due_date",
    "amount_minor",
    "open_minor",
    "currency",
)


@pytest.mark.django_db
def test_rows_as_tuples_get_defaults_and_ids_in_order(company: Any, make_debtor: Any) -> None:
    debtor = make_debtor()
    rows = [
        (
            company.pk,
            debtor.pk,
            f"R-{n}",
            D("2026-02-01") + timedelta(days=n % 3),
            D("2026-03-01"),
            100 + n,
            100 + n,
            "EUR",
        )
        for n in range(25)
    ]
    before = timezone.now()
    ids = bulk_insert_rows(Invoice, COLUMNS, rows)
    assert len(set(ids)) == 25
    for pk, row in zip(ids, rows, strict=True):
        inv = Invoice.objects.get(pk=pk)
        assert (inv.number, inv.issue_date, inv.amount_minor) == (row[2], row[3], row[5])
        assert (inv.reference, inv.default_rule, inv.on_hold, inv.contract_rate_percent) == (
            "",
            "",
            False,
            None,
        )
        assert inv.created_at >= before


@pytest.mark.django_db
def test_a_required_value_missing_writes_nothing(company: Any, make_debtor: Any) -> None:
    debtor = make_debtor()
    with pytest.raises(ValueError, match="amount_minor"):
        bulk_insert_rows(Invoice, ("company_id", "debtor_id", "number"), [(company.pk, debtor.pk, "X-1")])
    with pytest.raises(ValueError, match="no field debtor"):
        bulk_insert_rows(Invoice, ("debtor",), [(debtor,)])
    with pytest.raises(ValueError, match="each of 8 columns"):
        bulk_insert_rows(Invoice, COLUMNS, [(company.pk, debtor.pk)])
    assert not Invoice.objects.filter(company=company).exists()


@pytest.mark.django_db
def test_empty_costs_no_query(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert bulk_insert([]) == []
        assert bulk_insert_rows(Invoice, COLUMNS, []) == []


@pytest.mark.django_db
def test_refuses_rows_that_exist_already(company: Any, make_debtor: Any) -> None:
    debtor = make_debtor()
    saved = _invoice(company, debtor, "S-1")
    saved.save()
    with pytest.raises(ValueError, match="new rows only"):
        bulk_insert([saved])


@pytest.mark.django_db(transaction=True)
def test_atomic_a_duplicate_rolls_back_the_whole_insert(company: Any, make_debtor: Any) -> None:
    debtor = make_debtor()
    _invoice(company, debtor, "DUP").save()
    fresh = [_invoice(company, debtor, f"N-{n}") for n in range(5)] + [_invoice(company, debtor, "DUP")]
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(fresh)
    assert list(Invoice.objects.filter(company=company).values_list("number", flat=True)) == ["DUP"]
    # the same without a transaction around it (autocommit): no row of the list stays
    fresh = [_invoice(company, debtor, f"M-{n}") for n in range(5)] + [_invoice(company, debtor, "DUP")]
    with pytest.raises(IntegrityError):
        bulk_insert(fresh)
    assert list(Invoice.objects.filter(company=company).values_list("number", flat=True)) == ["DUP"]
    # and after the failed attempt the next insert numbers its rows right
    made = bulk_insert([_invoice(company, debtor, "OK-1"), _invoice(company, debtor, "OK-2")])
    assert {i.pk: i.number for i in made} == {
        pk: number
        for pk, number in Invoice.objects.filter(number__startswith="OK-").values_list("pk", "number")
    }


@pytest.mark.django_db
def test_timeline_events_database_default_and_json(company: Any, make_debtor: Any) -> None:
    debtor = make_debtor()
    fixed = timezone.now() - timedelta(days=3)
    events = [
        timeline.event(debtor.pk, company.pk, "hold_set", D("2026-03-01"), reason="Prüfung »ä«", n=[1, 2]),
        timeline.event(debtor.pk, company.pk, "hold_released", D("2026-03-02")),
    ]
    events[1].at = fixed
    assert isinstance(events[0].at, DatabaseDefault)
    bulk_insert(events)
    first, second = (TimelineEvent.objects.get(pk=e.pk) for e in events)
    assert first.data == {"reason": "Prüfung »ä«", "n": [1, 2]}
    assert first.at is not None and abs(first.at - timezone.now()) < timedelta(minutes=5)
    assert second.at == fixed
    assert (second.kind, second.business_date, second.actor) == ("hold_released", D("2026-03-02"), "system")


@pytest.mark.django_db
def test_json_lists_of_statement_entries(company: Any) -> None:
    from mahnwerk.ledger.models import BankStatement
    from mahnwerk.ledger.statements import bank_accounts

    account = bank_accounts(company)[0]
    stmt = BankStatement.objects.create(
        company=company, account=account, statement_id="S", file_hash="h", format="camt.053"
    )
    entry = StatementEntry(
        company=company,
        account=account,
        statement=stmt,
        key="K-1",
        booking_date=D("2026-03-10"),
        value_date=D("2026-03-10"),
        amount_minor=500,
        currency="EUR",
        credit=True,
        reasons=["names invoice RE-1"],
        candidates=[{"score": 0.9, "parts": [{"invoice": "RE-1", "amount_minor": 500}]}],
    )
    bulk_insert([entry])
    stored = StatementEntry.objects.get(pk=entry.pk)
    assert stored.reasons == ["names invoice RE-1"]
    assert stored.candidates == [{"score": 0.9, "parts": [{"invoice": "RE-1", "amount_minor": 500}]}]
    assert stored.status == StatementEntry._meta.get_field("status").get_default()


@pytest.mark.django_db
def test_a_related_object_saved_after_it_was_assigned(company: Any, make_debtor: Any) -> None:
    from mahnwerk.ledger.models import Debtor

    late = Debtor(company=company, number="LATE", name="Spät GmbH")
    inv = _invoice(company, late, "L-1")
    late.save()  # the invoice was given the debtor before the debtor had an id
    bulk_insert([inv])
    assert Invoice.objects.get(pk=inv.pk).debtor_id == late.pk
    unsaved = _invoice(company, Debtor(company=company, number="NEVER", name="Nie"), "L-2")
    with pytest.raises(ValueError, match="not saved yet"):
        bulk_insert([unsaved])


@pytest.mark.django_db
def test_imported_invoices_carry_the_rules_worked_out_one_by_one(
    company: Any, make_debtor: Any, tmp_path: Any
) -> None:
    """The import writes rows without model instances and works the rules out once per combination: each
    invoice must still have the default start and limitation date the rules give it on its own."""
    from mahnwerk.ledger.claims import debtor_laws, default_start, limitation_date
    from mahnwerk.ledger.imports import import_file

    business = make_debtor(number="B1")
    consumer = make_debtor(number="C1", kind="consumer", country="DE")
    lines = ["number;debtor;issue_date;due_date;amount;received_on;due_date_agreed;consumer_notice"]
    for n in range(40):
        owner = "B1" if n % 2 else "C1"
        issue = D("2025-11-01") + timedelta(days=n % 7)
        due = issue + timedelta(days=14 + (n % 3) * 7)
        received = (issue + timedelta(days=2)).strftime("%d.%m.%Y") if n % 5 == 0 else ""
        lines.append(
            f"RE-{n};{owner};{issue:%d.%m.%Y};{due:%d.%m.%Y};{n + 1},50;{received};"
            f"{'ja' if n % 4 == 0 else ''};{'x' if n % 3 == 0 else ''}"
        )
    path = tmp_path / "invoices.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert import_file(company, "invoices", path).created == 40

    laws = debtor_laws(company, {business.pk, consumer.pk})
    invoices = list(Invoice.objects.filter(company=company).order_by("id"))
    assert [i.number for i in invoices] == [f"RE-{n}" for n in range(40)]
    assert len({(i.default_from, i.default_rule) for i in invoices}) > 3  # the rows differ in what matters
    for inv in invoices:
        law = laws[inv.debtor_id]
        start = default_start(inv, law.jurisdiction, law.debtor_kind)
        assert (inv.default_from, inv.default_rule) == (start.first_interest_day, start.rule), inv.number
        assert inv.time_barred_on == limitation_date(law.jurisdiction, law.debtor_kind, inv.due_date)
        assert inv.open_minor == inv.amount_minor and inv.reference == inv.number
    assert invoices[1].amount_minor == 250 and invoices[0].received_on == D("2025-11-03")
    events = TimelineEvent.objects.filter(kind="invoices_imported").order_by("debtor_id")
    assert sorted(e.data["count"] for e in events) == [20, 20]


def _indexes(table: str) -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


def _rows(company: Any, debtor: Any, prefix: str, count: int) -> list[tuple[Any, ...]]:
    return [
        (company.pk, debtor.pk, f"{prefix}-{n}", D("2026-01-01"), D("2026-01-31"), 100 + n, 100 + n, "EUR")
        for n in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_large_load_keeps_every_index_and_constraint(
    company: Any, make_debtor: Any, small_loads: Any
) -> None:
    from django.db import connection

    debtor = make_debtor()
    before = _indexes(Invoice._meta.db_table)
    with transaction.atomic(), small_loads.bulk_load(Invoice, 5):
        if connection.vendor == "sqlite":  # written without the non-unique indexes, built again at the end
            assert "invoice_open_idx" not in _indexes(Invoice._meta.db_table)
        ids = bulk_insert_rows(Invoice, COLUMNS, _rows(company, debtor, "L", 5))
    assert _indexes(Invoice._meta.db_table) == before
    assert (
        list(
            Invoice.objects.filter(due_date__lte=D("2026-02-01"), open_minor__gt=0).values_list(
                "pk", flat=True
            )
        )
        == ids
    )
    # the unique number per company still holds for what comes later
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert_rows(Invoice, COLUMNS, _rows(company, debtor, "L", 1))


@pytest.mark.django_db(transaction=True)
def test_a_large_load_that_fails_leaves_table_and_indexes_as_they_were(
    company: Any, make_debtor: Any, small_loads: Any
) -> None:
    debtor = make_debtor()
    before = _indexes(Invoice._meta.db_table)
    with pytest.raises(IntegrityError), transaction.atomic(), small_loads.bulk_load(Invoice, 6):
        bulk_insert_rows(Invoice, COLUMNS, _rows(company, debtor, "F", 3))
        bulk_insert_rows(Invoice, COLUMNS, _rows(company, debtor, "F", 3))  # the same numbers again
    assert not Invoice.objects.filter(number__startswith="F-").exists()
    assert _indexes(Invoice._meta.db_table) == before


@pytest.mark.django_db(transaction=True)
def test_bulk_load_outside_a_transaction_is_refused(small_loads: Any) -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("only SQLite changes anything for a load")
    with pytest.raises(RuntimeError), small_loads.bulk_load(Invoice, 10):
        pass


@pytest.mark.django_db
def test_events_written_as_rows_read_like_built_ones(company: Any, make_debtor: Any) -> None:
    first, second = make_debtor(), make_debtor()
    timeline.record_rows(
        "invoices_imported",
        company.pk,
        D("2026-03-01"),
        "import",
        [
            (first.pk, {"count": 2, "numbers": "A, B"}),
            (second.pk, {"count": 1, "numbers": "C", "on": D("2026-02-01")}),
        ],
    )
    made = {e.debtor_id: e for e in TimelineEvent.objects.filter(kind="invoices_imported")}
    assert made[first.pk].data == {"count": 2, "numbers": "A, B"}
    assert made[second.pk].data == {"count": 1, "numbers": "C", "on": "2026-02-01"}
    assert (made[first.pk].actor, made[first.pk].business_date, made[first.pk].note) == (
        "import",
        D("2026-03-01"),
        "",
    )
    assert made[first.pk].at is not None
    assert str(made[first.pk]) == timeline.describe(
        timeline.event(first.pk, company.pk, "invoices_imported", D("2026-03-01"), count=2, numbers="A, B")
    )
    with pytest.raises(ValueError):
        timeline.record_rows("no_such_kind", company.pk, D("2026-03-01"), "import", [(first.pk, {})])


@pytest.mark.django_db
def test_a_small_load_costs_no_query(django_assert_num_queries: Any) -> None:
    from mahnwerk.ledger import bulk

    with django_assert_num_queries(0), bulk.bulk_load(Invoice, bulk.LARGE_LOAD - 1):
        pass


def _cache_size() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_larger_page_cache_while_the_block_runs_and_the_old_one_after(
    company: Any, make_debtor: Any
) -> None:
    from django.db import connection

    from mahnwerk.ledger.bulk import page_cache

    if connection.vendor != "sqlite":
        with page_cache(4096):  # nothing to change on PostgreSQL, and nothing goes wrong
            assert Invoice.objects.count() == 0
        return
    before = _cache_size()
    with page_cache(4096):
        assert _cache_size() == -4096
    assert _cache_size() == before
    # also after a failure inside a transaction, where Django allows no query until the rollback
    debtor = make_debtor()
    with pytest.raises(IntegrityError), page_cache(8192), transaction.atomic():
        bulk_insert_rows(Invoice, COLUMNS, _rows(company, debtor, "P", 2) * 2)
    assert _cache_size() == before
    # and a collection run works with a larger one and gives it back
    from mahnwerk.collection.services import run_collection

    run_collection(company, D("2026-03-01"), send=False)
    assert _cache_size() == before
