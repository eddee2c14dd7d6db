"""Message templates: shipped as files, editable per company, checked when saved, rendered for every channel.

Lookup of (name, tone, language, kind) — first match wins, for each tone in turn of: the requested tone,
``any``, the template's natural tone (:data:`NATURAL_TONES`):

1. the company's own version in the database (:class:`MessageTemplate`);
2. the shipped file ``comms/templates/comms/messages/<kind>/<name>.<tone>.<language>.txt``.

Shipped files: email in every tone (friendly, firm, formal); SMS once per step and language with the tone
``any`` (an SMS is too short for tones); letters in the step's natural tone. Email and letter files start
with a ``Subject: ...`` line; the rest is the body. A letter's body is paragraphs separated by blank lines:
the first is the greeting, one starting with ``Closing:`` is the closing formula, the others are the text
printed above the list of items (the letter layout adds the list, the deadline and the bank details).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.template import Context, Template, TemplateSyntaxError
from django.utils import translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext as _

from mahnwerk.comms.documents import creditor_details
from mahnwerk.comms.letters import LetterContext, LetterItem, letter_qr_payload
from mahnwerk.comms.placeholders import ALLOWED_PLACEHOLDERS, ENGINE, Problem, check_template
from mahnwerk.comms.rendering import (
    LANGUAGES,
    MessageItem,
    RenderedMessage,
    group_iban,
    message_item,
    payment_reference,
    reminder_context,
)
from mahnwerk.comms.template_models import MessageTemplate, TemplateKind, TemplateTone
from mahnwerk.core.calendar import today_in
from mahnwerk.core.sms import SmsBudgetError, analyse_sms, check_sms_budget
from mahnwerk.ledger.models import Company, Debtor, Invoice

SHIPPED_DIR = Path(__file__).resolve().parent / "templates" / "comms" / "messages"
KINDS = tuple(TemplateKind.values)
TONES = ("friendly", "firm", "formal")
ANY_TONE = "any"
SMS_MAX_SEGMENTS = 2
SUBJECT_MAX_LENGTH = MessageTemplate._meta.get_field("subject").max_length or 250
NATURAL_TONES = {
    "pre_due": "friendly",
    "reminder": "friendly",
    "firm_reminder": "firm",
    "final_notice": "formal",
    "thank_you": "friendly",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_SUBJECT = "Subject:"
_CLOSING = "Closing:"
# SMS: characters with a plain GSM 7-bit equivalent are replaced, so a German text stays in one alphabet.
_SMS_PLAIN = str.maketrans(
    {"\xa0": " ", "\u202f": " ", "\u2009": " ", "–": "-", "—": "-", "„": '"', "“": '"'}
)
_SMS_PLAIN.update(str.maketrans({"”": '"', "‚": "'", "‘": "'", "’": "'", "…": "..."}))


class TemplateError(ValueError):
    """A template that cannot be found or used."""


class TemplateNotFound(TemplateError, LookupError):
    pass


class TemplateValidationError(TemplateError):
    """A template refused on saving; ``problems`` lists every reason with its place."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """The text a template resolves to and where it comes from (``database`` or ``file``)."""

    name: str
    tone: str  # the tone of the text found (may differ from the tone asked for)
    language: str
    kind: str
    subject: str
    body: str
    origin: str
    path: str = ""  # the shipped file, for origin "file"
    requested_tone: str = ""
    updated_at: datetime | None = None
    updated_by: str = ""

    @property
    def edited(self) -> bool:
        return self.origin == "database"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tone": self.tone,
            "requested_tone": self.requested_tone,
            "language": self.language,
            "kind": self.kind,
            "origin": self.origin,
            "path": self.path,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_by": self.updated_by,
            "subject": self.subject,
            "body": self.body,
        }


def natural_tone(name: str) -> str:
    """The tone a template is written in by default: the tone of the step of the shipped playbook."""
    return NATURAL_TONES.get(name, "friendly")


def shipped_path(name: str, tone: str, language: str, kind: str) -> Path:
    return SHIPPED_DIR / kind / f"{name}.{tone}.{language}.txt"


def split_subject(text: str, where: str = "template") -> tuple[str, str]:
    """Split a file's text into its ``Subject:`` line and the body."""
    first, _nl, body = text.lstrip().partition("\n")
    if not first.startswith(_SUBJECT):
        raise TemplateError(f"{where} must start with 'Subject: ...'")
    return first.removeprefix(_SUBJECT).strip(), body.strip("\n")


