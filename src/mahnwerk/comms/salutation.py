"""How a message greets its reader and how a letter addresses them, by language, tone and what is known.

A consumer is greeted as a person; a business through its contact person where one is recorded, else as a
company ("Sehr geehrte Damen und Herren"). Where the salutation (Mr/Ms) is known the family name follows
it ("Sehr geehrte Frau Dr. Schulz"); where it is not, the whole name, without guessing a gender.

Latvian declines names: a form like "Godātais Bērziņa kungs" needs the genitive, which cannot be derived
safely from any surname. Latvian therefore greets with the salutation alone ("Godātā kundze!") or with
the name in the nominative after "Labdien," — both what a Latvian clerk writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from mahnwerk.ledger.models import Company, Debtor

FORMAL_TONES = frozenset({"formal", "firm"})


@dataclass(frozen=True, slots=True)
class Person:
    name: str  # the whole name, with title
    family: str  # title and family name ("Dr. Schulz")
    salutation: str  # "mr", "ms" or ""
    title: str


def person(debtor: Debtor) -> Person | None:
    """Whom a message to ``debtor`` speaks to: the consumer, or a business's contact person (None: nobody)."""
    name = (debtor.name if debtor.kind == "consumer" else debtor.contact_person).strip()
    if not name:
        return None
    title = debtor.title.strip()
    family = debtor.family_name.strip() or name.split()[-1]
    with_title = f"{title} {name}" if title and not name.startswith(title) else name
    return Person(with_title, f"{title} {family}" if title else family, debtor.salutation, title)


def greeting(debtor: Debtor, language: str, tone: str) -> str:
    """The greeting line of a message to ``debtor`` in ``language`` ("de", "lv", else English)."""
    formal = tone in FORMAL_TONES
    who = person(debtor)
    if language == "de":
        if who is None:
            return "Sehr geehrte Damen und Herren," if formal else "Guten Tag,"
        if who.salutation == "mr":
            return f"Sehr geehrter Herr {who.family}," if formal else f"Guten Tag Herr {who.family},"
        if who.salutation == "ms":
            return f"Sehr geehrte Frau {who.family}," if formal else f"Guten Tag Frau {who.family},"
        return f"Guten Tag {who.name},"
    if language == "lv":
        if who is None:
            return "Labdien!"
        if formal and who.salutation == "mr":
            return "Godātais kungs!"
        if formal and who.salutation == "ms":
            return "Godātā kundze!"
        return f"Labdien, {who.name}!"
    opening = "Dear" if formal else "Hello"
    if who is None:
        return "Dear Sir or Madam," if formal else "Hello,"
    if who.salutation in ("mr", "ms"):
        # English puts a title in place of Mr/Ms: "Dear Dr Schulz"
        honorific = who.title.rstrip(".") if who.title else ("Mr" if who.salutation == "mr" else "Ms")
        family = who.family.removeprefix(who.title).strip() if who.title else who.family
        return f"{opening} {honorific} {family},"
    return f"{opening} {who.name},"


def recipient_lines(debtor: Debtor, language: str) -> tuple[str, tuple[str, ...]]:
    """The name line of a letter's address and the lines under it before the street: a consumer as
    "Herrn Dr. Jens Meyer" (German) where the salutation is known; a business with "z. Hd." its contact."""
    who = person(debtor)
    if debtor.kind == "consumer":
        if who is not None and language == "de" and who.salutation in ("mr", "ms"):
            return ("Herrn " if who.salutation == "mr" else "Frau ") + who.name, ()
        if who is not None and language == "en" and who.salutation in ("mr", "ms") and not who.title:
            return ("Mr " if who.salutation == "mr" else "Ms ") + who.name, ()
        return debtor.name, ()
    if who is None:
        return debtor.name, ()
    if language == "de":
        prefix = {"mr": "Herrn ", "ms": "Frau "}.get(who.salutation, "")
        return debtor.name, (f"z. Hd. {prefix}{who.name}",)
    if language == "en":
        return debtor.name, (f"Attn. {who.name}",)
    return debtor.name, (who.name,)


def country_line(company: Company, debtor: Debtor) -> str:
    """The last line of an address abroad: the destination country's name in capitals, in the language of
    the sending country (as the Universal Postal Union and Deutsche Post ask: "LETTLAND", not "LV");
    empty for a letter within the sender's country. An unknown code stays as it is."""
    code = (debtor.country or "").upper()
    if not code or code == (company.country or "").upper():
        return ""
    from babel import Locale, UnknownLocaleError

    try:
        names = Locale.parse(company.default_language or "en").territories
    except (ValueError, UnknownLocaleError):
        names = Locale.parse("en").territories
    return str(names.get(code, code)).upper()
