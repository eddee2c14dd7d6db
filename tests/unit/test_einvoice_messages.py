"""What the e-invoice reader says is an English template marked for translation with its parameters apart
(file names, XPaths, business terms, values), rendered in the reader's language by the caller
(``render(gettext)``); ``str()`` stays the English text. The catalogues have no entries for these templates
yet, so a fake ``gettext`` stands in for the German one here."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

from mahnwerk.core import einvoice
from mahnwerk.core.einvoice import (
    NO_DUE_DATE,
    EInvoiceError,
    EInvoiceMessage,
    due_date_from_terms,
    parse_einvoice,
    read_payment_terms,
)
from tests.unit.test_einvoice import CII_TERMS, cii_xml, ubl_xml

DATA = Path(__file__).parents[1] / "data" / "einvoice"

GERMAN = {
    "the cash-discount term {term!r} cannot be read: {reason}": (
        "die Skonto-Bedingung {term!r} ist nicht lesbar: {reason}"
    ),
    "TAGE={value} is not a number of days": "TAGE={value} ist keine Zahl von Tagen",
    "PROZENT={value} is not a percentage of at least 0 and below 100": (
        "PROZENT={value} ist kein Prozentsatz von mindestens 0 und unter 100"
    ),
    "the payment terms (BT-20) name {terms_date}, the due date (BT-9) is {due_date}: BT-9 is used": (
        "die Zahlungsbedingungen (BT-20) nennen den {terms_date}, das Fälligkeitsdatum (BT-9) ist der "
        "{due_date}: BT-9 gilt"
    ),
    NO_DUE_DATE: "kein Fälligkeitsdatum (BT-9), und die Zahlungsbedingungen (BT-20) nennen keins: {reason}",
    "the payment terms name different days ({dates})": "die Zahlungsbedingungen nennen verschiedene Tage ({dates})",
    "line {line}, column {column}": "Zeile {line}, Spalte {column}",
    "not well-formed XML: {error}": "kein wohlgeformtes XML: {error}",
    "the file": "die Datei",
    "the root element {element!r} (namespace {namespace!r}) is no UBL Invoice/CreditNote or CII "
    "CrossIndustryInvoice": "das Wurzelelement {element!r} (Namensraum {namespace!r}) ist keine E-Rechnung",
    "none": "keiner",
}


def german(message: str) -> str:
    return GERMAN.get(message, f"[DE:{message}]")


def marked(message: str) -> str:
    """Every text that passes through gettext, in brackets."""
    return f"[{message}]"


def test_an_error_in_english_and_in_german_the_xpath_and_the_term_as_written() -> None:
    with pytest.raises(EInvoiceError) as failed:
        parse_einvoice(
            cii_xml("#SKONTO#TAGE=7#PROZENT=2.00#\n#SKONTO#TAGE=vierzehn#PROZENT=1.00#\n"), "bad.xml"
        )
    error = failed.value
    assert error.message == "the cash-discount term {term!r} cannot be read: {reason}"
    assert error.params == {
        "term": "#SKONTO#TAGE=vierzehn#PROZENT=1.00#",
        "reason": EInvoiceMessage("TAGE={value} is not a number of days", value="vierzehn"),
    }
    assert (
        str(error)
        == error.render()
        == (
            f"bad.xml: BT-20 ({CII_TERMS}): the cash-discount term '#SKONTO#TAGE=vierzehn#PROZENT=1.00#' cannot be "
            "read: TAGE=vierzehn is not a number of days"
        )
    )
    assert error.render(german) == (
        f"bad.xml: BT-20 ({CII_TERMS}): die Skonto-Bedingung '#SKONTO#TAGE=vierzehn#PROZENT=1.00#' ist nicht "
        "lesbar: TAGE=vierzehn ist keine Zahl von Tagen"
    )


def test_several_unreadable_terms_are_each_translated() -> None:
    with pytest.raises(EInvoiceError) as failed:
        parse_einvoice(ubl_xml("#SKONTO#TAGE=x#PROZENT=2.00#\n#SKONTO#TAGE=7#PROZENT=200#\n"), "two.xml")
    assert str(failed.value.reason) == (
        "the cash-discount term '#SKONTO#TAGE=x#PROZENT=2.00#' cannot be read: TAGE=x is not a number of days; "
        "the cash-discount term '#SKONTO#TAGE=7#PROZENT=200#' cannot be read: PROZENT=200 is not a percentage "
        "of at least 0 and below 100"
    )
    assert failed.value.reason.render(german) == (
        "die Skonto-Bedingung '#SKONTO#TAGE=x#PROZENT=2.00#' ist nicht lesbar: TAGE=x ist keine Zahl von Tagen; "
        "die Skonto-Bedingung '#SKONTO#TAGE=7#PROZENT=200#' ist nicht lesbar: PROZENT=200 ist kein Prozentsatz "
        "von mindestens 0 und unter 100"
    )


def test_the_place_in_the_file_and_the_default_file_name_are_translated_too() -> None:
    broken = (DATA / "handmade_malformed_cii.xml").read_bytes()
    with pytest.raises(EInvoiceError) as failed:
        parse_einvoice(broken)
    assert str(failed.value).startswith("the file: line 115, column 9: not well-formed XML: ")
    assert failed.value.render(german).startswith("die Datei: Zeile 115, Spalte 9: kein wohlgeformtes XML: ")
    with pytest.raises(EInvoiceError) as failed:
        parse_einvoice(b"<Invoice/>", "x.xml")
    assert str(failed.value) == (
        "x.xml: /*: the root element 'Invoice' (namespace 'none') is no UBL Invoice/CreditNote or CII "
        "CrossIndustryInvoice"
    )
    assert failed.value.render(german) == (
        "x.xml: /*: das Wurzelelement 'Invoice' (Namensraum 'keiner') ist keine E-Rechnung"
    )


def test_a_warning_in_english_and_in_german() -> None:
    doc = parse_einvoice(cii_xml("#SKONTO#TAGE=30#PROZENT=0.00#\n", due="20261120"), "due.xml")
    [warning] = doc.warnings
    assert warning.params == {"terms_date": "2026-12-02", "due_date": "2026-11-20"}
    assert (
        str(warning)
        == "the payment terms (BT-20) name 2026-12-02, the due date (BT-9) is 2026-11-20: BT-9 is used"
    )
    assert warning.render(german) == (
        "die Zahlungsbedingungen (BT-20) nennen den 2026-12-02, das Fälligkeitsdatum (BT-9) ist der 2026-11-20: "
        "BT-9 gilt"
    )


def test_why_the_terms_give_no_due_date_is_translated_inside_the_warning() -> None:
    doc = parse_einvoice(
        ubl_xml("#SKONTO#TAGE=30#PROZENT=0.00#\n#SKONTO#TAGE=45#PROZENT=0.00#\n"), "which.xml"
    )
    [warning] = doc.warnings
    assert warning.message == NO_DUE_DATE
    assert warning.render(german) == (
        "kein Fälligkeitsdatum (BT-9), und die Zahlungsbedingungen (BT-20) nennen keins: die "
        "Zahlungsbedingungen nennen verschiedene Tage (2026-12-02, 2026-12-17)"
    )
    assert warning.render(marked) == (
        "[no due date (BT-9), and the payment terms (BT-20) give none: [the payment terms name different days "
        "(2026-12-02, 2026-12-17)]]"
    )
    _due, why = due_date_from_terms("Zahlbar sofort", date(2026, 11, 2))
    assert (str(why), why.render(marked)) == (
        "the payment terms name 2026-11-02",
        "[the payment terms name 2026-11-02]",
    )


def test_payment_term_problems_pass_through_gettext_whole() -> None:
    [problem] = read_payment_terms("#VERZUG#TAGE=14#").problems
    assert problem.params["reason"] == EInvoiceMessage("{part}= is missing", part="PROZENT")
    assert (
        problem.render(marked)
        == "[the late-payment term '#VERZUG#TAGE=14#' cannot be read: [PROZENT= is missing]]"
    )


def _literal_noop(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "gettext_noop"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def test_every_message_is_a_literal_marked_for_the_catalogues() -> None:
    """``makemessages`` finds a template only as ``gettext_noop("literal")`` (one of xgettext's keywords).
    A message is made by ``EInvoiceError(source, element, message, ...)``, ``EInvoiceMessage(message, ...)``
    or ``_Reader.fail(bt, path, message, ...)``: its message must be such a call, a constant that is one, a
    value of a table of them, or the message of another (already checked) one."""
    tree = ast.parse(Path(einvoice.__file__).read_text(encoding="utf-8"))
    constants: set[str] = set()
    tables: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
            if _literal_noop(value):
                constants.add(name)
            elif isinstance(value, ast.Dict) and value.values and all(_literal_noop(v) for v in value.values):
                tables.add(name)
    assert {"NO_DUE_DATE", "THE_FILE"} <= constants
    assert {"TYPE_NAMES", "_MISSING", "_UNREADABLE_TERM", "_UNKNOWN_PART"} <= tables
    makers = {"EInvoiceError": 2, "EInvoiceMessage": 0, "fail": 2}
    checked = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name == "gettext_noop":
            assert _literal_noop(node), node.lineno
        elif name in makers and len(node.args) > makers[name]:
            message = node.args[makers[name]]
            if isinstance(message, ast.Name) and message.id == "_SEVERAL":
                continue  # "{problem}; {more}": nothing to translate
            assert (
                _literal_noop(message)
                or (isinstance(message, ast.Name) and message.id in constants | {"message"})
                or (isinstance(message, ast.Subscript) and getattr(message.value, "id", "") in tables)
                or (isinstance(message, ast.Attribute) and message.attr == "message")
            ), node.lineno
            checked += 1
    assert checked > 30
