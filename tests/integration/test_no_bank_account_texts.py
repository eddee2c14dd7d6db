"""A company without a bank account (no IBAN) never asks for a transfer "to the following account".

Every shipped message template found on disk (emails, letters, SMS and the agreement messages, in German,
Latvian and English) is rendered for a company without an IBAN: no sentence may speak of an account, a
transfer or bank details, and the payment reference stays. Rendered for a company with an IBAN, the sentence
about the account comes first and the IBAN after it, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from mahnwerk.comms.agreement_messages import render_agreement_message, schedule_table
from mahnwerk.comms.letters import render_letter_html
from mahnwerk.comms.placeholders import ALLOWED_PLACEHOLDERS, check_template
from mahnwerk.comms.rendering import group_iban, message_item, reminder_context
from mahnwerk.comms.templates_store import SHIPPED_DIR, letter_context, render_message
from mahnwerk.ledger.claims import claim_views

D = date.fromisoformat
AS_OF = D("2026-03-20")
IBAN = "DE89370400440532013000"
LANGUAGES = ("de", "en", "lv")

# Words that speak of a bank account, a transfer to it or the bank details, per language. The customer's own
# account with the creditor ("Kundenkonto", "customer account", "klienta konts") is not a bank account.
ACCOUNT_WORDS = {
    "de": re.compile(r"\bKonto\b|\bKonten\b|Kontoinhaber|Bankverbindung|Bankkonto|überweis|\bIBAN\b|\bBIC\b"),
    "en": re.compile(r"(?<!customer )\baccount\b|bank details|\btransfer|\bIBAN\b|\bBIC\b", re.IGNORECASE),
    "lv": re.compile(
        r"(?<!klienta )\bkont(s|a|u|ā|am|i|us|os)\b|rekvizīt|pārskait|\bbankas\b|\bIBAN\b|\bBIC\b",
        re.IGNORECASE,
    ),
}

FILES = sorted(p.relative_to(SHIPPED_DIR).as_posix() for p in SHIPPED_DIR.rglob("*.txt"))
WITH_BANK_BLOCK = [f for f in FILES if "bank_block" in (SHIPPED_DIR / f).read_text(encoding="utf-8")]

SCHEDULE = [(0, D("2026-04-01"), 14500, 14500), (1, D("2026-05-01"), 30000, 0)]
# What the agreement messages are given besides the items (each template reads its own names): one set for
# all of them, so that an agreement message added later is rendered too.
AGREEMENT_EXTRAS: dict[str, Any] = {
    "amount": (20000, "EUR"),
    "promised_date": D("2026-03-25"),
    "paid": (20000, "EUR"),
    "schedule": lambda language: schedule_table(SCHEDULE, "EUR", language),
    "plan_total": (44500, "EUR"),
    "costs": (4500, "EUR"),
    "confirm_by": D("2026-04-01"),
    "grace_days": 5,
    "overdue": "yes",
    "instalment": 1,
    "due": D("2026-05-01"),
    "last_day": D("2026-05-06"),
    "missed_due": D("2026-05-01"),
    "missed_amount": (30000, "EUR"),
    "deadline": D("2026-04-10"),
    "reason": "Lieferung unvollständig",
    "resolution": "Lieferschein 4711",
    "credited": (5000, "EUR"),
    "saving": (40000, "EUR"),
    "kind": "discount",
    "offer": lambda language: "",
    "required": (97000, "EUR"),
    "discount": (3000, "EUR"),
    "due_table": lambda language: "RE-1  1.000,00",
    "due_total": lambda language: "1.000,00",
    "coming_table": lambda language: "RE-2  500,00",
    "coming_total": lambda language: "500,00",
    "reliable": "",
    "still_open": "",
}
DEADLINE_DAYS = {"pre_due": 0, "thank_you": 0, "final_notice": 7}


def parse(file: str) -> tuple[str, str, str, str]:
    """(kind, name, tone, language) of a shipped file; kind "agreement" for the messages at the top."""
    folder, _, filename = file.rpartition("/")
    parts = filename.removesuffix(".txt").split(".")
    if not folder:
        return "agreement", parts[0], "", parts[1]
    return folder, parts[0], parts[1], parts[2]


@pytest.fixture
def debtors(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    made = {}
    for language in LANGUAGES:
        debtor = make_debtor(name="Bäckerei Schröder KG", language=language)
        make_invoice(debtor, f"RE-{debtor.number}-1", "1200.00", "2026-02-01")
        make_invoice(debtor, f"RE-{debtor.number}-2", "345.67", "2026-03-05")
        made[language] = debtor
    return made


def render(company: Any, debtor: Any, file: str) -> tuple[str, str, str]:
    """The text of ``file`` rendered for ``debtor``, the payment reference, and a letter's HTML ("" else)."""
    kind, name, tone, language = parse(file)
    assert debtor.language == language
    invoices = list(debtor.invoices.order_by("due_date"))
    claims = claim_views(company, invoices, {debtor.pk: debtor.kind}, AS_OF)
    items = [message_item(i, claims.get(i.pk), i.open_minor) for i in invoices]
    days = DEADLINE_DAYS.get(name, 10)
    deadline = AS_OF + timedelta(days=days) if days else None
    context = reminder_context(company, debtor, items, deadline, AS_OF, language, tone, kind)
    if kind == "agreement":
        rendered = render_agreement_message(
            company, debtor, name, invoices, AS_OF, message_items=items, **AGREEMENT_EXTRAS
        )
        return rendered.subject + "\n" + rendered.body_text, context["reference"], ""
    rendered = render_message(company, debtor, name, tone, language, kind, context)
    html = ""
    if kind == "letter":
        html = render_letter_html(letter_context(company, debtor, rendered, items, deadline, AS_OF, language))
    return rendered.subject + "\n" + rendered.body_text, context["reference"], html


