"""``mahnwerk model evaluate|train`` on the public invoice sample."""

from __future__ import annotations

import json
import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

SAMPLE = Path(
    os.environ.get(
        "MAHNWERK_SAMPLE_CSV", Path(__file__).resolve().parents[2] / "samples" / "invoices_public_sample.csv"
    )
)
pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="public sample not available")


def run(*args: str) -> str:
    out = StringIO()
    call_command("model", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture(scope="module")
def evaluation() -> dict:
    return json.loads(run("evaluate", "--csv", str(SAMPLE), "--json"))


def test_evaluate_beats_the_majority_baseline(evaluation: dict) -> None:
    assert evaluation["invoices"] == 8753
    assert evaluation["as_of"] == "2017-11-08"
    assert evaluation["majority_class"] == "late"
    assert evaluation["accuracy"] > evaluation["baseline_accuracy"]
    assert evaluation["brier"] < evaluation["baseline_brier"]
    assert evaluation["auc"] > 0.75
    # time-ordered: the test part is the latest 30 % of the invoices with a known outcome
    assert evaluation["n_test"] == 2626
    assert evaluation["split_date"] == "2016-02-10"


def test_evaluate_prints_a_table() -> None:
    text = run("evaluate", "--csv", str(SAMPLE))
    assert "majority class (late)" in text
    for label in ("AUC", "Brier score", "Accuracy"):
        assert label in text


def test_train_saves_a_model(tmp_path: Path) -> None:
    from mahnwerk.core.prediction import PaymentModel, load_model

    target = tmp_path / "model.joblib"
    data = json.loads(run("train", "--csv", str(SAMPLE), "--out", str(target), "--json"))
    assert data["kind"] == "model"
    assert data["trained_until"] == "2017-11-08"
    assert isinstance(load_model(target), PaymentModel)


def test_explicit_mapping_and_a_small_file(tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    small.write_text(
        "Kunde;Rechnungsdatum;Faellig;Betrag;Bezahlt\n"
        "Meyer GmbH;2026-01-05;2026-02-04;1.234,50;2026-02-10\n"
        "Meyer GmbH;2026-02-05;2026-03-07;99,00;\n",
        encoding="utf-8",
    )
    mapping = [
        "Kunde=customer",
        "Rechnungsdatum=invoice_date",
        "Faellig=due_date",
        "Betrag=amount",
        "Bezahlt=paid_date",
    ]
    data = json.loads(
        run("train", "--csv", str(small), "--map", *mapping, "--out", str(tmp_path / "m"), "--json")
    )
    assert data["kind"] == "fallback"
    assert "Too little payment history" in data["notice"]
    with pytest.raises(CommandError, match="Too little payment history"):
        run("evaluate", "--csv", str(small), "--map", *mapping)


def test_errors_name_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "customer,invoice_date,due_date,amount,paid_date\nA,2026-01-05,2026-02-04,12.5,\nB,2026-13-01,2026-02-04,x,\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as info:
        run("evaluate", "--csv", str(bad))
    assert "line 3, column invoice_date" in str(info.value)
    assert "line 3, column amount" in str(info.value)
    with pytest.raises(CommandError, match="bad mapping"):
        run("evaluate", "--csv", str(bad), "--map", "customer=nonsense")


def test_kpi_from_the_sample_matches_a_direct_reading_of_the_file() -> None:
    import csv
    from datetime import datetime, timedelta

    out = StringIO()
    call_command(
        "kpi",
        "--csv",
        str(SAMPLE),
        "--from",
        "2016-01-01",
        "--to",
        "2016-12-31",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    report = json.loads(out.getvalue())
    # The same figures straight from the file: an invoice is open at the end of 2016-12-31 unless it was
    # issued later, or paid in full (Outstanding 0) by then; a partial payment counts once it is dated.
    start, end = datetime(2016, 1, 1).date(), datetime(2016, 12, 31).date()
    sales = receivables = 0
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            issued = datetime.strptime(row["Invoice_Date"], "%d-%b-%y").date()
            amount = round(float(row["Amount"]) * 100)
            if start <= issued <= end:
                sales += amount
            if issued > end:
                continue
            paid_on = issued + timedelta(days=int(row["Number_of_Days_until_Payment"]))
            if float(row["Outstanding"]) == 0:
                receivables += amount if paid_on > end else 0
            else:
                receivables += amount - (round(float(row["Settled"]) * 100) if paid_on <= end else 0)
    assert report["credit_sales_minor"] == sales
    assert report["receivables_minor"] == receivables
    assert report["dso"] == pytest.approx(receivables / sales * 366)  # 2016 is a leap year
    assert sum(b["amount_minor"] for b in report["aging"]) == receivables


def test_the_sample_reads_as_documented() -> None:
    from datetime import date

    from mahnwerk.core.history_csv import read_history

    history = read_history(SAMPLE)
    first, second = history.records[0], history.records[1]
    # "Milk x 7 ltrs, David Taylor, 26-Apr-11, due 26-May-11, 672.78, paid in full after 13 days"
    assert (first.debtor_id, first.issue_date, first.due_date) == (
        "David Taylor",
        date(2011, 4, 26),
        date(2011, 5, 26),
    )
    assert first.amount_minor == 67278 and first.paid_date == date(2011, 5, 9)
    # "Stephen Wright MD, 24-May-11, 5101.98, 38 days" -> 2011-07-01, 8 days after the due date 23-Jun-11
    assert second.paid_date == date(2011, 7, 1) and second.days_late == 8
    # "Christian Ellis, 12-Oct-11, 605.51, settled 501.98, outstanding 103.53, 6 days":
    # partly paid on 18-Oct-11
    partly = history.records[5]
    assert partly.paid_date is None
    assert partly.partial_payments == ((date(2011, 10, 18), 50198),)
    assert partly.open_at(history.as_of) == 10353
    assert sum(r.paid_date is None for r in history.records) == 634