@functools.lru_cache(maxsize=1024)
def read_shipped(name: str, tone: str, language: str, kind: str) -> tuple[str, str, Path] | None:
    """(subject, body, path) of a shipped file, or None when there is none (read once per process)."""
    path = shipped_path(name, tone, language, kind)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if kind == TemplateKind.SMS:
        return "", text.strip("\n"), path
    subject, body = split_subject(text, str(path))
    return subject, body, path


def _candidate_tones(name: str, tone: str) -> list[str]:
    return list(dict.fromkeys([tone, ANY_TONE, natural_tone(name)]))


# The company's own versions, per process, read again after OVERRIDES_TTL seconds: the run renders thousands of
# messages and must not ask the database for each one. A save or reset in this process is seen at once, one in
# another process (the web application while a worker runs) within OVERRIDES_TTL.
OVERRIDES_TTL = 5.0
_Key = tuple[str, str, str, str]  # name, tone, language, kind
_cache: dict[int, tuple[float, datetime | None, dict[_Key, MessageTemplate]]] = {}


def _company_overrides(company: Company) -> dict[_Key, MessageTemplate]:
    now = time.monotonic()
    hit = _cache.get(company.pk)
    if hit is not None and now - hit[0] < OVERRIDES_TTL and hit[1] == company.created_at:
        return hit[2]
    rows = {
        (t.name, t.tone, t.language, t.kind): t
        for t in MessageTemplate.objects.filter(company=company).select_related("updated_by")
    }
    _cache[company.pk] = (now, company.created_at, rows)
    return rows


def forget_cached_templates(company: Company | None = None) -> None:
    """Drop the cached versions of one company (or all): the next lookup reads the database."""
    if company is None:
        _cache.clear()
    else:
        _cache.pop(company.pk, None)


def _from_row(row: MessageTemplate, requested_tone: str) -> TemplateSource:
    user = row.updated_by
    return TemplateSource(
        name=row.name,
        tone=row.tone,
        language=row.language,
        kind=row.kind,
        subject=row.subject,
        body=row.body,
        origin="database",
        requested_tone=requested_tone,
        updated_at=row.updated_at,
        updated_by=user.get_username() if user is not None else "",
    )


def resolve_template(company: Company, name: str, tone: str, language: str, kind: str) -> TemplateSource:
    """The text to use for (name, tone, language, kind): the company's edited version, else the shipped file;
    for a tone with neither, the same for ``any`` and then for the template's natural tone."""
    tones = _candidate_tones(name, tone)
    overrides = _company_overrides(company)
    for candidate in tones:
        row = overrides.get((name, candidate, language, kind))
        if row is not None:
            return _from_row(row, tone)
        shipped = read_shipped(name, candidate, language, kind)
        if shipped is not None:
            subject, body, path = shipped
            return TemplateSource(
                name, candidate, language, kind, subject, body, "file", str(path), requested_tone=tone
            )
    raise TemplateNotFound(
        f"no {kind} template {name!r} for tone {tone!r} in language {language!r} "
        f"(looked for tones {', '.join(tones)} in the database and in {SHIPPED_DIR / kind})"
    )


def shipped_templates() -> list[tuple[str, str, str, str]]:
    """(kind, name, tone, language) of every shipped file."""
    found = []
    for kind in KINDS:
        for path in sorted((SHIPPED_DIR / kind).glob("*.txt")):
            parts = path.name.removesuffix(".txt").split(".")
            if len(parts) == 3:
                found.append((kind, parts[0], parts[1], parts[2]))
    return found