def test_the_account_words_are_recognised() -> None:
    found = {
        "de": [
            "Bitte überweisen Sie den Betrag auf folgendes Konto:",
            "Unsere Bankverbindung:",
            "Kontoinhaber",
        ],
        "en": ["to the following account:", "If it has not reached our account", "Account holder: X"],
        "lv": [
            "uz šādu kontu:",
            "ieskaitīta mūsu kontā",
            "bankas konts",
            "Konta īpašnieks",
            "Mūsu bankas rekvizīti",
        ],
    }
    not_found = {
        "de": ["Ihres Kundenkontos K1", "Kontoauszug", "Bitte zahlen Sie, Verwendungszweck: RE-1"],
        "en": ["your customer account K1", "Please pay, quoting the following payment reference:"],
        "lv": ["Jūsu klienta konta K1", "kontaktinformācija", "norādot šādu maksājuma mērķi:"],
    }
    for language in LANGUAGES:
        for text in found[language]:
            assert ACCOUNT_WORDS[language].search(text), (language, text)
        for text in not_found[language]:
            assert not ACCOUNT_WORDS[language].search(text), (language, text)


def test_the_templates_are_found_on_disk() -> None:
    assert len(WITH_BANK_BLOCK) >= 60
    for language in LANGUAGES:
        assert [f for f in WITH_BANK_BLOCK if parse(f)[3] == language], language
    assert {parse(f)[0] for f in FILES} == {"agreement", "email", "letter", "sms"}


def test_a_company_template_may_ask_whether_there_is_a_bank_account() -> None:
    assert str(ALLOWED_PLACEHOLDERS["has_bank_account"]).strip()
    source = (
        "{% if has_bank_account %}Bitte überweisen Sie den Betrag auf folgendes Konto:"
        "{% else %}Bitte geben Sie folgenden Verwendungszweck an:{% endif %}\n\n{{ bank_block }}"
    )
    assert check_template(source)[1] == []


@pytest.mark.django_db
def test_the_contexts_say_whether_there_is_a_bank_account(company: Any, debtors: dict[str, Any]) -> None:
    debtor = debtors["en"]
    invoices = list(debtor.invoices.all())
    items = [message_item(i, None, i.open_minor) for i in invoices]
    assert reminder_context(company, debtor, items, None, AS_OF, "en")["has_bank_account"] is True
    company.iban = ""
    company.save()
    assert reminder_context(company, debtor, items, None, AS_OF, "en")["has_bank_account"] is False
    # the agreement messages have the placeholder too: a template of them that uses it is rendered by it
    assert (SHIPPED_DIR / "plan_agreement.en.txt").read_text(encoding="utf-8").count("has_bank_account") == 1
    rendered = render_agreement_message(
        company, debtor, "plan_agreement", invoices, AS_OF, **AGREEMENT_EXTRAS
    )
    assert "Please quote the following payment reference with each instalment:" in rendered.body_text


@pytest.mark.django_db
@pytest.mark.parametrize("file", FILES)
def test_without_an_iban_no_sentence_speaks_of_an_account(
    company: Any, debtors: dict[str, Any], file: str
) -> None:
    company.iban = ""
    company.bic = ""
    company.save()
    kind, _name, _tone, language = parse(file)
    text, reference, html = render(company, debtors[language], file)
    assert [m.group(0) for m in ACCOUNT_WORDS[language].finditer(text)] == [], text
    assert "{{" not in text and "{%" not in text and "}}" not in text
    assert "\n\n\n" not in text and not re.search(r"\n[ \t]+\n", text), text
    if file in WITH_BANK_BLOCK:
        assert reference in text, text  # the reference stays, alone where the bank details were
    if kind == "letter":
        assert reference in html and "IBAN" not in html  # printed below the text, without an account


@pytest.mark.django_db
@pytest.mark.parametrize("file", WITH_BANK_BLOCK)
def test_with_an_iban_the_account_sentence_comes_before_the_iban(
    company: Any, debtors: dict[str, Any], file: str
) -> None:
    assert company.iban == IBAN
    language = parse(file)[3]
    text, reference, _html = render(company, debtors[language], file)
    iban_at = text.find(f"IBAN: {group_iban(IBAN)}")
    assert iban_at > 0, text
    assert text.find(reference, iban_at) > iban_at  # the block: holder, IBAN, BIC, then the reference
    if "has_bank_account" in (SHIPPED_DIR / file).read_text(encoding="utf-8"):
        # the sentence the template gives companies with a bank account is there, before the bank details
        block_at = text.rfind("\n", 0, iban_at - 1) + 1  # the line before the IBAN names the account holder
        assert company.name in text[block_at:iban_at]
        assert [m for m in ACCOUNT_WORDS[language].finditer(text) if m.start() < block_at], text
