"""Message templates: shipped files, the company's own versions, checks on saving, rendering and preview."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from mahnwerk.comms.letters import format_deadline, render_letter_html
from mahnwerk.comms.rendering import message_item, reminder_context, render_reminder
from mahnwerk.comms.template_models import MessageTemplate
from mahnwerk.comms.templates_store import (
    SMS_MAX_SEGMENTS,
    TemplateNotFound,
    TemplateValidationError,
    letter_context,
    list_templates,
    open_items,
    preview,
    read_shipped,
    render_message,
    reset_template,
    resolve_template,
    save_template,
    shipped_templates,
    validate_template,
)
from mahnwerk.core.calendar import format_date
from mahnwerk.core.sms import check_sms_budget
from mahnwerk.ledger.claims import claim_views

D = date.fromisoformat
STEPS = ("pre_due", "reminder", "firm_reminder", "final_notice")
NATURAL = {"pre_due": "friendly", "reminder": "friendly", "firm_reminder": "firm", "final_notice": "formal"}
# New payment deadline of each step of the shipped playbook (days after the message).
DEADLINE_DAYS = {"pre_due": 0, "reminder": 10, "firm_reminder": 10, "final_notice": 7, "thank_you": 0}

OWN_BODY = "Hallo {{ debtor.name }},\n\n{{ items_table }}\n\nSumme: {{ total }}, bis {{ deadline }}.\n\n{{ bank_block }}\n"


def cli(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def debtor_with_items(
    make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> Callable[..., Any]:
    def make(language: str = "de", **fields: Any) -> Any:
        debtor = make_debtor(name="Bäckerei Schröder KG", language=language, **fields)
        make_invoice(debtor, f"RE-{debtor.number}-1", "1200.00", "2026-03-01")
        make_invoice(debtor, f"RE-{debtor.number}-2", "345.67", "2026-03-05")
        return debtor

    return make


def items_of(company: Any, debtor: Any, as_of: date) -> list[Any]:
    invoices = list(debtor.invoices.order_by("due_date"))
    claims = claim_views(company, invoices, {debtor.pk: debtor.kind}, as_of)
    return [message_item(i, claims.get(i.pk), i.open_minor) for i in invoices]


def test_the_shipped_files_cover_every_step_tone_and_language() -> None:
    shipped = set(shipped_templates())
    for step in STEPS:
        for language in ("de", "lv", "en"):
            for tone in ("friendly", "firm", "formal"):
                assert ("email", step, tone, language) in shipped
            assert ("sms", step, "any", language) in shipped
            assert ("letter", step, NATURAL[step], language) in shipped
    for language in ("de", "lv", "en"):
        assert ("email", "thank_you", "friendly", language) in shipped
    counts = {kind: sum(1 for s in shipped if s[0] == kind) for kind in ("email", "sms", "letter")}
    assert counts == {"email": 4 * 3 * 3 + 3, "sms": 4 * 3, "letter": 4 * 3}


@pytest.mark.django_db
def test_every_shipped_file_passes_the_checks_a_users_version_must_pass(company: Any) -> None:
    for kind, name, tone, language in shipped_templates():
        shipped = read_shipped(name, tone, language, kind)
        assert shipped is not None
        subject, body, _path = shipped
        assert validate_template(company, name, tone, language, kind, subject, body) == [], (kind, name, tone)


@pytest.mark.django_db
def test_every_shipped_file_renders_with_a_real_context(company: Any, debtor_with_items: Any) -> None:
    as_of = D("2026-03-20")
    debtors = {language: debtor_with_items(language) for language in ("de", "lv", "en")}
    for kind, name, tone, language in shipped_templates():
        debtor = debtors[language]
        items = items_of(company, debtor, as_of)
        days = DEADLINE_DAYS[name]
        deadline = as_of + timedelta(days=days) if days else None
        context = reminder_context(company, debtor, items, deadline, as_of, language)
        rendered = render_message(company, debtor, name, tone, language, kind, context)
        where = f"{kind}/{name}.{tone}.{language}"
        assert "{{" not in rendered.body_text and "{%" not in rendered.body_text, where
        if name == "thank_you":
            # The debtor is a business: greeted without its name, never like a person.
            assert rendered.subject and debtor.name not in rendered.body_text.split("\n")[0], where
            continue
        numbers = [i.number for i in items]
        if kind == "email":
            assert rendered.subject and all(n in rendered.subject for n in numbers), where
            assert context["items_table"] in rendered.body_text, where
            assert "IBAN: DE89 3704 0044 0532 0130 00" in rendered.body_text, where
            assert "BIC: COBADEFFXXX" in rendered.body_text, where
            if deadline:
                assert format_date(deadline, language) in rendered.body_text, where
        elif kind == "sms":
            assert rendered.subject == "" and "\n" not in rendered.body_text
            assert all(n in rendered.body_text for n in numbers), where
            assert "DE89370400440532013000" in rendered.body_text, where
            assert format_date(deadline or items[0].due_date, language) in rendered.body_text, where
            check_sms_budget(where, rendered.body_text, SMS_MAX_SEGMENTS)
        else:
            assert rendered.subject and rendered.greeting and rendered.paragraphs and rendered.closing, where
            html = render_letter_html(
                letter_context(company, debtor, rendered, items, deadline, as_of, language)
            )
            # The letter layout prints the items, the deadline and the bank details under the text.
            assert all(n in html for n in numbers), where
            assert "DE89 3704 0044 0532 0130 00" in html, where
            assert rendered.paragraphs[0] in html.replace("&#x27;", "'"), where
            if deadline:
                assert format_deadline(deadline, language) in html, where


@pytest.mark.django_db
def test_a_template_edited_in_the_database_wins_and_reset_goes_back_to_the_file(
    company: Any, debtor_with_items: Any, outbox: Path
) -> None:
    from mahnwerk.collection.services import run_collection

    debtor = debtor_with_items("de")
    saved = save_template(
        company, "reminder", "friendly", "de", "email", "Offene Posten {{ numbers }}", OWN_BODY, None
    )
    assert MessageTemplate.objects.get() == saved
    source = resolve_template(company, "reminder", "friendly", "de", "email")
    assert source.edited and source.subject == "Offene Posten {{ numbers }}"

    # The collection run renders through the same lookup: the message uses the company's version.
    run_collection(company, D("2026-03-12"))
    message = debtor.messages.get()
    assert message.subject == f"Offene Posten RE-{debtor.number}-1, RE-{debtor.number}-2"
    assert message.body_text.startswith("Hallo Bäckerei Schröder KG,")
    assert "bis 22.03.2026." in message.body_text  # 12 March + the step's 10-day deadline

    assert reset_template(company, "reminder", "friendly", "de", "email") is True
    assert reset_template(company, "reminder", "friendly", "de", "email") is False
    items = items_of(company, debtor, D("2026-03-12"))
    again = render_reminder(company, debtor, "reminder", items, D("2026-03-22"), D("2026-03-12"))
    assert again.subject.startswith("Zahlungserinnerung")
    assert resolve_template(company, "reminder", "friendly", "de", "email").origin == "file"


@pytest.mark.django_db
def test_notices_from_the_rule_set_take_their_place_in_every_shipped_email_and_letter(
    company: Any, debtor_with_items: Any
) -> None:
    as_of = D("2026-03-20")
    debtor = debtor_with_items("lv")
    items = items_of(company, debtor, as_of)
    extra = {
        "objection_notice": "Jūs varat iebilst 21 dienas laikā.",
        "opt_out_line": "Atbildiet STOP.",
        "qr_note": "Noskenējiet QR kodu.",
    }
    for step in STEPS:
        for tone in ("friendly", "firm", "formal"):
            plain = render_reminder(company, debtor, step, items, as_of, as_of, tone=tone)
            assert not any(text in plain.body_text for text in extra.values())
            assert "\n\n\n" not in plain.body_text  # empty notices leave no gaps
            text = render_reminder(
                company, debtor, step, items, as_of, as_of, tone=tone, extra=extra
            ).body_text
            bank, qr = text.index("IBAN: DE89"), text.index(extra["qr_note"])
            objection, closing = text.index(extra["objection_notice"]), text.index("Ar cieņu")
            assert bank < qr < objection < closing < text.index(extra["opt_out_line"]), (step, tone)
            assert text.rstrip().endswith(extra["opt_out_line"])
        letter = render_reminder(company, debtor, step, items, as_of, as_of, kind="letter", extra=extra)
        assert letter.paragraphs[-1] == extra["objection_notice"] and letter.closing == "Ar cieņu"
    with pytest.raises(ValueError, match="not an optional placeholder: total"):
        render_reminder(company, debtor, "reminder", items, as_of, as_of, extra={"total": "0"})


@pytest.mark.django_db
def test_one_companys_version_does_not_reach_another_company(company: Any) -> None:
    from mahnwerk.ledger.models import Company

    other = Company.objects.create(
        slug="other", name="Other SIA", iban="LV80BANK0000435195001", jurisdiction="LV", default_language="lv"
    )
    save_template(company, "reminder", "friendly", "lv", "email", "Mūsu teksts", OWN_BODY, None)
    assert resolve_template(company, "reminder", "friendly", "lv", "email").edited
    assert resolve_template(other, "reminder", "friendly", "lv", "email").subject.startswith(
        "Maksājuma atgādinājums"
    )


@pytest.mark.django_db
def test_an_unknown_placeholder_is_refused_naming_it(company: Any) -> None:
    body = "Guten Tag,\n\n{{ items_table }}\n\nIhre Bank: {{ debtor.iban }}\n"
    with pytest.raises(TemplateValidationError) as caught:
        save_template(company, "reminder", "friendly", "de", "email", "Erinnerung {{ numbers }}", body, None)
    assert [str(p) for p in caught.value.problems] == ["body, line 5: unknown placeholder {{ debtor.iban }}"]
    assert "debtor.iban" in str(caught.value)
    with translation.override("de"), pytest.raises(TemplateValidationError) as german:
        save_template(company, "reminder", "friendly", "de", "email", "Erinnerung", body, None)
    assert str(german.value.problems[0]) == "body, line 5: unbekannter Platzhalter {{ debtor.iban }}"
    assert not MessageTemplate.objects.exists()


@pytest.mark.django_db
def test_load_and_include_are_refused(company: Any) -> None:
    with pytest.raises(TemplateValidationError, match=r"line 1: the tag \{% load %\} is not allowed"):
        save_template(company, "reminder", "firm", "de", "email", "X", "{% load static %}{{ total }}", None)
    with pytest.raises(TemplateValidationError, match=r"subject, line 1: the tag \{% include %\}"):
        save_template(
            company, "reminder", "firm", "de", "email", '{% include "x.txt" %}', "{{ total }}", None
        )
    assert not MessageTemplate.objects.exists()


@pytest.mark.django_db
def test_an_sms_over_its_budget_is_refused_and_one_within_is_kept(company: Any) -> None:
    # Latvian letters force UCS-2: two segments carry 2 x 67 = 134 characters.
    long_text = "{{ company.name }}: lūdzam samaksāt {{ total }} ({{ numbers }}) līdz {{ deadline }}. " * 2
    with pytest.raises(TemplateValidationError, match=r"3 segments \(UCS-2\), at most 2"):
        save_template(company, "reminder", "any", "lv", "sms", "", long_text, None)
    with pytest.raises(TemplateValidationError, match="an SMS has no subject"):
        save_template(company, "reminder", "any", "lv", "sms", "Tēma", "{{ total }}", None)
    short = "{{ company.name }}: lūdzam samaksāt {{ total }} līdz {{ deadline }}."
    save_template(company, "reminder", "any", "lv", "sms", "", short, None)
    assert resolve_template(company, "reminder", "firm", "lv", "sms").body == short


@pytest.mark.django_db
def test_an_sms_about_many_invoices_names_the_first_and_counts_the_others(
    company: Any, make_debtor: Any, make_invoice: Any
) -> None:
    company.claim_interest = False  # only the principal: 12 x 100.00
    company.save()
    debtor = make_debtor(number="K77", language="de")
    for n in range(12):
        make_invoice(debtor, f"RE-2026-{n:05d}", "100.00", f"2026-02-{n + 1:02d}")
    sms = preview(company, debtor, "firm_reminder", kind="sms", as_of=D("2026-03-20"))
    # 12 x 100.00 = 1,200.00 EUR; listing twelve numbers would need a third segment.
    assert "RE-2026-00000 und 11 weitere über 1.200,00 €" in sms.body_text
    assert "Verwendungszweck K77 RE-2026-00000" in sms.body_text and "RE-2026-00001" not in sms.body_text
    check_sms_budget("many", sms.body_text, SMS_MAX_SEGMENTS)
    email = preview(company, debtor, "firm_reminder", kind="email", as_of=D("2026-03-20"))
    assert all(f"RE-2026-{n:05d}" in email.body_text for n in range(12))


@pytest.mark.django_db
def test_tones_without_a_file_fall_back_to_the_templates_natural_tone(company: Any) -> None:
    letter = resolve_template(company, "reminder", "formal", "de", "letter")
    assert (letter.tone, letter.requested_tone, letter.origin) == ("friendly", "formal", "file")
    sms = resolve_template(company, "final_notice", "friendly", "en", "sms")
    assert sms.tone == "any"
    # The company's version of the natural tone is what a missing tone falls back to.
    body = (
        "Sehr geehrte Damen und Herren,\n\nunser eigener Text zu {{ numbers }}.\n\nClosing: Hochachtungsvoll"
    )
    save_template(company, "reminder", "friendly", "de", "letter", "Erinnerung", body, None)
    assert resolve_template(company, "reminder", "formal", "de", "letter").edited
    with pytest.raises(TemplateNotFound):
        resolve_template(company, "no_such_template", "firm", "de", "email")


@pytest.mark.django_db
def test_a_letter_needs_a_greeting_and_a_paragraph(company: Any) -> None:
    with pytest.raises(TemplateValidationError, match="a letter needs a greeting"):
        save_template(company, "reminder", "friendly", "de", "letter", "Erinnerung", "Nur eine Zeile", None)


@pytest.mark.django_db
def test_preview_uses_the_debtors_open_items_from_the_database(
    company: Any, debtor_with_items: Any, pay: Any
) -> None:
    debtor = debtor_with_items("lv")
    first = debtor.invoices.get(number=f"RE-{debtor.number}-1")
    pay(debtor, "200.00", "2026-03-10", invoice=first)  # 1,200.00 - 200.00 = 1,000.00 left
    before = MessageTemplate.objects.count()
    shown = preview(company, debtor, "firm_reminder", as_of=D("2026-04-01"))
    assert shown.subject == f"Otrais atgādinājums: RE-{debtor.number}-1, RE-{debtor.number}-2"
    assert "1\xa0000,00\xa0€" in shown.body_text and "1\xa0200,00" not in shown.body_text
    assert "345,67\xa0€" in shown.body_text
    assert "līdz 11.04.2026." in shown.body_text  # 1 April + the firm reminder's 10 days
    assert MessageTemplate.objects.count() == before
    assert [i.open_minor for i in open_items(company, debtor, D("2026-04-01"))] == [100000, 34567]
    sms = preview(company, debtor, "reminder", kind="sms", as_of=D("2026-04-01"))
    check_sms_budget("preview", sms.body_text, SMS_MAX_SEGMENTS)
    english = preview(company, debtor, "reminder", "formal", "en", as_of=D("2026-04-01"))
    assert english.body_text.startswith("Dear Sir or Madam,")


@pytest.mark.django_db
def test_the_companys_versions_are_cached_so_the_run_asks_the_database_once(
    company: Any, debtor_with_items: Any, django_assert_num_queries: Any, monkeypatch: Any
) -> None:
    import mahnwerk.comms.templates_store as store

    debtor = debtor_with_items("de")
    save_template(company, "firm_reminder", "firm", "de", "email", "Eigene Mahnung", OWN_BODY, None)
    as_of = D("2026-03-20")
    context = reminder_context(company, debtor, items_of(company, debtor, as_of), None, as_of, "de")
    with django_assert_num_queries(1):  # all of the company's versions in one query
        for _ in range(3):
            edited = render_message(company, debtor, "firm_reminder", "firm", "de", "email", context)
            shipped = render_message(company, debtor, "reminder", "friendly", "de", "email", context)
    assert edited.subject == "Eigene Mahnung" and shipped.subject.startswith("Zahlungserinnerung")
    # A save in this process is seen at once.
    save_template(company, "firm_reminder", "firm", "de", "email", "Neue Mahnung", OWN_BODY, None)
    assert resolve_template(company, "firm_reminder", "firm", "de", "email").subject == "Neue Mahnung"
    # A change made elsewhere (another process) is seen once the cache has expired.
    MessageTemplate.objects.update(subject="Von anderswo")
    assert resolve_template(company, "firm_reminder", "firm", "de", "email").subject == "Neue Mahnung"
    monkeypatch.setattr(store, "OVERRIDES_TTL", 0.0)
    assert resolve_template(company, "firm_reminder", "firm", "de", "email").subject == "Von anderswo"


@pytest.mark.django_db
def test_the_template_command(company: Any, debtor_with_items: Any, tmp_path: Path) -> None:
    from django.contrib.auth.models import User

    User.objects.create_user("alice")
    debtor = debtor_with_items("de")
    listed = json.loads(cli("template", "list", "--kind", "sms", "--json"))
    assert len(listed) == 12 and {r["origin"] for r in listed} == {"file"}

    shown = json.loads(cli("template", "show", "final_notice", "--language", "en", "--json"))
    assert shown["tone"] == "formal" and shown["subject"].startswith("Final notice")
    assert "objection_notice" in shown["placeholders"]

    body = tmp_path / "body.txt"
    body.write_text(OWN_BODY, encoding="utf-8")
    out = cli(
        "template", "edit", "reminder", "--tone", "firm", "--subject", "Bitte zahlen: {{ numbers }}",
        "--body-file", str(body), "--user", "alice",
    )  # fmt: skip
    assert "email/reminder.firm.de: saved" in out
    row = MessageTemplate.objects.get()
    assert (row.tone, row.language, row.updated_by.username if row.updated_by else "") == (
        "firm",
        "de",
        "alice",
    )
    edited = [r for r in json.loads(cli("template", "list", "reminder", "--json")) if r["origin"] != "file"]
    assert [(r["tone"], r["language"], r["origin"], r["updated_by"]) for r in edited] == [
        ("firm", "de", "edited", "alice")
    ]

    bad = tmp_path / "bad.txt"
    bad.write_text("{{ items_table }}\n{{ debtor.password }}\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"body, line 2: unknown placeholder \{\{ debtor.password \}\}"):
        cli("template", "edit", "reminder", "--tone", "firm", "--body-file", str(bad))

    shown_preview = json.loads(
        cli(
            "template",
            "preview",
            "reminder",
            "--tone",
            "firm",
            "--debtor",
            debtor.number,
            "--date",
            "2026-03-20",
            "--json",
        )
    )
    assert shown_preview["subject"] == f"Bitte zahlen: RE-{debtor.number}-1, RE-{debtor.number}-2"
    assert "bis 30.03.2026." in shown_preview["text"]

    # Round trip: what "show" prints can be edited and given back as it is.
    shown_text = cli("template", "show", "final_notice", "--language", "de")
    assert shown_text.startswith("# email/final_notice.formal.de (")
    edited_file = tmp_path / "final.txt"
    edited_file.write_text(shown_text.replace("Letzte Mahnung", "Allerletzte Mahnung"), encoding="utf-8")
    cli("template", "edit", "final_notice", "--body-file", str(edited_file))
    source = resolve_template(company, "final_notice", "formal", "de", "email")
    assert source.edited and source.subject == "Allerletzte Mahnung: {{ numbers }}"
    assert source.body.startswith("{{ greeting }}\n")
    assert "reset to the shipped text" in cli("template", "reset", "final_notice")

    assert "reset to the shipped text" in cli("template", "reset", "reminder", "--tone", "firm")
    assert not MessageTemplate.objects.exists()
    with pytest.raises(CommandError, match="no debtor 'K9999'"):
        cli("template", "preview", "reminder", "--debtor", "K9999")
    assert list_templates(company, kind="letter", language="lv")[0]["name"] == "final_notice"