def list_templates(
    company: Company, kind: str | None = None, name: str | None = None, language: str | None = None
) -> list[dict[str, Any]]:
    """Every template the company has: the shipped files and its own versions (``edited``: a file's text
    replaced; ``custom``: a template with no shipped file)."""
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for k, n, t, lang in shipped_templates():
        rows[(k, n, t, lang)] = {
            "kind": k,
            "name": n,
            "tone": t,
            "language": lang,
            "origin": "file",
            "updated_at": None,
            "updated_by": "",
        }
    for row in MessageTemplate.objects.filter(company=company).select_related("updated_by"):
        key = (row.kind, row.name, row.tone, row.language)
        rows[key] = {
            "kind": row.kind,
            "name": row.name,
            "tone": row.tone,
            "language": row.language,
            "origin": "edited" if key in rows else "custom",
            "updated_at": row.updated_at.isoformat(),
            "updated_by": row.updated_by.get_username() if row.updated_by else "",
        }
    selected = [
        r
        for r in rows.values()
        if (kind is None or r["kind"] == kind)
        and (name is None or r["name"] == name)
        and (language is None or r["language"] == language)
    ]
    tone_order = {t: i for i, t in enumerate((*TONES, ANY_TONE))}
    return sorted(
        selected,
        key=lambda r: (KINDS.index(r["kind"]), r["name"], tone_order.get(r["tone"], 9), r["language"]),
    )


# --- rendering ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    return ENGINE.from_string(source)


def _render(source: str, context: Mapping[str, Any]) -> str:
    return _compiled(source).render(Context(dict(context), autoescape=False))


def _full_context(company: Company, debtor: Debtor, context: Mapping[str, Any]) -> dict[str, Any]:
    full: dict[str, Any] = {name: "" for name in ALLOWED_PLACEHOLDERS if "." not in name}
    full.update(context)
    full["company"] = company
    full["debtor"] = debtor
    return full


def sms_text(text: str) -> str:
    """An SMS as sent: one line, single spaces, typographic characters replaced by plain ones."""
    return " ".join(text.translate(_SMS_PLAIN).split())


def _compact_sms_context(full: dict[str, Any]) -> dict[str, Any] | None:
    """For an SMS about many invoices: the first invoice number "and N more", and a payment reference of
    the customer number and that invoice (enough for the payment to be matched to the customer). None
    when there is nothing to shorten."""
    numbers = [n for n in str(full.get("numbers", "")).split(", ") if n]
    if len(numbers) < 2:
        return None
    compact = dict(full)
    compact["numbers"] = gettext("{first} and {count} more").format(first=numbers[0], count=len(numbers) - 1)
    reference = str(full.get("reference", "")).split()
    if len(reference) > 2:
        compact["reference"] = " ".join(reference[:2])
    return compact


def _letter_parts(body: str) -> tuple[str, tuple[str, ...], str]:
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", body)]
    paragraphs = [p for p in paragraphs if p]
    closing = ""
    kept = []
    for p in paragraphs:
        if p.startswith(_CLOSING):
            closing = p.removeprefix(_CLOSING).strip()
        else:
            kept.append(p)
    greeting = kept[0] if kept else ""
    return greeting, tuple(kept[1:]), closing


def render_source(
    source: TemplateSource, company: Company, debtor: Debtor, context: Mapping[str, Any]
) -> RenderedMessage:
    """Render a resolved template with ``context`` (placeholders as in ``ALLOWED_PLACEHOLDERS``)."""
    full = _full_context(company, debtor, context)
    with translation.override(source.language):
        subject = " ".join(_render(source.subject, full).split()) if source.subject else ""
        body = _render(source.body, full)
    if source.kind == TemplateKind.SMS:
        text = sms_text(body)
        if analyse_sms(text).segments > SMS_MAX_SEGMENTS:
            with translation.override(source.language):
                compact = _compact_sms_context(full)
                if compact is not None:
                    text = sms_text(_render(source.body, compact))
                    if analyse_sms(text).segments > SMS_MAX_SEGMENTS:  # still too long: the count alone
                        count = len([n for n in str(full.get("numbers", "")).split(", ") if n])
                        compact["numbers"] = ngettext("{count} invoice", "{count} invoices", count).format(
                            count=count
                        )
                        text = sms_text(_render(source.body, compact))
        return RenderedMessage(subject="", body_text=text, kind=source.kind)
    if source.kind == TemplateKind.LETTER:
        greeting, paragraphs, closing = _letter_parts(body)
        text = "\n\n".join([greeting, *paragraphs, *([closing] if closing else [])]) + "\n"
        return RenderedMessage(subject, text, source.kind, greeting, paragraphs, closing)
    body = "\n".join(line.rstrip() for line in body.strip().splitlines())
    return RenderedMessage(
        subject=subject, body_text=re.sub(r"\n{3,}", "\n\n", body) + "\n", kind=source.kind
    )


