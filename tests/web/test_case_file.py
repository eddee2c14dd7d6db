"""The case file to work in: sections as tabs (without JavaScript too), forms on demand, free notes, each
outgoing message once on the conversation with its state and one click from the message as it was built."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from mahnwerk.collection.models import Task
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.ledger import timeline
from mahnwerk.work.models import NOTE_MAX_LENGTH, Note

pytestmark = [pytest.mark.django_db]


def panels(page: str) -> dict[str, bool]:
    """Each section of the case file and whether it is shown (not ``hidden``)."""
    found = re.findall(r'<div class="tab-panel" id="tab-(\w+)" data-panel="\w+"( hidden)?>', page)
    return {name: not hidden for name, hidden in found}


def message(debtor: Any, n: int = 1, **fields: Any) -> OutboundMessage:
    values = {
        "company": debtor.company,
        "debtor": debtor,
        "channel": "email",
        "recipient": "ap@schulz.example",
        "language": "de",
        "subject": "Zahlungserinnerung RE-1",
        "body_text": "Guten Tag,\n\nbitte zahlen Sie 119,00 EUR bis zum 20.11.2026.",
        "message_id": f"<test-{debtor.pk}-{n}@mahnwerk.example>",
        "business_date": timezone.localdate(),
        "status": "queued",
    }
    return OutboundMessage.objects.create(**(values | fields))


# -- sections ----------------------------------------------------------------------------------------------


def test_the_case_file_opens_on_the_overview_and_each_tab_is_a_page_of_its_own(
    carol: Client, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    page = carol.get(f"/debtors/{debtor.pk}/").content.decode()
    assert panels(page) == {
        "overview": True,
        "items": False,
        "conversation": False,
        "agreements": False,
        "documents": False,
        "details": False,
    }
    assert 'href="?tab=conversation"' in page and "web/casefile" in page
    conversation = carol.get(f"/debtors/{debtor.pk}/?tab=conversation").content.decode()
    assert [k for k, shown in panels(conversation).items() if shown] == ["conversation"]
    assert re.search(r'data-tab="conversation" aria-current="page"', conversation)
    unknown = carol.get(f"/debtors/{debtor.pk}/?tab=<script>").content.decode()
    assert [k for k, shown in panels(unknown).items() if shown] == ["overview"]


def test_a_form_with_errors_comes_back_open_on_its_own_tab(
    bob: Client, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    make_invoice(debtor, "RE-1", "119.00", "2026-10-01")
    response = bob.post(
        f"/debtors/{debtor.pk}/payment", {"amount": "abc", "currency": "EUR", "value_date": "2026-11-01"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert [k for k, shown in panels(page).items() if shown] == ["items"]
    assert '<details open data-testid="payment-details">' in page
    # the address bar shows the tab (not the form's address, which answers no GET)
    assert response["HX-Replace-Url"] == f"/debtors/{debtor.pk}/?tab=items"
    # the forms nobody asked for stay closed
    blank = bob.get(f"/debtors/{debtor.pk}/?tab=items").content.decode()
    assert '<details data-testid="payment-details">' in blank


def test_after_a_form_the_case_file_comes_back_on_the_tab_it_was_sent_from(
    bob: Client, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    base = f"http://testserver/debtors/{debtor.pk}/"
    by_htmx = bob.post(
        f"/debtors/{debtor.pk}/notes",
        {"note-text": "Rückruf am Montag"},
        headers={"HX-Request": "true", "HX-Current-URL": base + "?tab=conversation"},
    )
    assert by_htmx.status_code == 302 and by_htmx["Location"] == f"/debtors/{debtor.pk}/?tab=conversation"
    by_browser = bob.post(
        f"/debtors/{debtor.pk}/hold", {"on_hold": "1"}, headers={"Referer": base + "?tab=details"}
    )
    assert by_browser["Location"] == f"/debtors/{debtor.pk}/?tab=details"
    nowhere = bob.post(
        f"/debtors/{debtor.pk}/hold", {"on_hold": "0"}, headers={"Referer": base + "?tab=evil"}
    )
    assert nowhere["Location"] == f"/debtors/{debtor.pk}/"


def test_the_call_form_marks_the_fields_of_each_outcome_and_the_server_still_checks(
    bob: Client, company: Any, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    task = Task.objects.create(company=company, debtor=debtor, kind="call", due_on=timezone.localdate())
    page = bob.get(f"/debtors/{debtor.pk}/?tab=conversation").content.decode()
    form = page[page.index('data-testid="call-form"') :]
    form = form[: form.index("</form>")]
    assert re.search(r'data-outcomes="promised"><label for="id_call-\d+-promised_on"', form)
    assert re.search(r'data-outcomes="promised"><label for="id_call-\d+-amount"', form)
    assert re.search(r'data-outcomes="disputed"><label for="id_call-\d+-dispute_reason"', form)
    assert not re.search(
        r'data-outcomes="[^"]*"><label for="id_call-\d+-notes"', form
    )  # notes: every outcome
    # a promise without its date (as a page without JavaScript, or a forged post, would send it) is refused
    response = bob.post(
        f"/debtors/{debtor.pk}/tasks/{task.pk}/outcome", {f"call-{task.pk}-outcome": "promised"}
    )
    assert response.status_code == 422
    assert [k for k, shown in panels(response.content.decode()).items() if shown] == ["conversation"]
    task.refresh_from_db()
    assert task.status == "open"


# -- notes -------------------------------------------------------------------------------------------------


def test_a_note_is_kept_with_its_author_and_shown_escaped_on_the_conversation(
    bob: Client, carol: Client, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    text = '<script>alert("x")</script> Buchhaltung sagt: Rechnung nie erhalten'
    assert bob.post(f"/debtors/{debtor.pk}/notes", {"note-text": f"  {text}\n"}).status_code == 302
    (note,) = Note.objects.filter(debtor=debtor)
    assert (note.text, note.author, note.company_id) == (text, "user:bob", debtor.company_id)
    page = carol.get(f"/debtors/{debtor.pk}/?tab=conversation").content.decode()
    entry = re.search(r'<li class="entry-note" data-testid="timeline-note">(.*?)</li>', page, re.S)
    assert entry is not None
    assert html.escape(text) in entry.group(1)
    assert "<script>alert" not in page and "· bob" in entry.group(1)


def test_notes_too_long_empty_or_by_a_viewer_are_refused_and_nothing_is_kept(
    bob: Client, carol: Client, dave: Client, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    url = f"/debtors/{debtor.pk}/notes"
    too_long = bob.post(url, {"note-text": "x" * (NOTE_MAX_LENGTH + 1)})
    assert too_long.status_code == 422
    assert "at most 2000 characters" in too_long.content.decode()
    assert bob.post(url, {"note-text": "   "}).status_code == 422
    assert carol.post(url, {"note-text": "a viewer's note"}).status_code == 403
    assert dave.post(url, {"note-text": "another company"}).status_code == 404
    assert not Note.objects.exists()
    assert bob.post(url, {"note-text": "x" * NOTE_MAX_LENGTH}).status_code == 302
    assert Note.objects.get().text == "x" * NOTE_MAX_LENGTH


def test_the_details_tab_shows_the_history_of_the_customers_data(
    bob: Client, company: Any, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    timeline.event(
        debtor.pk,
        company.pk,
        "debtor_details_changed",
        timezone.localdate(),
        actor="user:bob",
        fields="street, city",
    ).save()
    timeline.event(debtor.pk, company.pk, "payment_recorded", timezone.localdate(), amount="1.00 EUR").save()
    page = bob.get(f"/debtors/{debtor.pk}/?tab=details").content.decode()
    history = page[page.index('data-testid="details-history"') :]
    history = history[: history.index("</ol>")]
    assert "street, city" in history and "bob" in history
    assert "Payment" not in history and "Zahlung" not in history


# -- messages ----------------------------------------------------------------------------------------------


def test_each_message_is_one_entry_of_the_conversation_with_its_state(
    carol: Client, company: Any, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    day = timezone.localdate()
    sent = message(debtor, 1, status="sent", sent_at=timezone.now())
    retrying = message(
        debtor,
        2,
        channel="sms",
        recipient="+4915112345678",
        subject="",
        body_text="Bitte zahlen Sie 119,00 EUR.",
        attempts=2,
        last_error="SMS provider answered 503",
        next_attempt_at=timezone.now() + timedelta(minutes=4),
    )
    failed = message(debtor, 3, channel="letter", recipient="Anna Schulz", status="failed", last_error="x")
    for m in (sent, retrying):
        for kind in ("message_queued", "message_sent"):
            timeline.event(
                debtor.pk, company.pk, kind, day, channel=m.channel, recipient=m.recipient, subject=m.subject
            ).save()
    page = carol.get(f"/debtors/{debtor.pk}/?tab=conversation").content.decode()
    latest = page[page.index('data-testid="latest-message"') :]
    latest = latest[: latest.index("</p>")]  # the overview names the newest message, with its state
    assert f'href="/debtors/{debtor.pk}/messages/{failed.pk}/"' in latest and "state-failed" in latest
    states = re.findall(r'data-testid="timeline-message" data-state="(\w+)"', page)
    assert sorted(states) == ["failed", "retrying", "sent"]
    conversation = page[page.index('data-testid="timeline"') :]
    for m in (sent, retrying, failed):
        assert conversation.count(f'href="/debtors/{debtor.pk}/messages/{m.pk}/"') == 1
    assert "queued:" not in page and "in Warteschlange" not in page  # the queued and sent events are folded


def test_the_email_as_built_with_headers_text_and_a_sealed_html_part(
    carol: Client, company: Any, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    msg = message(debtor, body_text='Guten Tag,\n\n<img src=x onerror="alert(1)"> zahlen Sie bitte.')
    response = carol.get(f"/debtors/{debtor.pk}/messages/{msg.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    headers = page[page.index('data-testid="message-headers"') :]
    assert "<dt>To</dt><dd>ap@schulz.example</dd>" in headers
    assert f"<dt>Message-ID</dt><dd>{html.escape(msg.message_id)}</dd>" in headers
    assert "<dt>Subject</dt><dd>Zahlungserinnerung RE-1</dd>" in headers
    assert 'data-state="queued"' in page
    frame = re.search(r"<iframe [^>]*>", page)
    assert frame is not None and 'sandbox=""' in frame.group(0)
    assert "<img src=x" not in page  # the hostile text is text, in the frame and in the plain part
    assert "&lt;img src=x" in page


def test_an_sms_a_retrying_state_and_a_letter_with_its_pdf(
    carol: Client, company: Any, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    sms = message(
        debtor,
        1,
        channel="sms",
        recipient="+4915112345678",
        subject="",
        body_text="Bitte zahlen Sie 119,00 EUR.",
        attempts=1,
        last_error="SMS provider answered 503",
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )
    page = carol.get(f"/debtors/{debtor.pk}/messages/{sms.pk}/").content.decode()
    assert 'data-state="retrying"' in page and "SMS provider answered 503" in page
    assert "Bitte zahlen Sie 119,00 EUR." in page and "<iframe" not in page
    assert "28 characters" in page
    letter = message(debtor, 2, channel="letter", recipient="Anna Schulz")
    page = carol.get(f"/debtors/{debtor.pk}/messages/{letter.pk}/").content.decode()
    assert f'href="/debtors/{debtor.pk}/documents/letter/{letter.pk}"' in page


def test_a_message_of_another_company_or_debtor_is_not_found(
    carol: Client, dave: Client, company: Any, make_debtor: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Anna Schulz")
    other = make_debtor(name="Bernd Meier")
    msg = message(debtor)
    assert dave.get(f"/debtors/{debtor.pk}/messages/{msg.pk}/").status_code == 404
    assert carol.get(f"/debtors/{other.pk}/messages/{msg.pk}/").status_code == 404
    assert carol.get(f"/debtors/{debtor.pk}/messages/{msg.pk}/").status_code == 200
    assert Client().get(f"/debtors/{debtor.pk}/messages/{msg.pk}/").status_code == 302


def test_the_email_as_a_file_dated_when_it_went_out(
    carol: Client, dave: Client, make_debtor: Callable[..., Any]
) -> None:
    from email import message_from_bytes, policy
    from email.utils import parsedate_to_datetime

    debtor = make_debtor(name="Anna Schulz")
    went_out = timezone.now() - timedelta(days=3)
    msg = message(debtor, status="sent", sent_at=went_out)
    page = carol.get(f"/debtors/{debtor.pk}/messages/{msg.pk}/").content.decode()
    url = f"/debtors/{debtor.pk}/messages/{msg.pk}/email.eml"
    assert f'href="{url}"' in page
    response = carol.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "message/rfc822"
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and ".eml" in response["Content-Disposition"]
    )
    mail = message_from_bytes(response.content, policy=policy.default)
    assert (mail["To"], mail["Subject"], mail["Message-ID"]) == (
        "ap@schulz.example",
        "Zahlungserinnerung RE-1",
        msg.message_id,
    )
    assert abs((parsedate_to_datetime(mail["Date"]) - went_out).total_seconds()) < 1
    plain = mail.get_body(preferencelist=("plain",))
    html_part = mail.get_body(preferencelist=("html",))
    assert plain is not None and "119,00 EUR" in plain.get_content()
    assert html_part is not None and "119,00 EUR" in html_part.get_content()
    # an SMS or letter is no email file; another company's message is not found
    sms = message(debtor, 2, channel="sms", recipient="+4915112345678", subject="")
    assert carol.get(f"/debtors/{debtor.pk}/messages/{sms.pk}/email.eml").status_code == 404
    assert dave.get(url).status_code == 404


def test_the_email_file_carries_the_letter_kept_when_it_went_out(
    carol: Client, make_debtor: Callable[..., Any], file_storage: Any
) -> None:
    from email import message_from_bytes, policy

    from mahnwerk.comms import sent_pdfs

    debtor = make_debtor(name="Anna Schulz", street="Feldweg 2", postcode="10115", city="Berlin")
    msg = message(debtor, status="sent", sent_at=timezone.now(), payload={"document": "agreement"})
    kept = b"%PDF-1.4\n% the letter as it went out\n%%EOF\n"
    sent_pdfs.keep(msg, kept)
    response = carol.get(f"/debtors/{debtor.pk}/messages/{msg.pk}/email.eml")
    mail = message_from_bytes(response.content, policy=policy.default)
    pdfs = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert [p.get_content() for p in pdfs] == [kept]
