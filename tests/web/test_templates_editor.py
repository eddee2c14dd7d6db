"""The template editor: the list, the live preview of unsaved text for a real debtor, the letter as PDF,
saving and resetting (admins only), and nothing of another company."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pypdf
import pytest
from django.test import Client

from mahnwerk.comms.template_models import MessageTemplate
from mahnwerk.comms.templates_store import (
    TemplateValidationError,
    open_items,
    preview,
    resolve_template,
    save_template,
    validate_template,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

NOW = "2026-05-15 10:00 +0000"  # the base rates of the first half of 2026 are shipped: interest is known
EMAIL = "/templates/email/reminder/friendly/de/"
LETTER = "/templates/letter/final_notice/formal/de/"
SMS_LV = "/templates/sms/reminder/any/lv/"
HTMX = {"HTTP_HX_REQUEST": "true"}
OWN_SUBJECT = "Offene Posten: {{ numbers }}"
OWN_BODY = "Hallo {{ debtor.name }},\n\nwir vermissen Ihre Zahlung von {{ total }}.\n\n{{ items_table }}\n\n{{ bank_block }}"


@pytest.fixture
def story(make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]) -> dict[str, Any]:
    """Müller owes R-100 (due 2 March: default interest from 2 April); Anders (a lower number) owes nothing."""
    anders = make_debtor(name="Anders KG", number="K0000")
    mueller = make_debtor(name="Bäckerei Müller", number="K0001")
    return {
        "anders": anders,
        "mueller": mueller,
        "r100": make_invoice(mueller, "R-100", "1000.00", "2026-03-02"),
    }


@pytest.fixture
def baltic_debtor(
    other_company: Any, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> Any:
    debtor = make_debtor(name="Kokmateriāli SIA", number="B0001", company=other_company, language="lv")
    make_invoice(debtor, "LV-900", "500.00", "2026-03-02")
    return debtor


def alice_user() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="alice")


# -- list ------------------------------------------------------------------------------------------------


def test_the_list_shows_shipped_edited_and_custom_templates(
    alice: Client, company: Any, django_assert_max_num_queries: Any
) -> None:
    save_template(company, "reminder", "friendly", "de", "email", OWN_SUBJECT, OWN_BODY, alice_user())
    save_template(
        company, "courtesy", "friendly", "de", "email", "Hinweis", "Guten Tag {{ debtor.name }}", None
    )
    with django_assert_max_num_queries(6):  # session, user, membership, the company's versions
        response = alice.get("/templates/")
    assert response.status_code == 200
    rows = {(r["kind"], r["name"], r["tone"], r["language"]): r for r in response.context["rows"]}
    edited = rows[("email", "reminder", "friendly", "de")]
    assert (
        edited["origin"] == "edited" and edited["updated_by"] == "alice" and edited["updated_at"] is not None
    )
    assert rows[("email", "courtesy", "friendly", "de")]["origin"] == "custom"
    assert rows[("email", "reminder", "friendly", "lv")]["origin"] == "file"
    assert rows[("letter", "final_notice", "formal", "de")]["origin"] == "file"
    assert rows[("sms", "reminder", "any", "de")]["origin"] == "file"
    html = response.content.decode()
    assert f'href="{EMAIL}"' in html and 'href="/templates/email/courtesy/friendly/de/"' in html
    assert 'data-origin="edited"' in html and ">alice<" not in html and "· alice" in html
    assert 'href="/templates/"' in html and "aria-current" in html  # the nav link, current page


def test_the_list_filters_by_kind_and_language(carol: Client, company: Any, client: Client) -> None:
    assert client.get("/templates/")["Location"].startswith("/accounts/login/")  # signed in only
    response = carol.get("/templates/", {"kind": "sms", "language": "lv"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert rows and {(r["kind"], r["language"]) for r in rows} == {("sms", "lv")}
    # an unknown value is a form error, not a crash, and filters nothing
    unknown = carol.get("/templates/", {"kind": "fax"})
    assert unknown.status_code == 200 and {r["kind"] for r in unknown.context["rows"]} == {
        "email",
        "sms",
        "letter",
    }


# -- editor and preview ----------------------------------------------------------------------------------


def test_the_editor_shows_the_current_text_and_its_preview(alice: Client, story: dict[str, Any]) -> None:
    response = alice.get(EMAIL)
    assert response.status_code == 200
    html = response.content.decode()
    source = resolve_template(story["mueller"].company, "reminder", "friendly", "de", "email")
    assert response.context["form"]["body"].value() == source.body
    for field in ("subject", "body", "debtor"):
        assert f'<label for="id_{field}">' in html
    assert (
        'hx-trigger="keyup changed delay:500ms, input changed delay:500ms, change"' in html
        and f'hx-post="{EMAIL}preview"' in html
    )
    # the default debtor: the first with open items (Anders, a lower number, owes nothing)
    assert response.context["preview"]["debtor"] == story["mueller"]
    assert "R-100" in response.context["preview"]["rendered"].body_text
    assert ">Save</button>" in html and "readonly" not in html


def test_the_preview_renders_unsaved_text_for_the_real_debtor(
    carol: Client, story: dict[str, Any], company: Any
) -> None:
    data = {"subject": OWN_SUBJECT, "body": OWN_BODY, "debtor": "K0001"}
    response = carol.post(f"{EMAIL}preview", data, **HTMX)  # a viewer may preview: nothing is stored
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # the panel alone
    shown = response.context["preview"]
    assert shown["rendered"].subject == "Offene Posten: R-100"
    # 1,000.00 EUR and default interest to today: 44 days (2 April to 15 May) at 1.27 % + 9 points = 12.38 EUR
    assert [(i.open_minor, i.interest_minor) for i in shown["shown"].items] == [(100000, 1238)]
    assert "wir vermissen Ihre Zahlung von 1.012,38\xa0€." in shown["rendered"].body_text
    assert "Offene Posten: R-100" in html and "wir vermissen Ihre Zahlung" in html
    # the HTML email as sent (items as a table, the GiroCode inline), in a sandboxed frame
    assert "<table" in shown["html"] and "wir vermissen Ihre Zahlung" in shown["html"]
    assert 'src="data:image/png;base64,' in shown["html"]
    assert "<iframe" in html and " sandbox " in html and 'srcdoc="&lt;!doctype html&gt;' in html
    assert MessageTemplate.objects.count() == 0
    # without HTMX the whole editor comes back, with the text posted
    page = carol.post(f"{EMAIL}preview", data)
    assert page.status_code == 200 and b'id="template-form"' in page.content
    assert page.context["form"]["body"].value() == OWN_BODY


def test_the_sms_preview_counts_segments_and_names_the_encoding(alice: Client, story: dict[str, Any]) -> None:
    body = "Lūdzu samaksājiet {{ total }} par {{ numbers }}."
    response = alice.post(f"{SMS_LV}preview", {"body": body, "debtor": "K0001"}, **HTMX)
    assert response.status_code == 200
    info = response.context["preview"]["sms"]
    assert info.encoding == "UCS-2" and info.segments == 1
    assert "1 segment (UCS-2" in response.content.decode() and "ū" in info.non_gsm_characters
    assert "R-100" in response.context["preview"]["rendered"].body_text


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        (
            "Mahnung",
            "Hallo,\n\nbitte zahlen.\n{{ debtor.iban }}",
            "Text, line 4: unknown placeholder {{ debtor.iban }}",
        ),
        (
            "Mahnung",
            "Hallo,\n{% if deadline %}bis {{ deadline }}\n\nDanke",
            "Text, line 2: Unclosed tag on line 2: &#x27;if&#x27;",
        ),
        ("Mahnung", "Hallo,\n\nbitte {{ total zahlen", "Text, line 3: {{ is not closed"),
        ("Mahnung {{ numbers }", "Hallo", "Subject, line 1: {{ is not closed"),
        ("Mahnung", 'Hallo\n\n{{ total|wordwrap:"x" }}', "Text, line 3: cannot be rendered"),
        ("", "Hallo", "Subject, line 1: the subject is empty"),
        ("M" * 251, "Hallo", "Subject, line 1: the subject is longer than 250 characters"),
    ],
)
def test_a_broken_template_shows_its_problems_with_the_line(
    alice: Client, story: dict[str, Any], subject: str, body: str, expected: str
) -> None:
    response = alice.post(f"{EMAIL}preview", {"subject": subject, "body": body, "debtor": ""}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert expected in html, html
    assert "preview-text" not in html and "R-100" not in html  # no rendering instead of the problems


def test_a_debtor_of_another_company_is_not_found(
    alice: Client, story: dict[str, Any], baltic_debtor: Any
) -> None:
    data = {"subject": OWN_SUBJECT, "body": OWN_BODY, "debtor": "B0001"}
    response = alice.post(f"{EMAIL}preview", data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "No debtor with the customer number B0001." in html
    assert "LV-900" not in html and "Kokmateri" not in html
    pdf = alice.post(f"{LETTER}pdf", data)
    assert pdf.status_code == 422 and pdf["Content-Type"].startswith("text/html")
    assert b"LV-900" not in pdf.content
    # the list of debtors offered by the editor has only the company's own
    assert [n for n, _name in alice.get(EMAIL).context["debtors"]] == ["K0001"]


# -- the letter as PDF -----------------------------------------------------------------------------------


def test_the_letter_pdf_renders_the_unsaved_text(bob: Client, story: dict[str, Any]) -> None:
    data = {
        "subject": "Allerletzte Mahnung {{ numbers }}",
        "body": "Sehr geehrte Damen und Herren,\n\nwir bitten ein allerletztes Mal um Zahlung.\n\nClosing: Hochachtungsvoll",
        "debtor": "K0001",
    }
    response = bob.post(f"{LETTER}pdf", data)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages)
    assert "Allerletzte Mahnung R-100" in text
    assert "wir bitten ein allerletztes Mal um Zahlung." in text and "Hochachtungsvoll" in text
    assert "1.012,38" in text  # principal and interest to today
    assert MessageTemplate.objects.count() == 0
    # the editor offers the PDF button for letters, posting the form to a new tab
    panel = bob.post(f"{LETTER}preview", data, **HTMX).content.decode()
    assert f'formaction="{LETTER}pdf" formtarget="_blank"' in panel


def test_no_pdf_for_a_broken_letter_nor_for_an_email(bob: Client, story: dict[str, Any]) -> None:
    broken = bob.post(f"{LETTER}pdf", {"subject": "Mahnung", "body": "Nur eine Zeile", "debtor": ""})
    assert broken.status_code == 422
    assert b"a letter needs a greeting, a blank line and at least one paragraph" in broken.content
    assert bob.post(f"{EMAIL}pdf", {"subject": "x", "body": "y"}).status_code == 404


# -- saving and resetting --------------------------------------------------------------------------------


def test_an_admin_saves_and_the_next_preview_uses_the_new_text(
    alice: Client, story: dict[str, Any], company: Any
) -> None:
    response = alice.post(EMAIL, {"subject": OWN_SUBJECT, "body": OWN_BODY, "debtor": ""})
    assert response.status_code == 302 and response["Location"] == EMAIL
    row = MessageTemplate.objects.get(
        company=company, name="reminder", tone="friendly", language="de", kind="email"
    )
    assert row.subject == OWN_SUBJECT and row.updated_by == alice_user()
    shown = preview(company, story["mueller"], "reminder", "friendly", "de", "email")
    assert shown.subject == "Offene Posten: R-100"
    assert shown.body_text.startswith("Hallo Bäckerei Müller,\n\nwir vermissen Ihre Zahlung von 1.012,38")
    page = alice.get(EMAIL)
    assert "Template saved" in page.content.decode() and page.context["origin"] == "edited"


def test_a_refused_save_shows_the_problems_next_to_the_form(alice: Client, story: dict[str, Any]) -> None:
    response = alice.post(EMAIL, {"subject": OWN_SUBJECT, "body": "Hallo {{ betrag }}", "debtor": ""})
    assert response.status_code == 200
    assert [(p.part, p.line) for p in response.context["problems"]] == [("Text", 1)]
    assert "unknown placeholder {{ betrag }}" in response.content.decode()
    assert response.context["form"]["body"].value() == "Hallo {{ betrag }}"  # the text is kept
    assert MessageTemplate.objects.count() == 0


def test_collectors_and_viewers_see_the_editor_read_only_and_cannot_save(
    bob: Client, carol: Client, company: Any, story: dict[str, Any]
) -> None:
    save_template(company, "reminder", "friendly", "de", "email", OWN_SUBJECT, OWN_BODY, None)
    for client in (bob, carol):
        page = client.get(EMAIL)
        assert page.status_code == 200
        html = page.content.decode()
        assert html.count("readonly") == 2 and ">Save</button>" not in html and "Reset to shipped" not in html
        assert client.post(EMAIL, {"subject": "Neu", "body": "Neu"}).status_code == 403
        assert client.post(f"{EMAIL}reset").status_code == 403
    assert MessageTemplate.objects.get(company=company).subject == OWN_SUBJECT


def test_reset_goes_back_to_the_shipped_text(alice: Client, company: Any, story: dict[str, Any]) -> None:
    save_template(company, "reminder", "friendly", "de", "email", OWN_SUBJECT, OWN_BODY, None)
    assert "Reset to shipped" in alice.get(EMAIL).content.decode()
    response = alice.post(f"{EMAIL}reset")
    assert response.status_code == 302 and response["Location"] == EMAIL
    assert not MessageTemplate.objects.exists()
    assert resolve_template(company, "reminder", "friendly", "de", "email").origin == "file"
    page = alice.get(EMAIL)
    assert "Template reset" in page.content.decode() and "Reset to shipped" not in page.content.decode()
    assert alice.get("/templates/email/reminder/friendly/xx/").status_code == 404
    assert alice.get("/templates/email/no_such_template/friendly/de/").status_code == 404


def test_another_companys_edits_are_not_seen(
    alice: Client, dave: Client, company: Any, other_company: Any, story: dict[str, Any]
) -> None:
    alice.post(EMAIL, {"subject": OWN_SUBJECT, "body": OWN_BODY, "debtor": ""})
    theirs = dave.get("/templates/", {"kind": "email", "language": "de"})
    row = next(r for r in theirs.context["rows"] if (r["name"], r["tone"]) == ("reminder", "friendly"))
    assert row["origin"] == "file"
    assert dave.get(EMAIL).context["source"].origin == "file"
    assert dave.post(f"{EMAIL}reset").status_code == 403  # a collector; and nothing of Acme to reset anyway
    assert MessageTemplate.objects.filter(company=company).count() == 1


# -- the checks behind the editor ------------------------------------------------------------------------


def test_render_errors_and_long_subjects_are_problems_not_exceptions(company: Any) -> None:
    problems = validate_template(
        company, "reminder", "friendly", "de", "email", "Mahnung", "A\n{{ total|wordwrap:'x' }}"
    )
    assert [(p.part, p.line) for p in problems] == [("body", 2)]
    with pytest.raises(TemplateValidationError, match="longer than 250"):
        save_template(company, "reminder", "friendly", "de", "email", "M" * 251, "Hallo", None)
    # a {{ left open in a comment block is no problem
    assert (
        validate_template(
            company, "x", "friendly", "de", "email", "S", "{% comment %}{{ a{% endcomment %}Hallo"
        )
        == []
    )


def test_the_preview_service_still_previews_the_saved_text_in_the_debtors_language(
    company: Any, story: dict[str, Any]
) -> None:
    items = open_items(company, story["mueller"], date(2026, 5, 15))
    shown = preview(company, story["mueller"], "reminder")
    assert (
        items[0].interest_minor == 1238
        and "R-100" in shown.subject
        and shown.body_text.startswith("Guten Tag")
    )
