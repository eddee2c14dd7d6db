"""Bank statements from more public repositories (tests/data/bank/SOURCES.md) and small reproductions of what
they showed: each test names the rule, the figures were read off the files by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from mahnwerk.core.bank_statements import (
    AccountId,
    ParseResult,
    account_id,
    parse_86,
    parse_statement,
)

DATA = Path(__file__).parent.parent / "data" / "bank"


def parse(name: str) -> ParseResult:
    return parse_statement((DATA / name).read_bytes(), name)


def mt940(*lines: str) -> ParseResult:
    return parse_statement(("\n".join(lines) + "\n").encode(), "test.sta")


# --- :61: ------------------------------------------------------------------------------------------------


def test_asn_bank_reference_longer_than_16_characters_is_read_not_lost() -> None:
    """ASN Bank puts the counterparty's IBAN (18 characters) where SWIFT allows 16: every booking is read,
    and the IBAN is the counterparty's account, not an end-to-end id."""
    result = parse("wolph_asnb_nl_mt940.txt")
    assert result.problems == []
    assert len(result.statements) == 31
    entries = result.entries
    assert len(entries) == 8
    assert sum(e.amount_minor for e in entries if e.credit) == 282890
    assert sum(e.amount_minor for e in entries if not e.credit) == 277196
    first_credit = next(e for e in entries if e.credit)
    assert (first_credit.amount_minor, first_credit.booking_date) == (100000, date(2020, 1, 5))
    assert first_credit.counterparty_iban == "NL56ASNB9999999999"
    assert first_credit.end_to_end_id == ""
    assert "INTERNE OVERBOEKING VIA MOBIEL" in first_credit.remittance


def test_unreadable_statement_line_is_a_problem_with_a_plain_message() -> None:
    result = mt940(
        ":20:X",
        ":25:DE89370400440532013000",
        ":60F:C240101EUR0,00",
        ":61:24010XC12,00NTRFNONREF",
        ":61:240102C13,00NTRFNONREF",
    )
    assert [e.amount_minor for e in result.entries] == [1300]
    [problem] = result.problems
    assert "does not have the MT940 form" in str(problem)
    assert "object at 0x" not in str(problem)


def test_mt942_takes_the_currency_from_the_floor_limit() -> None:
    """An MT942 interim report (mBank) has no opening balance; :34F: names the currency."""
    result = mt940(
        ":20:ST170119CYC/0001",
        ":25:PL29114010810000267002001002",
        ":28C:1/1",
        ":34F:PLN0",
        ":13D:1701191815+0100",
        ":61:1701190119CN0,01NTRFNONREF//MB170119012058",
        "911-TRANSAKCJA IPH",
        ":86:911 TRANSAKCJA COLLECT; TYT.: PRZELEW SRODKOW",
        ":90C:1PLN0,01",
    )
    assert result.problems == []
    [e] = result.entries
    assert (e.amount_minor, e.currency, e.credit, e.bank_reference) == (1, "PLN", True, "MB170119012058")


# --- :86: -------------------------------------------------------------------------------------------------


def test_details_in_several_86_tags_are_all_kept() -> None:
    """The old Rabobank format writes one :86: per line: the invoice number in the second is not lost."""
    result = parse("jejik_rabobank_nl_mt940.sta")
    assert result.problems == []
    assert len(result.entries) == 5
    kpn = result.statements[2].entries[0]
    assert kpn.amount_minor == 4495
    assert kpn.remittance == "BETALINGSKENM.  123456789 FACTUURNUMMER 987654321"
    assert result.statements[0].account == AccountId(number="1291.99.348", currency="EUR")


def test_dutch_structured_86() -> None:
    """``/EREF/.../BENM//NAME/.../REMI/...`` (Rabobank, ING, ABN AMRO): the end-to-end id, name and remittance
    are read from their keys, and the IBAN from the :61: supplementary details."""
    result = parse("jejik_rabobank_iban_nl_mt940.sta")
    assert result.problems == []
    first, second = result.statements[0].entries
    assert first.end_to_end_id == "01-01-2013 12:00 0030000987654321"
    assert first.counterparty_name == "CONTRA ACCOUNT HOLDER"
    assert first.counterparty_iban == "NL70ABNA0987654321"
    assert first.remittance == ""
    assert (second.counterparty_name, second.remittance) == ("JOHN DOE", "Reference 201301234")
    d = parse_86(
        "/TRCD/00100/CNTP/NL46ABNA0499998748/ABNANL2A/J. Jansen/AMSTERDAM/REMI/USTD//Factuur 2024-17/"
        "/EREF/E2E-1/MARF/M-7/RTRN/MD06/"
    )
    assert (d.account, d.bic, d.name) == ("NL46ABNA0499998748", "ABNANL2A", "J. Jansen")
    assert (d.purpose, d.sepa["EREF"], d.sepa["MREF"], d.return_code) == (
        "Factuur 2024-17",
        "E2E-1",
        "M-7",
        "MD06",
    )
    assert parse_86("/REMI/STRD/CUR/RF18539007547034/").creditor_reference == "RF18539007547034"


def test_sepa_key_at_the_start_of_a_subfield_after_a_letter() -> None:
    """``?21SEPA-BASISLASTSCHRIFT?22EREF+ ...?23MREF+ ...``: the keys follow text ending in a letter."""
    result = parse("wolph_de_gv_codes_mt940.sta")
    e = result.entries[0]
    assert e.end_to_end_id == "1234567890123 PAYPAL"
    assert e.mandate_id == "12AB234CD6E7F"
    assert e.counterparty_name == "PayPal (Europe) S.a.r.l. et"


def test_a_line_that_looks_like_a_tag_stays_in_the_86_text() -> None:
    """A wrapped time stamp puts ":26:37" at the start of a line of :86: (no such MT940 tag)."""
    result = mt940(
        ":20:STARTUMSE",
        ":25:12345678/1020304050",
        ":60F:C160229EUR1200,00",
        ":61:1603010301DR6,00N024NONREF",
        ":86:106?00LASTSCHRIFT?20EREF+E2E-9?21SVWZ+Rechnung 4711 vom 12-09-2014T16",
        ":26:37 Fo?22lgenr. 007",
        ":62F:C160301EUR1194,00",
    )
    assert result.problems == []
    [e] = result.entries
    assert e.remittance == "Rechnung 4711 vom 12-09-2014T16:26:37 Folgenr. 007"
    assert parse("wolph_de_wrapped_timestamp_mt940.sta").entries[0].mandate_id == "000000"


def test_structured_86_after_a_space_and_the_iban_from_38() -> None:
    """A Polish bank starts :86: with a space; ?31 holds an old account number and ?38 the IBAN."""
    d = parse_86(
        " 020?00Wyplata?20FAKTURA 333/2?3010600076?310000777777777777?32HUTA SZKLA?38PL081060007600007777777\n"
        "77777"
    )
    assert (d.gvc, d.posting_text, d.purpose, d.name) == ("020", "Wyplata", "FAKTURA 333/2", "HUTA SZKLA")
    assert d.account == "PL08106000760000777777777777"


# --- accounts and camt returns ----------------------------------------------------------------------------


def test_account_with_currency_suffix() -> None:
    assert account_id("UBRTHUHB/123456789150ABCDEF002/HUF") == AccountId(
        bank_code="UBRTHUHB", number="123456789150ABCDEF002"
    )
    assert account_id("1291.99.348EUR", "EUR") == AccountId(number="1291.99.348", currency="EUR")
    assert account_id("ACXXXXXX000000XXXXXX1") == AccountId(number="ACXXXXXX000000XXXXXX1")


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
