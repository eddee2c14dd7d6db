"""The daily print batch of letters, and letters the post brings back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.services import cancel_actions
from mahnwerk.comms import sent_pdfs
from mahnwerk.comms.documents import letter_context
from mahnwerk.comms.email_build import invoice_copies
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.comms.outbox import LETTER_MIN_DEADLINE_DAYS, stale_reasons, withdraw
from mahnwerk.comms.redating import redate
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Company, Debtor
from mahnwerk.ledger.services import company_today


@dataclass
class PrintBatch:
    path: Path | None
    letters: int
    withdrawn: dict[str, int] = field(default_factory=dict)  # letters taken back, per reason


# Why letters were taken out of a batch, in its summary (``outbox.stale_reasons``' reasons).
WITHDRAWN_LABELS = {
    "paid": _("paid, credited or written off meanwhile"),
    "invoice_hold": _("item on hold"),
    "dispute": _("item in dispute"),
    "promise": _("promise to pay"),
    "plan": _("instalment plan"),
    "settlement": _("settlement offered"),
    "incentive": _("offer still running"),
    "do_not_contact": _("debtor not to be contacted"),
    "case_hold": _("case on hold"),
    "deadline": _("deadline passed or less than {days} days away"),
    "superseded": _("an earlier letter to the same customer goes first"),
}


def withdrawn_summary(withdrawn: dict[str, int]) -> str:
    """How many letters a batch withdrew and why, in the active language; empty when none were."""
    if not withdrawn:
        return ""
    days = {"deadline": LETTER_MIN_DEADLINE_DAYS}
    parts = [
        f"{count} × " + str(WITHDRAWN_LABELS.get(reason, reason)).format(days=days.get(reason, ""))
        for reason, count in sorted(withdrawn.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    total = sum(withdrawn.values())
    return ngettext(
        "{count} letter withdrawn: {reasons}", "{count} letters withdrawn: {reasons}", total
    ).format(count=total, reasons=", ".join(parts))


def enclosed_copies(letters: list[OutboundMessage]) -> list[list[tuple[str, bytes]]]:
    """Per letter, the stored copies of the invoices a reminder after the due date lists (so that "never
    received" is no excuse; as the emails attach them). Agreements and other documents go without."""
    return [
        [] if message.payload.get("document") else invoice_copies(message, pdf_only=True)
        for message in letters
    ]


class NotReturnable(ValueError):
    """A letter that did not go out, or was recorded as returned before, cannot come back (again)."""


class NoReturnAddress(ValueError):
    """The company has no postal address: a letter without a return address is not sent."""


def print_letters(company: Company, day: date | None = None) -> PrintBatch:
    """Render every queued letter of ``company`` into one PDF (postcode order) and mark them sent.

    Each reminder letter is checked against the ledger first (``outbox.stale_reasons``: paid, on hold, in
    dispute, held by an agreement; a deadline fewer than 7 days after ``day``; written more than 3 days
    before it); one that no longer fits is withdrawn with its action, and the next run writes a fresh one.
    Raises :class:`NoReturnAddress` (nothing printed, nothing changed) while the company has no postal address.
    """
    if not company.has_postal_address():
        raise NoReturnAddress(
            gettext(
                "{company} has no complete postal address (street, postcode, city): a letter needs a return "
                "address, and the customer one to write to. The letters stay queued; set the address with "
                "'mahnwerk company update {slug} --street ... --postcode ... --city ...' or on the settings "
                "page."
            ).format(company=company.name, slug=company.slug)
        )
    day = day or company_today(company)
    letters = list(
        OutboundMessage.objects.filter(company=company, channel="letter", status=MessageStatus.QUEUED)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=timezone.now()))
        .select_related("company", "debtor", "action")
        .order_by("id")
    )
    stale = stale_reasons(letters, print_date=day)
    withdrawn = withdraw(letters, stale, day) if stale else {}
    letters = [m for m in letters if m.pk not in stale]
    if not letters:
        return PrintBatch(None, 0, withdrawn)
    from mahnwerk.comms.compose import ensure_rendered

    ensure_rendered(letters)
    redate(letters, day)
    from mahnwerk.comms.letters import render_print_batch

    folder = settings.DOCUMENTS_DIR / company.slug / "letters"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{day.isoformat()}-batch-{letters[0].pk}-{letters[-1].pk}.pdf"
    enclosures = {
        n: [content for _name, content in copies] for n, copies in enumerate(enclosed_copies(letters))
    }
    batch = render_print_batch(
        [letter_context(m) for m in letters],
        enclosures=enclosures,
        keep=lambda index, pdf: sent_pdfs.keep(letters[index], pdf),
    )
    path.write_bytes(batch)
    with transaction.atomic():
        OutboundMessage.objects.filter(pk__in=[m.pk for m in letters], status=MessageStatus.QUEUED).update(
            status=MessageStatus.SENT, sent_at=timezone.now(), document=str(path)
        )
        timeline.record(
            timeline.event(
                m.debtor_id,
                company.pk,
                "letter_printed",
                m.action.as_of if m.action else day,
                batch=path.name,
            )
            for m in letters
        )
    return PrintBatch(path, len(letters), withdrawn)


@transaction.atomic
def record_returned_letter(message: OutboundMessage, actor: str = "system") -> None:
    """The post brought a letter back: the address is invalid and the step is given again on another channel."""
    if message.channel != "letter":
        raise ValueError("only letters come back by post")
    if message.status != MessageStatus.SENT:
        raise NotReturnable(
            gettext("letter {id} was already recorded as returned").format(id=message.pk)
            if message.status == MessageStatus.RETURNED
            else gettext("letter {id} was never printed: only a letter that went out can come back").format(
                id=message.pk
            )
        )
    OutboundMessage.objects.filter(pk=message.pk).update(status=MessageStatus.RETURNED)
    Debtor.objects.filter(pk=message.debtor_id).update(address_invalid=True)
    if message.action_id:
        cancel_actions([message.action_id])
    day = company_today(message.company)
    timeline.event(message.debtor_id, message.company_id, "message_returned", day, actor=actor).save()