def render_message(
    company: Company,
    debtor: Debtor,
    name: str,
    tone: str,
    language: str,
    kind: str,
    context: Mapping[str, Any],
) -> RenderedMessage:
    """Render the company's template (name, tone, language, kind) for ``debtor`` with ``context``.

    ``context`` holds the placeholders (``comms.rendering.reminder_context`` builds them for a reminder);
    placeholders it lacks render empty. An SMS comes back as one line (see :func:`sms_text`).
    """
    return render_source(resolve_template(company, name, tone, language, kind), company, debtor, context)


# --- checking and saving -----------------------------------------------------------------------------------

SAMPLE_DATE = date(2026, 11, 23)


def sample_items(currency: str) -> list[MessageItem]:
    """Two realistic invoices, one with default interest and the 40 EUR flat compensation."""
    return [
        MessageItem(
            "RE-2026-0417",
            date(2026, 9, 15),
            date(2026, 10, 15),
            123456,
            currency,
            "RE-2026-0417",
            interest_minor=1234,
            fees_minor=4000,
        ),
        MessageItem("RE-2026-0452", date(2026, 10, 1), date(2026, 10, 31), 84500, currency, "RE-2026-0452"),
    ]


def sample_context(company: Company, language: str, debtor: Debtor | None = None) -> dict[str, Any]:
    """Placeholders filled with realistic values (the company's own name and bank details), for checking."""
    debtor = debtor or Debtor(
        company=company, number="K10023", name="Baltic Timber Trading SIA", language=language
    )
    items = sample_items(company.currency or "EUR")
    context = reminder_context(company, debtor, items, date(2026, 12, 3), SAMPLE_DATE, language)
    with translation.override(language):
        context.update(
            portal_link="https://pay.example.com/p/7Q2MK9XD4T",
            opt_out_line=gettext("Reply STOP to receive no more text messages."),
            objection_notice=gettext(
                "If you dispute this claim, please tell us in writing within 21 days and give your reasons."
            ),
            qr_note=gettext("Scan the QR code with your banking app to pay."),
            incentive_note=gettext(
                "If you pay the full amount by {deadline}, we will waive the fees."
            ).format(deadline="03.12.2026"),
        )
    return context


def _render_problems(
    source: TemplateSource, company: Company, debtor: Debtor, context: Mapping[str, Any]
) -> list[Problem]:
    """What goes wrong rendering each part with ``context`` (a filter given an argument it cannot use, such as
    ``wordwrap:"x"``), as problems with their line."""
    full = _full_context(company, debtor, context)
    failures: list[tuple[str, int, Exception]] = []
    with translation.override(source.language):  # rendered as the message would be ...
        for part, text in (("subject", source.subject), ("body", source.body)):
            try:
                _render(text, full)
            except (TemplateSyntaxError, ValueError, TypeError, ArithmeticError, LookupError) as exc:
                info = getattr(exc, "template_debug", None) or {}
                failures.append((part, int(info.get("line") or 0), exc))
    # ... but the problems are told in the language of the person editing
    return [
        Problem(part, line, _("cannot be rendered: {error}").format(error=exc))
        for part, line, exc in failures
    ]


