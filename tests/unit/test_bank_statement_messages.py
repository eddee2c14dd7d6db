"""What the bank-statement parsers report is an English template marked for translation with its parameters
apart, rendered in the reader's language by the caller (``Problem.render(gettext)``); ``str()`` stays the
English text. The catalogues have no entries for these templates yet, so a fake ``gettext`` stands in for
the German one here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mahnwerk.core import bank_statements
from mahnwerk.core.bank_statements import Problem, StatementError, StatementFormatError, parse_statement

DATA = Path(__file__).parent.parent / "data" / "bank"

GERMAN = {
    "statement {statement}, entry {entry}: {message}": "Auszug {statement}, Buchung {entry}: {message}",
    "statement {statement}: {message}": "Auszug {statement}: {message}",
    "credit/debit indicator (CdtDbtInd) is 'missing'": "Soll/Haben-Kennzeichen (CdtDbtInd) fehlt",
    "the balances do not add up: opening balance ({opening_name}) {opening} + credits {credits} - debits "
    "{debits} = {expected}, but the closing balance ({closing_name}) is {closing}: a booking is missing or "
    "damaged": "DE-SALDEN {opening_name}={opening} +{credits} -{debits} ={expected} {closing_name}={closing}",
    "the balance {code} is not readable: {reason}": "der Saldo {code} ist nicht lesbar: {reason}",
    "amount {amount!r}: {reason}": "Betrag {amount!r}: {reason}",
    "{value} has more decimal places than {currency} allows ({digits})": (
        "{value} hat mehr Nachkommastellen, als {currency} erlaubt ({digits})"
    ),
    "{file} is no well-formed XML: {error}": "{file} ist kein wohlgeformtes XML: {error}",
    "the file": "die Datei",
}


def german(message: str) -> str:
    return GERMAN.get(message, f"[DE:{message}]")


def marked(message: str) -> str:
    """Every text that passes through gettext, in brackets."""
    return f"[{message}]"


MT940 = (
    ":20:X\n:25:DE85110101002482488293\n:28C:1/1\n:60F:C210131EUR{opening}\n"
    ":61:2102150215C5,00NTRFNONREF\n:86:166?20RE 1452\n:62F:C210218EUR{closing}\n-\n"
)


def mt940(opening: str, closing: str) -> bytes:
    return MT940.format(opening=opening, closing=closing).encode()


def test_an_entry_problem_in_english_and_in_german() -> None:
    result = parse_statement((DATA / "handmade_camt053.001.02_malformed.xml").read_bytes())
    [problem] = result.problems
    assert problem.message == "credit/debit indicator (CdtDbtInd) is 'missing'"
    assert (
        str(problem)
        == problem.render()
        == ("statement MW-STMT-2026-03-11, entry 2: credit/debit indicator (CdtDbtInd) is 'missing'")
    )
    assert (
        problem.render(german)
        == "Auszug MW-STMT-2026-03-11, Buchung 2: Soll/Haben-Kennzeichen (CdtDbtInd) fehlt"
    )


def test_balances_that_do_not_add_up_keep_their_figures_as_parameters() -> None:
    [problem] = parse_statement(mt940("10,00", "15,01")).refusals
    assert (problem.statement, problem.entry) == ("X/1/1", "")
    assert problem.params == {
        "opening_name": ":60F:",
        "opening": "€10.00",
        "credits": "€5.00",
        "debits": "€0.00",
        "expected": "€15.00",
        "closing_name": ":62F:",
        "closing": "€15.01",
    }
    assert str(problem) == (
        "statement X/1/1: the balances do not add up: opening balance (:60F:) €10.00 + credits €5.00 - debits "
        "€0.00 = €15.00, but the closing balance (:62F:) is €15.01: a booking is missing or damaged"
    )
    assert problem.render(german) == "Auszug X/1/1: DE-SALDEN :60F:=€10.00 +€5.00 -€0.00 =€15.00 :62F:=€15.01"


def test_a_reason_inside_a_message_is_translated_with_it() -> None:
    [problem] = parse_statement(mt940("10,001", "15,00")).refusals
    assert str(problem) == (
        "statement X/1/1: the balance :60F:C210131EUR10,001 is not readable: "
        "amount '10,001': 10.001 has more decimal places than EUR allows (2)"
    )
    assert problem.render(german) == (
        "Auszug X/1/1: der Saldo :60F:C210131EUR10,001 ist nicht lesbar: "
        "Betrag '10,001': 10.001 hat mehr Nachkommastellen, als EUR erlaubt (2)"
    )
    assert problem.render(marked) == (
        "[statement X/1/1: [the balance :60F:C210131EUR10,001 is not readable: "
        "[amount '10,001': [10.001 has more decimal places than EUR allows (2)]]]]"
    )


def test_a_file_that_is_no_statement() -> None:
    broken = b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
    with pytest.raises(StatementFormatError) as caught:
        parse_statement(broken)
    error = caught.value
    assert str(error).startswith("the file is no well-formed XML: ")
    assert error.render(german).startswith("die Datei ist kein wohlgeformtes XML: ")
    with pytest.raises(StatementFormatError) as caught:
        parse_statement(broken, "auszug.xml")
    assert caught.value.render(german).startswith("auszug.xml ist kein wohlgeformtes XML: ")
    with pytest.raises(StatementFormatError) as caught:
        parse_statement(b"<Invoice/>")
    assert caught.value.render(marked) == (
        "[an XML file, but not an ISO 20022 camt.052, camt.053 or camt.054 document]"
    )


def test_a_library_error_is_shown_as_it_is() -> None:
    problem = Problem.of("S", "3", KeyError("{status}"))
    assert str(problem) == "statement S, entry 3: '{status}'"
    assert problem.render(marked) == "[statement S, entry 3: '{status}']"
    ours = Problem.of("S", "", StatementError(bank_statements.gettext_noop("the file")))
    assert (ours.message, ours.render(german)) == ("the file", "Auszug S: die Datei")


def test_every_message_is_a_literal_marked_for_the_catalogues() -> None:
    """``makemessages`` finds a template only as ``gettext_noop("literal")`` (one of xgettext's keywords)."""
    tree = ast.parse(Path(bank_statements.__file__).read_text(encoding="utf-8"))
    makers = {"Problem": 2, "StatementError": 0, "StatementFormatError": 0}
    checked = 0
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id == "gettext_noop":
            assert len(node.args) == 1 and isinstance(node.args[0], ast.Constant), node.lineno
            assert isinstance(node.args[0].value, str), node.lineno
        elif node.func.id in makers:
            message = node.args[makers[node.func.id]]
            assert isinstance(message, ast.Call) and isinstance(message.func, ast.Name), node.lineno
            assert message.func.id == "gettext_noop", node.lineno
            checked += 1
    assert checked > 20
