"""Bank statement parsing on real files (see tests/data/bank/SOURCES.md) and hand-made tricky cases.

The expected figures were read off the files by hand.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mahnwerk.core.bank_statements import (
    AccountId,
    ParseResult,
    StatementFormatError,
    account_id,
    decode_text,
    detect_format,
    parse_86,
    parse_statement,
)

DATA = Path(__file__).parent.parent / "data" / "bank"


def parse(name: str) -> ParseResult:
    return parse_statement((DATA / name).read_bytes(), name)


def test_camt052_008_german_direct_debit() -> None:
    result = parse("hbci4java_de_camt052.001.08_lastschrift.xml")
    assert result.format == "camt.052.001.08"
    assert result.problems == []
    [statement] = result.statements
    assert statement.statement_id == "camt0528_ONLINEBA"
    assert statement.account == AccountId(iban="DE12345678901234567890", currency="EUR")
    [e] = statement.entries
    assert (e.amount_minor, e.currency, e.credit, e.reversal) == (3400, "EUR", False, False)
    assert e.booking_date == e.value_date == date(2023, 11, 10)
    assert e.end_to_end_id == "123456789012"
    assert e.mandate_id == "12345678/001"
    assert e.bank_reference == "2023-11-10-00.06.42.329883"
    # a debit: the counterparty is the creditor
    assert (e.counterparty_name, e.counterparty_iban) == ("Beispiel AG", "DE12345678901234567892")
    assert e.remittance == "Verwendungszweck"
    assert "NDDT+105+9200+992" in e.bank_code and "PMNT/RDDT/ESDD" in e.bank_code
    assert e.additional_info == "FOLGELASTSCHRIFT"


def test_camt053_004_iso_business_example() -> None:
    result = parse("iso20022_business_sample_camt053.001.04.xml")
    assert result.format == "camt.053.001.04"
    [statement] = result.statements
    assert statement.account.iban == "" and statement.account.number == "50000000054910000003"
    assert statement.from_date == statement.to_date == date(2010, 10, 18)
    first, batch, fx = statement.entries
    assert (first.amount_minor, first.currency, first.credit) == (10567850, "SEK", True)
    assert first.booking_date == date(2010, 10, 18)  # BookgDt/DtTm
    assert first.end_to_end_id == "MUELL/FINP/RA12345"
    assert first.counterparty_name == "MUELLER"
    assert first.bank_reference == "AAAASESS-FP-CN_98765/01"
    # a batch without transaction details stays one entry of the booked amount
    assert (batch.amount_minor, batch.credit, batch.position) == (20000000, False, "2")
    # the FX credit is booked in the account's currency, not in the EUR of the transaction
    assert (fx.amount_minor, fx.currency, fx.credit) == (3000000, "SEK", True)
    assert fx.end_to_end_id == "AAAASS1085FINPSS"
    assert len({e.key for e in statement.entries}) == 3


def test_camt053_002_batch_reversal_is_split_per_transaction() -> None:
    result = parse("oca_abnamro_camt053.001.02.xml")
    assert result.format == "camt.053.001.02"
    [statement] = result.statements
    assert statement.account.iban == "NL77ABNA0574908765"
    entries = statement.entries
    assert [e.position for e in entries] == ["1", "2.1", "2.2", "3"]
    assert [e.amount_minor for e in entries] == [75425, 56405, 10000, 140531]
    assert [e.credit for e in entries] == [False, False, False, True]
    assert [e.reversal for e in entries] == [False, True, True, False]
    returned = entries[1]
    assert returned.return_reason == "AC06"
    assert returned.end_to_end_id == "TESTBANK/NL/20141229/01206408"
    assert returned.mandate_id == "NL22ZZZ524885430000-C0125.1"
    assert returned.remittance == "Direct Debit S14 0410"
    # the returned direct debit names only the customer (as Cdtr): taken as the counterparty
    assert (returned.counterparty_name, returned.counterparty_iban) == ("Test Customer", "NL46ABNA0499998748")
    credit = entries[3]
    assert (credit.counterparty_name, credit.counterparty_iban) == ("3rd party Media", "NL69ABNA0522123643")
    assert credit.counterparty_bic == "ABNANL2A"
    assert credit.end_to_end_id == "115"
    assert credit.additional_info == "#RD PARTY MEDIA CUSNO 90782 4210773"
    assert len({e.key for e in entries}) == 4


def test_mt940_german_sepa_betterplace() -> None:
    result = parse("betterplace_de_sepa_mt940.sta")
    assert result.format == "mt940" and result.problems == []
    assert len(result.statements) == 26
    entries = result.entries
    assert len(entries) == 97
    # 41 ":61:...C", 2 "RC" (a reversed credit is a debit booking) and 54 "D"
    assert sum(e.credit for e in entries) == 41
    assert sum(not e.credit for e in entries) == 56
    assert sum(e.reversal and not e.credit for e in entries) == 2
    first = result.statements[0]
    assert first.statement_id == "T089413946000001/00004/00001"
    assert first.account == AccountId(bank_code="50880050", number="0194774600888", currency="EUR")
    assert [e.amount_minor for e in first.entries] == [
        30000,
        33533,
        1500000,
        6629508,
        91531155,
        20488,
        99994695,
    ]
    retoure = first.entries[0]
    assert retoure.credit and retoure.reversal  # a SEPA transfer of ours that came back (GVC 159)
    assert retoure.return_reason == "914"
    assert retoure.bank_reference == "0724710345313905"
    storno = first.entries[5]
    assert (storno.credit, storno.reversal, storno.additional_info) == (False, True, "SAMMLER/STORNO")
    gutschrift = result.statements[1].entries[0]
    assert gutschrift.amount_minor == 1500005 and gutschrift.credit and not gutschrift.reversal
    assert gutschrift.end_to_end_id == "EndToEndIdTFNR2000400001"
    assert gutschrift.counterparty_iban == "DE42100100100043921105"
    assert gutschrift.counterparty_bic == "PBNKDEFF100"
    assert gutschrift.counterparty_name == "Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx"
    assert gutschrift.remittance.startswith("TO 13 TFNr 20004 Eingangskanal Mint")
    assert gutschrift.bank_code == "166 NTRF"
    assert len({e.key for e in entries}) == 97


def test_mt940_kontist_iban_account_and_invoice_numbers() -> None:
    result = parse("phpmt940_kontist.sta")
    [statement] = result.statements
    assert statement.account.iban == "DE85110101002482488293"
    entries = statement.entries
    assert [e.amount_minor for e in entries] == [5000, 12000, 9595, 238, 25000, 11781]
    assert [e.credit for e in entries] == [True, True, True, False, True, False]
    assert entries[0].counterparty_iban == "DE59320500000001908722"
    assert entries[0].counterparty_name == "CHRISTIAN BENDT"
    assert entries[1].counterparty_name == "Lucien Schünke"  # raw UTF-8
    assert entries[2].remittance == "Rechnung-Nr.: INV-00002 v. 13.02.21"
    assert entries[4].remittance == "INV-00003"
    assert entries[4].counterparty_iban == ""  # 23 characters: not an IBAN
    assert (
        entries[2].counterparty_iban == "DE32334400000003909884"
    )  # kept as given (check digits do not add up)
    assert entries[4].counterparty_name == "WCM UG HAFTUNGSBESCHRÄNKT"
    assert entries[2].booking_date == entries[2].value_date == date(2021, 2, 17)
    assert statement.from_date == date(2021, 2, 15) and statement.to_date == date(2021, 2, 17)


def test_mt940_windows_1252_and_rc_reversal() -> None:
    raw = (DATA / "handmade_mt940_cp1252.sta").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    result = parse_statement(raw)
    payment, returned = result.entries
    assert payment.remittance == "Danke für die Lieferung"
    assert payment.counterparty_name == "DM PUTZ + STUCK UG HAFTUNGSBESCHRÄNKT"
    assert (payment.credit, payment.reversal) == (True, False)
    assert (returned.credit, returned.reversal, returned.return_reason) == (False, True, "MD06")
    assert returned.amount_minor == 7500


def test_camt053_008_handmade() -> None:
    result = parse("handmade_camt053.001.08.xml")
    assert result.format == "camt.053.001.08"
    entries = result.entries
    assert [e.position for e in entries] == ["1", "2", "3", "4", "5", "6", "7", "8.1", "8.2"]
    assert [e.amount_minor for e in entries] == [15000, 20000, 77700, 12000, 6000, 1250, 50000, 4000, 2500]
    assert entries[0].end_to_end_id == ""  # NOTPROVIDED
    assert entries[1].counterparty_name == "Jānis Bērziņš"
    assert entries[2].creditor_reference == "RF18 5390 0754 7034"
    assert entries[5].fee and not entries[5].credit
    assert entries[8].end_to_end_id == "INV-0600"


def test_camt054_notification_of_a_return() -> None:
    [e] = parse("handmade_camt054.001.08.xml").entries
    assert (e.credit, e.reversal, e.return_reason, e.end_to_end_id) == (False, True, "MD06", "E2E-BERZINS-17")
    assert e.counterparty_iban == "LV80BANK0000435195001"  # the payer whose money went back


def test_malformed_entry_is_reported_and_the_rest_read() -> None:
    result = parse("handmade_camt053.001.02_malformed.xml")
    assert [e.position for e in result.entries] == ["1", "3"]
    [problem] = result.problems
    assert (problem.statement, problem.entry) == ("MW-STMT-2026-03-11", "2")
    assert "CdtDbtInd" in str(problem)
    assert "statement MW-STMT-2026-03-11, entry 2" in str(problem)


def test_malformed_mt940_line_is_reported() -> None:
    text = (
        ":20:X\n:25:DE85110101002482488293\n:28C:1/1\n:60F:C210131EUR0,15\n"
        ":61:2102150215C50,00NTRFNONREF\n:86:166?20RE 1452\n"
        ":61:21021X0215C5,00NTRFNONREF\n:86:166?20kaputt\n"
        ":61:2102160216C7,50NTRFNONREF\n:62F:C210218EUR57,65\n-\n"
    )
    result = parse_statement(text.encode())
    assert [e.amount_minor for e in result.entries] == [5000, 750]
    assert [(p.statement, p.entry) for p in result.problems] == [("X/1/1", "2")]


def test_batch_whose_transactions_do_not_add_up_is_an_error() -> None:
    xml = (
        (DATA / "handmade_camt053.001.08.xml")
        .read_text(encoding="utf-8")
        .replace('<Amt Ccy="EUR">25.00</Amt>', '<Amt Ccy="EUR">24.00</Amt>')
    )
    result = parse_statement(xml.encode())
    assert len(result.entries) == 7
    [problem] = result.problems
    assert problem.entry == "8" and "add up to 6400" in str(problem)


def test_structured_86_with_sepa_keys() -> None:
    d = parse_86(
        "166?00SEPA-GUTSCHRIFT?109310?20EREF+RE-2026-0145?212?22KREF+K-1?23MREF+M-7?24SVWZ+Rechnung RE-2026-0\n"
        "1452?25ABWA+Mueller Holding?30COBADEFFXXX?31DE89370400440532013000?32Bäckerei Schulz?33 GmbH?34992"
    )
    assert d.gvc == "166" and d.posting_text == "SEPA-GUTSCHRIFT"
    assert d.sepa["EREF"] == "RE-2026-01452"
    assert d.sepa["KREF"] == "K-1" and d.sepa["MREF"] == "M-7"
    assert d.purpose == "Rechnung RE-2026-01452"
    assert d.sepa["ABWA"] == "Mueller Holding"
    assert (d.bic, d.account, d.name, d.return_code) == (
        "COBADEFFXXX",
        "DE89370400440532013000",
        "Bäckerei Schulz GmbH",
        "992",
    )


def test_unstructured_86_is_the_purpose() -> None:
    assert parse_86("Rechnung 1452\nKunde 77").purpose == "Rechnung 1452 Kunde 77"


def test_accounts() -> None:
    assert account_id("50880050/0194774600888") == AccountId(bank_code="50880050", number="0194774600888")
    assert account_id("DE89370400440532013000EUR") == AccountId(iban="DE89370400440532013000", currency="EUR")
    # a German IBAN is its BLZ and account number too
    assert "37040044/532013000" in account_id("DE89 3704 0044 0532 0130 00").match_keys()


def test_format_detection_and_decoding() -> None:
    assert detect_format((DATA / "oca_abnamro_camt053.001.02.xml").read_bytes()) == "camt.053.001.02"
    assert detect_format((DATA / "phpmt940_kontist.sta").read_bytes()) == "mt940"
    with pytest.raises(StatementFormatError):
        detect_format(b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>")
    with pytest.raises(StatementFormatError):
        detect_format(b"value_date,amount\n2026-01-01,10.00\n")
    assert decode_text("Schünke".encode("cp1252")) == "Schünke"
    assert decode_text("\ufeffRēķins".encode()) == "Rēķins"


def test_same_file_gives_the_same_keys() -> None:
    a = [e.key for e in parse("betterplace_de_sepa_mt940.sta").entries]
    b = [e.key for e in parse("betterplace_de_sepa_mt940.sta").entries]
    assert a == b
