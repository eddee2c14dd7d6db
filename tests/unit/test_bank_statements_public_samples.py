"""Bank statements from more public repositories (tests/data/bank/SOURCES.md) and small reproductions of what
they showed: each test names the rule, the figures were read off the files by hand."""

from __future__ import annotations

from pathlib import Path

from mahnwerk.core.bank_statements import (
    ParseResult,
    parse_statement,
)

DATA = Path(__file__).parent.parent / "data" / "bank"


def parse(name: str) -> ParseResult:
    return parse_statement((DATA / name).read_bytes(), name)


def test_returned_direct_debit_names_the_payer_not_ourselves() -> None:
    """hbci4java's Rücklastschrift: a DBIT with RtrInf (MS03), no RvslInd. The counterparty is the debtor
    whose payment came back (Dbtr), not the creditor named in the original collection (us)."""
    result = parse("hbci4java_ruecklastschrift_camt052.001.02.xml")
    assert result.problems == []
    [e] = result.entries
    assert (e.amount_minor, e.credit, e.reversal, e.return_reason) == (5300, False, True, "MS03")
    assert (e.counterparty_name, e.counterparty_iban, e.counterparty_bic) == (
        "Sven Schuldner",
        "DES1234567890",
        "TESTS1234",
    )
    assert e.ultimate_name == ""
    assert e.mandate_id == "TEST1234"
