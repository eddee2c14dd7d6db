"""Checking user-written message templates: placeholders, filters and tags, without a database."""

from __future__ import annotations

from django.template import Context

from mahnwerk.comms.placeholders import (
    ALLOWED_FILTERS,
    ALLOWED_PLACEHOLDERS,
    ENGINE,
    check_template,
    placeholder_names,
)
from mahnwerk.comms.templates_store import sms_text
from mahnwerk.core.sms import analyse_sms


def problems(source: str) -> list[str]:
    return [str(p) for p in check_template(source)[1]]


def test_the_documented_placeholders_are_allowed_and_described() -> None:
    for name in (
        "company.name",
        "debtor.name",
        "debtor.number",
        "numbers",
        "items_table",
        "total",
        "deadline",
        "due",
        "date",
        "bank_block",
        "reference",
        "signature",
        "interest_total",
        "fees_total",
        "portal_link",
        "opt_out_line",
        "objection_notice",
        "qr_note",
    ):
        assert name in ALLOWED_PLACEHOLDERS and str(ALLOWED_PLACEHOLDERS[name]).strip()


def test_a_template_with_known_placeholders_filters_and_conditions_passes() -> None:
    source = (
        "Guten Tag {{ debtor.name|default:company.name }},\n"
        "{% if deadline %}bitte bis zum {{ deadline }}{% else %}umgehend{% endif %} {{ total|upper }}\n"
        "{# a comment #}{% comment %}{{ anything }}{% endcomment %}{{ items_table }}"
    )
    found, errors = check_template(source)
    assert errors == []
    assert [p.path for p in found] == [
        "debtor.name",
        "company.name",
        "deadline",
        "deadline",
        "total",
        "items_table",
    ]
    assert placeholder_names(source) == ["debtor.name", "company.name", "deadline", "total", "items_table"]


def test_an_unknown_placeholder_is_named_with_its_line() -> None:
    assert problems("Guten Tag,\n\nIhre IBAN: {{ debtor.iban }}") == [
        "body, line 3: unknown placeholder {{ debtor.iban }}"
    ]
    assert problems("{{ amount }}") == ["body, line 1: unknown placeholder {{ amount }}"]


def test_lookups_beyond_the_list_are_refused_even_on_known_objects() -> None:
    # A method like delete() must never be reachable from a template, nor the company's other fields.
    assert problems("{{ company.delete }}") == ["body, line 1: unknown placeholder {{ company.delete }}"]
    assert problems("{{ company }}") == ["body, line 1: unknown placeholder {{ company }}"]
    assert problems("{{ debtor.company.iban }}") == [
        "body, line 1: unknown placeholder {{ debtor.company.iban }}"
    ]


def test_variables_in_filter_arguments_and_conditions_are_checked() -> None:
    assert problems("{{ total|default:secret }}") == ["body, line 1: unknown placeholder {{ secret }}"]
    assert problems('x\n{% if debtor.iban == "LV80BANK0000435195001" %}y{% endif %}') == [
        "body, line 2: unknown placeholder {{ debtor.iban }}"
    ]
    # The kind of customer may be asked for: the greeting depends on it.
    assert problems('x\n{% if debtor.kind == "consumer" %}y{% else %}z{% endif %}') == []


def test_filters_outside_the_list_are_refused() -> None:
    assert "safe" not in ALLOWED_FILTERS
    assert problems("{{ debtor.name|safe }}") == [
        "body, line 1: the filter |safe is not allowed (in {{ debtor.name }})"
    ]
    assert problems('{{ date|date:"Y" }}') == [
        "body, line 1: the filter |date is not allowed (in {{ date }})"
    ]


def test_load_include_extends_and_other_tags_are_refused_with_their_line() -> None:
    assert problems("{% load static %}{{ total }}") == ["body, line 1: the tag {% load %} is not allowed"]
    assert problems('a\nb\n{% include "comms/letter.html" %}') == [
        "body, line 3: the tag {% include %} is not allowed"
    ]
    assert problems('{% extends "base.html" %}') == ["body, line 1: the tag {% extends %} is not allowed"]
    assert problems("{% debug %}") == ["body, line 1: the tag {% debug %} is not allowed"]
    assert problems("{% for x in numbers %}{{ x }}{% endfor %}") == [
        "body, line 1: the tag {% for %} is not allowed",
        "body, line 1: the tag {% endfor %} is not allowed",
    ]


def test_a_syntax_error_is_reported_with_its_line() -> None:
    errors = check_template("Hallo\n{% if deadline %}bis {{ deadline }}", part="subject")[1]
    assert len(errors) == 1
    assert errors[0].part == "subject" and errors[0].line == 2 and "if" in errors[0].message


def test_templates_render_as_plain_text_without_escaping() -> None:
    text = ENGINE.from_string("{{ debtor.name }}: {{ total }}").render(
        Context({"debtor": {"name": "Müller & Söhne <Bau>"}, "total": "1.234,56 €"}, autoescape=False)
    )
    assert text == "Müller & Söhne <Bau>: 1.234,56 €"


def test_sms_text_keeps_a_german_sms_in_the_gsm_alphabet() -> None:
    # format_money writes "1.234,56\xa0€"; a no-break space is not in GSM 03.38 and would force UCS-2,
    # halving the room (160 -> 70 characters per segment).
    raw = "Acme: Rechnung RE-1 – offen 1.234,56\xa0€,\n  bitte „bald“ zahlen"
    assert analyse_sms(raw).encoding == "UCS-2"
    text = sms_text(raw)
    assert text == 'Acme: Rechnung RE-1 - offen 1.234,56 €, bitte "bald" zahlen'
    info = analyse_sms(text)
    # "Acme: "(6) "Rechnung "(9) "RE-1 "(5) "- "(2) "offen "(6) "1.234,56 "(9) "€, "(3) "bitte "(6)
    # '"bald" '(7) "zahlen"(6) = 59 characters; the euro sign is in the extension table (2 septets): 60.
    assert (info.encoding, info.units, info.segments) == ("GSM-7", 60, 1)