def validate_template(
    company: Company, name: str, tone: str, language: str, kind: str, subject: str, body: str
) -> list[Problem]:
    """Every reason not to save this template (empty: it can be saved)."""
    problems: list[Problem] = []
    if not _NAME.match(name):
        problems.append(Problem("name", 0, _("a template name is lower-case letters, digits and _")))
    if tone not in (*TONES, ANY_TONE):
        problems.append(Problem("tone", 0, _("unknown tone {tone!r}").format(tone=tone)))
    if language not in LANGUAGES:
        problems.append(Problem("language", 0, _("unknown language {language!r}").format(language=language)))
    if kind not in KINDS:
        problems.append(Problem("kind", 0, _("unknown kind {kind!r}").format(kind=kind)))
    if problems:
        return problems
    if kind == TemplateKind.SMS and subject.strip():
        problems.append(Problem("subject", 1, _("an SMS has no subject")))
    if kind != TemplateKind.SMS and not subject.strip():
        problems.append(Problem("subject", 1, _("the subject is empty")))
    if "\n" in subject.strip():
        problems.append(Problem("subject", 1, _("the subject must be one line")))
    if len(subject.strip()) > SUBJECT_MAX_LENGTH:
        problems.append(
            Problem(
                "subject",
                1,
                _("the subject is longer than {limit} characters").format(limit=SUBJECT_MAX_LENGTH),
            )
        )
    if not body.strip():
        problems.append(Problem("body", 1, _("the text is empty")))
    problems += check_template(subject, "subject")[1] + check_template(body, "body")[1]
    if problems:
        return problems
    source = TemplateSource(name, tone, language, kind, subject.strip(), body, "check")
    sample = Debtor(company=company, number="K10023", name="Baltic Timber Trading SIA", language=language)
    context = sample_context(company, language, sample)
    problems += _render_problems(source, company, sample, context)
    if problems:
        return problems
    rendered = render_source(source, company, sample, context)
    if kind == TemplateKind.LETTER and not (rendered.greeting and rendered.paragraphs):
        problems.append(
            Problem("body", 1, _("a letter needs a greeting, a blank line and at least one paragraph"))
        )
    if kind == TemplateKind.SMS:
        try:
            check_sms_budget(f"{kind}/{name}.{tone}.{language}", rendered.body_text, SMS_MAX_SEGMENTS)
        except SmsBudgetError as exc:
            problems.append(
                Problem(
                    "body",
                    0,
                    _(
                        "with sample values the SMS needs {segments} segments ({encoding}), at most {limit} "
                        "are allowed: shorten it by {overflow} characters"
                    ).format(
                        segments=exc.info.segments,
                        encoding=exc.info.encoding,
                        limit=SMS_MAX_SEGMENTS,
                        overflow=exc.overflow,
                    ),
                )
            )
    return problems


def save_template(
    company: Company,
    name: str,
    tone: str,
    language: str,
    kind: str,
    subject: str,
    body: str,
    user: User | None = None,
) -> MessageTemplate:
    """Store the company's own version of a template; refuse it with every problem found."""
    problems = validate_template(company, name, tone, language, kind, subject, body)
    if problems:
        raise TemplateValidationError(problems)
    with transaction.atomic():
        row, _created = MessageTemplate.objects.update_or_create(
            company=company,
            name=name,
            tone=tone,
            language=language,
            kind=kind,
            defaults={"subject": subject.strip(), "body": body.strip("\n"), "updated_by": user},
        )
    forget_cached_templates(company)
    transaction.on_commit(lambda: forget_cached_templates(company))
    return row


def reset_template(company: Company, name: str, tone: str, language: str, kind: str) -> bool:
    """Drop the company's version: the shipped file applies again. False when there was none."""
    deleted, _rows = MessageTemplate.objects.filter(
        company=company, name=name, tone=tone, language=language, kind=kind
    ).delete()
    forget_cached_templates(company)
    transaction.on_commit(lambda: forget_cached_templates(company))
    return deleted > 0


# --- preview and letters -----------------------------------------------------------------------------------


def _step_deadline_days(company: Company, debtor: Debtor, name: str) -> int:
    from mahnwerk.collection.models import Case, Playbook, Step

    case = Case.objects.filter(debtor=debtor).select_related("playbook").first()
    playbook = case.playbook if case is not None and case.playbook is not None else None
    if playbook is None:
        playbook = Playbook.objects.filter(company=company, is_default=True).first()
    step = Step.objects.filter(playbook=playbook, template=name).first() if playbook else None
    return step.deadline_days if step is not None else 0


def open_items(company: Company, debtor: Debtor, as_of: date) -> list[MessageItem]:
    """The debtor's open invoices as message lines, with interest and fees to ``as_of``."""
    from mahnwerk.ledger.claims import claim_views, debtor_law

    invoices = list(
        Invoice.objects.filter(
            company=company, debtor=debtor, open_minor__gt=0, issue_date__lte=as_of
        ).order_by("due_date", "number")
    )
    claims = claim_views(company, invoices, {debtor.pk: debtor_law(company, debtor)}, as_of)
    return [message_item(inv, claims.get(inv.pk), inv.open_minor) for inv in invoices]


@dataclass(frozen=True, slots=True)
class Preview:
    """A template rendered for a real debtor, with what a letter needs besides the text."""

    rendered: RenderedMessage
    items: list[MessageItem]
    deadline: date | None
    as_of: date
    language: str


