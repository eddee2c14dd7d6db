"""Greetings and letter addresses by language, tone and what is known of the person."""

from __future__ import annotations

import pytest

from mahnwerk.comms.salutation import greeting, recipient_lines
from mahnwerk.ledger.models import Debtor


def debtor(**kw: str) -> Debtor:
    fields = {"name": "Jens Meyer", "kind": "consumer", "salutation": "", "title": "", "family_name": ""}
    return Debtor(**(fields | kw))


@pytest.mark.parametrize(
    ("kw", "language", "tone", "expected"),
    [
        ({"salutation": "mr"}, "de", "formal", "Sehr geehrter Herr Meyer,"),
        (
            {"salutation": "ms", "name": "Anna Schulz", "title": "Dr."},
            "de",
            "firm",
            "Sehr geehrte Frau Dr. Schulz,",
        ),
        ({"salutation": "ms", "name": "Anna Schulz"}, "de", "friendly", "Guten Tag Frau Schulz,"),
        ({}, "de", "formal", "Guten Tag Jens Meyer,"),  # no salutation known: no gender guessed
        (
            {"salutation": "mr", "name": "Hans von der Heide", "family_name": "von der Heide"},
            "de",
            "formal",
            "Sehr geehrter Herr von der Heide,",
        ),
        (
            {"kind": "business", "name": "Hausverwaltung Braun e.K."},
            "de",
            "formal",
            "Sehr geehrte Damen und Herren,",
        ),
        ({"kind": "business", "name": "Hausverwaltung Braun e.K."}, "de", "friendly", "Guten Tag,"),
        (
            {"kind": "business", "name": "Braun e.K.", "contact_person": "Eva Braun", "salutation": "ms"},
            "de",
            "formal",
            "Sehr geehrte Frau Braun,",
        ),
        # Latvian: no declined name is needed
        ({"salutation": "mr", "name": "Jānis Bērziņš"}, "lv", "formal", "Godātais kungs!"),
        ({"salutation": "ms", "name": "Anna Bērziņa"}, "lv", "firm", "Godātā kundze!"),
        ({"name": "Jānis Bērziņš"}, "lv", "friendly", "Labdien, Jānis Bērziņš!"),
        ({"kind": "business", "name": "SIA Koks"}, "lv", "formal", "Labdien!"),
        ({"salutation": "ms", "name": "Anna Schulz", "title": "Dr."}, "en", "formal", "Dear Dr Schulz,"),
        ({"salutation": "mr"}, "en", "friendly", "Hello Mr Meyer,"),
        ({"kind": "business", "name": "Acme Ltd"}, "en", "formal", "Dear Sir or Madam,"),
    ],
)
def test_greeting(kw: dict[str, str], language: str, tone: str, expected: str) -> None:
    assert greeting(debtor(**kw), language, tone) == expected


def test_letter_address() -> None:
    assert recipient_lines(debtor(salutation="mr", title="Dr."), "de") == ("Herrn Dr. Jens Meyer", ())
    assert recipient_lines(debtor(salutation="ms", name="Anna Schulz"), "en") == ("Ms Anna Schulz", ())
    assert recipient_lines(debtor(), "de") == ("Jens Meyer", ())
    company = debtor(kind="business", name="Braun e.K.", contact_person="Eva Braun", salutation="ms")
    assert recipient_lines(company, "de") == ("Braun e.K.", ("z. Hd. Frau Eva Braun",))
    assert recipient_lines(debtor(kind="business", name="SIA Koks"), "lv") == ("SIA Koks", ())


@pytest.mark.parametrize(
    ("sender_country", "sender_language", "debtor_country", "expected"),
    [
        ("DE", "de", "LV", "LETTLAND"),  # from Germany: the country in German, in capitals
        ("LV", "lv", "DE", "VĀCIJA"),  # from Latvia: in Latvian
        ("DE", "en", "FR", "FRANCE"),
        ("DE", "de", "DE", ""),  # within the country: no country line
        ("DE", "de", "", ""),
        ("DE", "de", "QQ", "QQ"),  # a code the name list does not know stays as it is
    ],
)
def test_the_country_line_of_an_address_abroad(
    sender_country: str, sender_language: str, debtor_country: str, expected: str
) -> None:
    from mahnwerk.comms.salutation import country_line
    from mahnwerk.ledger.models import Company

    company = Company(name="Muster GmbH", country=sender_country, default_language=sender_language)
    assert country_line(company, debtor(country=debtor_country)) == expected
