"""The shipped message templates read as a careful German, Latvian or English clerk writes them.

Checks on the files themselves (every kind: email, letter, SMS and the agreement messages) and on emails
and letters rendered for a business and for a consumer: a company is never greeted like a person, a consumer
is greeted by name, and a Latvian date (which ends with its own full stop) is never followed by another one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from mahnwerk.comms.rendering import message_item, reminder_context
from mahnwerk.comms.templates_store import SHIPPED_DIR, render_message, shipped_templates
from mahnwerk.ledger.claims import claim_views

FILES = sorted(SHIPPED_DIR.rglob("*.txt"))
DATE_PLACEHOLDERS = ("deadline", "due", "date", "last_day", "missed_due", "promised_date", "confirm_by")
# English words that must not be left in a German or Latvian text (placeholders and tags removed).
ENGLISH_WORDS = ("invoice", "dear", "total", "hello", "regards", "please", "payment", "reminder", "amount")
CONSUMER_CONDITION = 'debtor.kind == "consumer"'
# Greetings that address the customer by name: only for consumers.
NAMED_GREETINGS = (
    "Guten Tag {{ debtor.name }}",
    "Labdien, {{ debtor.name }}",
    "Hello {{ debtor.name }}",
    "Dear {{ debtor.name }}",
)


def language_of(path: Path) -> str:
    return path.name.split(".")[-2]


def without_tags(text: str) -> str:
    """The text as it reads in every branch at once: ``{% ... %}`` tags removed, placeholders kept."""
    return re.sub(r"\{%.*?%\}", "", text)


def prose(text: str) -> str:
    """The words of the text: tags and placeholders removed, the ``Subject:``/``Closing:`` markers too."""
    text = re.sub(r"\{\{.*?\}\}", " ", without_tags(text))
    return re.sub(r"^(Subject|Closing):", "", text, flags=re.MULTILINE)


def name_of(path: Path) -> str:
    return str(path.relative_to(SHIPPED_DIR))


def test_the_shipped_files_are_found() -> None:
    assert len(FILES) > 60
    assert {language_of(p) for p in FILES} == {"de", "lv", "en"}


@pytest.mark.parametrize("path", [p for p in FILES if language_of(p) == "lv"], ids=name_of)
def test_latvian_wording(path: Path) -> None:
    text = without_tags(path.read_text(encoding="utf-8"))
    dates = "|".join(DATE_PLACEHOLDERS)
    # A Latvian date ends with its own full stop ("16.12.2026."): another one (or a colon) right after it
    # reads "16.12.2026.." or "16.12.2026.:".
    assert not re.search(r"\{\{\s*(" + dates + r")\s*\}\}[.:]", text), "a date placeholder followed by '.'"
    assert "Neskatoties" not in text  # a calque: "Lai gan" / "Neraugoties uz"
    assert not re.search(r"pret \{\{\s*debtor\.name", text)  # the name would have to decline
    assert "terminētu piedāvājumu" not in text
    assert not re.search(r"\bposteņ", prose(text))  # a clerk writes "rēķini"
    assert "Cienījam" not in text  # "Cienījamais klient!" assumes a man; "Labdien!" does not


@pytest.mark.parametrize("path", FILES, ids=name_of)
def test_punctuation(path: Path) -> None:
    text = without_tags(path.read_text(encoding="utf-8"))
    assert ".." not in text
    # After "!" (the Latvian greeting "Labdien!") the next sentence starts with a capital letter.
    assert not re.search(r"!\s+[a-zäöüßāčēģīķļņšūž]", text), "lower case after '!'"


@pytest.mark.parametrize("path", FILES, ids=name_of)
def test_greetings_depend_on_the_kind_of_customer(path: Path) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        # A consumer is not "Damen und Herren"; a company is not greeted by its name like a person.
        if "Sehr geehrte Damen und Herren" in line or any(g in line for g in NAMED_GREETINGS):
            assert CONSUMER_CONDITION in line, f"line {number}: greeting without a condition on the kind"


@pytest.mark.parametrize("path", [p for p in FILES if language_of(p) in ("de", "lv")], ids=name_of)
def test_no_english_words_in_german_or_latvian(path: Path) -> None:
    words = set(re.findall(r"[^\W\d_]+", prose(path.read_text(encoding="utf-8")).lower()))
    assert not words & set(ENGLISH_WORDS)


# --- rendered ----------------------------------------------------------------------------------------------

AS_OF = date(2026, 3, 20)
NAMES = {"business": "Hausverwaltung Braun e.K.", "consumer": "Jānis Bērziņš"}


def expected_greeting(language: str, tone: str, kind: str) -> str:
    if kind == "consumer":
        english = "Hello {}," if tone == "friendly" else "Dear {},"
        return {"de": "Guten Tag {},", "lv": "Labdien, {}!", "en": english}[language].format(
            NAMES["consumer"]
        )
    if language == "lv":
        return "Labdien!"
    if tone == "friendly":
        return {"de": "Guten Tag,", "en": "Hello,"}[language]
    return {"de": "Sehr geehrte Damen und Herren,", "en": "Dear Sir or Madam,"}[language]


@pytest.fixture
def debtors(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[tuple[str, str], Any]:
    made = {}
    for language in ("de", "lv", "en"):
        for kind, name in NAMES.items():
            debtor = make_debtor(name=name, language=language, kind=kind)
            make_invoice(debtor, f"RE-{debtor.number}-1", "1200.00", "2026-03-01")
            made[language, kind] = debtor
    return made


def render(company: Any, debtor: Any, kind: str, name: str, tone: str, language: str) -> Any:
    invoices = list(debtor.invoices.order_by("due_date"))
    claims = claim_views(company, invoices, {debtor.pk: debtor.kind}, AS_OF)
    items = [message_item(i, claims.get(i.pk), i.open_minor) for i in invoices]
    context = reminder_context(
        company, debtor, items, AS_OF + timedelta(days=10), AS_OF, language, tone, kind
    )
    return render_message(company, debtor, name, tone, language, kind, context)


@pytest.mark.django_db
def test_every_email_greets_a_business_and_a_consumer_properly(company: Any, debtors: Any) -> None:
    checked = 0
    for template_kind, name, tone, language in shipped_templates():
        if template_kind != "email":
            continue
        for kind in NAMES:
            rendered = render(company, debtors[language, kind], "email", name, tone, language)
            where = f"email/{name}.{tone}.{language} for a {kind}"
            lines = [line for line in rendered.body_text.splitlines() if line.strip()]
            assert lines[0] == expected_greeting(language, tone, kind), where
            # German continues after the comma in lower case, Latvian and English start a new sentence.
            first = lines[1][0]
            assert first.islower() if language == "de" else first.isupper(), where
            assert ".." not in rendered.body_text and ".." not in rendered.subject, where
            checked += 1
    assert checked == 2 * 39


@pytest.mark.django_db
def test_every_letter_greets_a_business_and_a_consumer_properly(company: Any, debtors: Any) -> None:
    for template_kind, name, tone, language in shipped_templates():
        if template_kind != "letter":
            continue
        for kind in NAMES:
            rendered = render(company, debtors[language, kind], "letter", name, tone, language)
            where = f"letter/{name}.{tone}.{language} for a {kind}"
            if kind == "consumer":
                assert NAMES["consumer"] in rendered.greeting, where
                assert "Damen und Herren" not in rendered.greeting and "Sir or Madam" not in rendered.greeting
            else:
                assert NAMES["business"] not in rendered.greeting, where
            assert rendered.greeting in {
                "Sehr geehrte Damen und Herren,",
                f"Guten Tag {NAMES['consumer']},",
                "Labdien!",
                f"Labdien, {NAMES['consumer']}!",
                "Dear Sir or Madam,",
                f"Dear {NAMES['consumer']},",
            }, where
            assert rendered.closing, where
            assert ".." not in rendered.body_text, where
