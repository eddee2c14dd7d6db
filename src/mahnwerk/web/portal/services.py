"""What a debtor does on its portal page: update its contact details, tell us it has paid; its visits and
downloads are noted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Debtor, Invoice, TimelineEvent
from mahnwerk.ledger.services import company_today, set_primary_contacts

if TYPE_CHECKING:
    from mahnwerk.collection.agreements_models import Promise


# "I have paid": reminders for the items wait this many business days after the stated payment date for the
# payment to show on the bank statement (and at least until the day the customer tells us).
PAID_NOTICE_GRACE_BUSINESS_DAYS = 5
# The payment date stated may be at most this many days back.
PAID_NOTICE_MAX_DAYS_BACK = 30


def note_portal_visit(debtor: Debtor, *, document: str = "", ref: str = "", actor: str = "debtor") -> bool:
    """Put the debtor's visit to its page on the timeline — or, with ``document`` (its name) and ``ref`` (a key
    such as ``invoice:12``), its download of that document: the clerk sees that the reminder was read and that
    the copy of the invoice reached the debtor. Once a business date for each, so a reload adds nothing (one
    query then). Returns whether an event was written."""
    kind, data = (
        (timeline.DOCUMENT_DOWNLOADED, {"document": document, "ref": ref})
        if ref
        else (timeline.PORTAL_OPENED, {})
    )
    today = company_today(debtor.company)
    seen = TimelineEvent.objects.filter(debtor_id=debtor.pk, kind=kind, business_date=today)
    if (seen.filter(data__ref=ref) if ref else seen).exists():
        return False
    timeline.event(debtor.pk, debtor.company_id, kind, today, actor=actor, **data).save()
    return True


def update_contact_details(
    debtor: Debtor, *, email: str = "", phone: str = "", actor: str = "debtor"
) -> list[str]:
    """The debtor's own change of its email address or phone number on its page (``ledger.services``)."""
    return [
        f"{kind}: {value}"
        for kind, value in set_primary_contacts(debtor, email=email, phone=phone, actor=actor, label="portal")
    ]


def extendable_invoices(debtor: Debtor, today: date, days: int) -> list[Invoice]:
    """The debtor's open invoices a one-click extension may cover: due by ``today + days`` and not covered by
    a pending promise, a proposed or running plan, an offered settlement or an open dispute."""
    from mahnwerk.collection.agreements_models import (
        Dispute,
        DisputeStatus,
        InstalmentPlan,
        OfferStatus,
        PlanStatusChoice,
        Promise,
        PromiseStatus,
        Settlement,
    )

    if days <= 0:
        return []
    invoices = list(
        Invoice.objects.filter(
            debtor=debtor,
            open_minor__gt=0,
            issue_date__lte=today,
            due_date__lte=date.fromordinal(today.toordinal() + days),
        ).order_by("due_date", "number")
    )
    ids = [inv.pk for inv in invoices]
    if not ids:
        return []
    covered: set[int] = set()
    for model, status in (
        (Promise, [PromiseStatus.PENDING]),
        (InstalmentPlan, [PlanStatusChoice.PROPOSED, PlanStatusChoice.ACTIVE]),
        (Settlement, [OfferStatus.OFFERED]),
    ):
        through = model.invoices.through
        column = f"{model._meta.model_name}_id"
        covered.update(
            through.objects.filter(invoice_id__in=ids, **{f"{column[:-3]}__status__in": status}).values_list(
                "invoice_id", flat=True
            )
        )
    covered.update(
        Dispute.objects.filter(invoice_id__in=ids, status=DisputeStatus.OPEN).values_list(
            "invoice_id", flat=True
        )
    )
    return [inv for inv in invoices if inv.pk not in covered]


def paid_notice_items(debtor: Debtor, chosen: Sequence[Invoice], today: date) -> list[Invoice]:
    """The items a paid notice covers: those the debtor chose, else its open invoices not covered by another
    agreement or an open dispute."""
    if chosen:
        return sorted(chosen, key=lambda inv: (inv.due_date, inv.number))
    return extendable_invoices(debtor, today, (date.max - today).days)


def open_claim_minor(debtor: Debtor, items: Sequence[Invoice], today: date) -> int:
    """What is open on ``items`` today, as the debtor's page shows it: principal, interest and costs."""
    from mahnwerk.comms.rendering import message_item
    from mahnwerk.ledger.claims import claim_views

    claims = claim_views(debtor.company, list(items), {debtor.pk: debtor.kind}, today)
    return sum(message_item(i, claims.get(i.pk), i.open_minor).total_minor for i in items)


def paid_notice_until(debtor: Debtor, paid_on: date, today: date) -> date:
    """The last day the items of a paid notice are held: the stated date plus the grace business days, not
    before today."""
    from mahnwerk.core.calendar import add_business_days

    return max(add_business_days(paid_on, PAID_NOTICE_GRACE_BUSINESS_DAYS, debtor.company.country), today)


def record_paid_notice(
    debtor: Debtor, items: Sequence[Invoice], paid_on: date, amount_minor: int, *, actor: str = "debtor"
) -> Promise:
    """The debtor says it paid ``amount_minor`` on ``paid_on`` for ``items``: a promise of the paid-notice
    kind holds their reminders until the payment shows or the grace has passed (then they simply go on)."""
    from django.utils import translation
    from django.utils.translation import gettext

    from mahnwerk.collection.agreements import PAID_NOTICE, AgreementError, record_promise
    from mahnwerk.core.calendar import format_date

    company = debtor.company
    today = company_today(company)
    if paid_on > today or paid_on < today - timedelta(days=PAID_NOTICE_MAX_DAYS_BACK):
        raise AgreementError("the payment date is in the future or too far back")
    until = paid_notice_until(debtor, paid_on, today)
    language = company.default_language  # the clerks' language: the note is for the case file
    with translation.override(language):
        note = gettext("date of payment as stated: {day}").format(day=format_date(paid_on, language))
    return record_promise(
        company,
        debtor,
        items,
        until,
        amount_minor,
        grace_days=0,
        source=PAID_NOTICE,
        actor=actor,
        note=note,
        as_of=today,
        confirm=False,
    )