def draft_source(name: str, tone: str, language: str, kind: str, subject: str, body: str) -> TemplateSource:
    """Text not saved yet (being edited), to preview it with :func:`preview_source` once
    :func:`validate_template` finds no problem in it."""
    return TemplateSource(
        name, tone, language, kind, "" if kind == TemplateKind.SMS else subject.strip(), body, "draft"
    )


def preview_source(
    company: Company, debtor: Debtor, source: TemplateSource, as_of: date | None = None
) -> Preview:
    """The message ``debtor`` would get from ``source`` (saved, shipped or a draft) today: its open items from
    the database with interest and fees, the deadline of the step that uses the template (in the debtor's
    playbook), in the template's language. Nothing is stored."""
    if debtor.company_id != company.pk:
        raise TemplateError("the debtor belongs to another company")
    as_of = as_of or today_in(company.time_zone)
    items = open_items(company, debtor, as_of)
    days = _step_deadline_days(company, debtor, source.name)
    deadline = date.fromordinal(as_of.toordinal() + days) if days else None
    context = reminder_context(
        company, debtor, items, deadline, as_of, source.language, source.tone, source.kind
    )
    rendered = render_source(source, company, debtor, context)
    return Preview(rendered, items, deadline, as_of, source.language)


def preview(
    company: Company,
    debtor: Debtor,
    name: str,
    tone: str | None = None,
    language: str | None = None,
    kind: str = "email",
    as_of: date | None = None,
) -> RenderedMessage:
    """The message ``debtor`` would get from the company's version of this template today (see
    :func:`preview_source`); ``language`` None: the debtor's. Nothing is stored."""
    if debtor.company_id != company.pk:
        raise TemplateError("the debtor belongs to another company")
    language = language or (debtor.language if debtor.language in LANGUAGES else company.default_language)
    source = resolve_template(company, name, tone or natural_tone(name), language, kind)
    return preview_source(company, debtor, source, as_of).rendered


def letter_context(
    company: Company,
    debtor: Debtor,
    rendered: RenderedMessage,
    items: list[MessageItem],
    deadline: date | None,
    as_of: date,
    language: str,
) -> LetterContext:
    """A PDF letter (``comms.letters``) from a rendered letter template and the items it lists."""
    from mahnwerk.comms.salutation import country_line

    address = [*debtor.address_lines(), *filter(None, [country_line(company, debtor)])]
    currencies = {i.currency for i in items} or {company.currency}
    ctx = LetterContext(
        creditor_name=company.name,
        creditor_address_lines=tuple(company.address_lines()),
        creditor_iban=group_iban(company.iban),
        creditor_bic=company.bic,
        recipient_name=debtor.name,
        recipient_address_lines=tuple(address),
        recipient_postcode=debtor.postcode,
        recipient_country=debtor.country,
        language=language,
        letter_date=as_of,
        subject=rendered.subject,
        greeting=rendered.greeting,
        paragraphs=rendered.paragraphs,
        closing=rendered.closing,
        items=tuple(
            LetterItem(i.number, i.issue_date, i.due_date, i.open_minor, i.interest_minor, i.fees_minor)
            for i in items
        ),
        currency=sorted(currencies)[0],
        customer_number=debtor.number,
        new_deadline=deadline,
        payment_reference=payment_reference(debtor, items) if items else "",
        signature=company.name,
        **creditor_details(company, language),
    )
    return dataclasses.replace(ctx, qr_payload=letter_qr_payload(ctx))


def preview_letter(company: Company, debtor: Debtor, shown: Preview) -> LetterContext:
    """The PDF letter (``comms.letters.render_letter_pdf``) of a previewed letter template."""
    return letter_context(
        company, debtor, shown.rendered, shown.items, shown.deadline, shown.as_of, shown.language
    )


__all__ = [
    "ALLOWED_PLACEHOLDERS",
    "Preview",
    "TemplateError",
    "TemplateNotFound",
    "TemplateSource",
    "TemplateTone",
    "TemplateValidationError",
    "draft_source",
    "forget_cached_templates",
    "letter_context",
    "list_templates",
    "natural_tone",
    "preview",
    "preview_letter",
    "preview_source",
    "render_message",
    "reset_template",
    "resolve_template",
    "save_template",
    "validate_template",
]
