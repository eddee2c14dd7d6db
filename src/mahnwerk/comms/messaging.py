"""The messages' side of :class:`mahnwerk.collection.ports.Messaging`: what the collection app asks of them.

Registered by ``CommsConfig.ready``. Each operation looks its function up when called, so the collection
app calls exactly what the rest of comms calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Min, Q

from mahnwerk.comms.models import MessageStatus, OutboundMessage, Purpose

if TYPE_CHECKING:
    from mahnwerk.collection.models import Action
    from mahnwerk.comms.dispatch import DispatchResult, Reach
    from mahnwerk.comms.rendering import MessageItem, RenderedMessage
    from mahnwerk.core.channels import ChannelChoice
    from mahnwerk.core.playbook import Channel, DebtorDecision
    from mahnwerk.ledger.claims import ClaimView
    from mahnwerk.ledger.facts import InvoiceFacts, InvoiceLike
    from mahnwerk.ledger.models import Company, Debtor, Invoice, TimelineEvent


def _written(company: Company) -> Any:
    """The company's messages that were not taken back."""
    return OutboundMessage.objects.filter(company=company).exclude(status=MessageStatus.CANCELLED)


class CommsMessaging:
    """Rendering, queueing and sending for the collection app, and what was written to the debtors."""

    def reachability(self, debtors: dict[int, Debtor]) -> dict[int, Reach]:
        from mahnwerk.comms import dispatch

        return dispatch.reachability(debtors)

    def channel_choices(
        self,
        company: Company,
        decided: Sequence[tuple[Action, DebtorDecision]],
        debtors: dict[int, Debtor],
        reach: dict[int, Reach],
        as_of: date,
    ) -> dict[int, ChannelChoice]:
        from mahnwerk.comms import dispatch

        return dispatch.channel_choices(company, decided, debtors, reach, as_of)

    def channel_for(
        self, company: Company, decision: DebtorDecision, debtor: Debtor, as_of: date
    ) -> Channel | None:
        from mahnwerk.comms import dispatch

        reach = dispatch.reachability({debtor.pk: debtor})[debtor.pk]
        return dispatch.channel_choice(company, decision, debtor, reach, as_of).channel

    def dispatch(
        self,
        company: Company,
        decided: Sequence[tuple[Action, DebtorDecision]],
        as_of: date,
        debtors: dict[int, Debtor],
        invoices: Mapping[int, InvoiceFacts],
        claims: dict[int, ClaimView],
        instant: datetime,
        offers: dict[int, str] | None = None,
        reach: dict[int, Reach] | None = None,
        choices: Mapping[int, ChannelChoice] | None = None,
    ) -> DispatchResult:
        from mahnwerk.comms import dispatch

        return dispatch.dispatch(
            company, decided, as_of, debtors, invoices, claims, instant, offers, reach, choices
        )

    def send_queued(self, company: Company | None = None) -> dict[str, Any]:
        from mahnwerk.comms import outbox

        return outbox.send_queued(company=company)

    def recheck_queued(self, *, invoice_ids: Iterable[int], on: date) -> dict[str, int]:
        from mahnwerk.comms import outbox

        return outbox.recheck_queued(invoice_ids=invoice_ids, on=on)

    def withdraw_agreement_messages(self, company: Company, key: str, on: date) -> int:
        from mahnwerk.comms import outbox

        return outbox.withdraw_agreement_messages(company, key, on)

    def email_recipients(self, debtor_ids: Iterable[int]) -> dict[int, str]:
        from mahnwerk.comms import outbox

        return outbox.email_recipients(debtor_ids)

    def render_agreement_message(
        self,
        company: Company,
        debtor: Debtor,
        template: str,
        invoices: Sequence[Invoice],
        as_of: date,
        *,
        message_items: Sequence[MessageItem] | None = None,
        **extra: Any,
    ) -> RenderedMessage:
        from mahnwerk.comms import agreement_messages

        return agreement_messages.render_agreement_message(
            company, debtor, template, invoices, as_of, message_items=message_items, **extra
        )

    def schedule_table(self, rows: Sequence[tuple[int, date, int, int]], currency: str, language: str) -> str:
        from mahnwerk.comms import agreement_messages

        return agreement_messages.schedule_table(rows, currency, language)

    def message_item(self, invoice: InvoiceLike, claim: ClaimView | None, open_minor: int) -> MessageItem:
        from mahnwerk.comms import rendering

        return rendering.message_item(invoice, claim, open_minor)

    def items_table(self, items: Sequence[MessageItem], language: str) -> str:
        from mahnwerk.comms import rendering

        return rendering._table(items, language) if items else ""

    def items_total(self, items: Sequence[MessageItem], language: str) -> str:
        from mahnwerk.comms import rendering

        return rendering.totals_text(items, language) if items else ""

    def queue_message(
        self,
        company: Company,
        debtor: Debtor,
        key: str,
        rendered: RenderedMessage,
        as_of: date,
        events: list[TimelineEvent],
        recipients: Mapping[int, str] | None = None,
        *,
        payload: dict[str, Any] | None = None,
    ) -> bool:
        from mahnwerk.comms import agreement_messages

        message = agreement_messages.queue_message(
            company, debtor, key, rendered, as_of, events, recipients, payload=payload
        )
        return message is not None

    def queue_messages(
        self,
        company: Company,
        rows: Sequence[tuple[Debtor, str, RenderedMessage]],
        as_of: date,
        recipients: Mapping[int, str],
    ) -> list[TimelineEvent]:
        from mahnwerk.comms import agreement_messages

        return agreement_messages.queue_messages(company, rows, as_of, recipients)

    def last_collection_messages(
        self, company: Company, as_of: date, debtor_ids: Sequence[int] | None
    ) -> dict[int, date]:
        written = _written(company).filter(
            business_date__lte=as_of, purpose=Purpose.COLLECTION, action__isnull=True
        )
        if debtor_ids is not None:
            written = written.filter(debtor_id__in=list(debtor_ids))
        return dict(
            written.values("debtor_id")
            .annotate(last=Max("business_date"))
            .values_list("debtor_id", "last")
            .order_by()
        )

    def unsent_steps(
        self, company: Company, as_of: date, debtor_ids: Sequence[int] | None
    ) -> dict[int, date]:
        waiting = OutboundMessage.objects.filter(
            company=company,
            status__in=[MessageStatus.QUEUED, MessageStatus.SENDING],
            action__isnull=False,
            business_date__lt=as_of,
        )
        if debtor_ids is not None:
            waiting = waiting.filter(debtor_id__in=list(debtor_ids))
        return dict(
            waiting.values("debtor_id")
            .annotate(first=Min("business_date"))
            .values_list("debtor_id", "first")
            .order_by()
        )

    def courtesy_today(self, company: Company, as_of: date, debtor_ids: Sequence[int] | None) -> set[int]:
        written = _written(company).filter(business_date=as_of, purpose=Purpose.COURTESY)
        if debtor_ids is not None:
            written = written.filter(debtor_id__in=list(debtor_ids))
        return set(written.values_list("debtor_id", flat=True))

    def collection_messaged(
        self,
        company: Company,
        *,
        on: date | None = None,
        after: date | None = None,
        debtor_ids: Iterable[int] | None = None,
    ) -> set[int]:
        written = _written(company).filter(purpose=Purpose.COLLECTION)
        if debtor_ids is not None:
            written = written.filter(debtor_id__in=list(debtor_ids))
        if on is not None:
            written = written.filter(business_date=on)
        if after is not None:
            written = written.filter(business_date__gt=after)
        return set(written.values_list("debtor_id", flat=True))

    def last_thanks(self, company: Company, debtor_ids: Iterable[int]) -> dict[int, date]:
        last: dict[int, date] = {}
        for debtor_id, day in (
            _written(company)
            .filter(debtor_id__in=list(debtor_ids))
            .filter(Q(message_id__contains=".thanks@") | Q(message_id__contains=".paid_thanks@"))
            .values_list("debtor_id", "business_date")
        ):
            if day is not None and day > last.get(debtor_id, date.min):
                last[debtor_id] = day
        return last

    def statement_recipients(self, company: Company, months: Sequence[str]) -> set[int]:
        recent = Q()
        for month in months:
            recent |= Q(message_id__contains=f".statement.{month}.")
        return set(
            OutboundMessage.objects.filter(recent, company=company).values_list("debtor_id", flat=True)
        )

    def newest_message_id(self) -> int:
        return int(OutboundMessage.objects.aggregate(m=Max("id"))["m"] or 0)

    def messaged_since(self, message_id: int, debtor_ids: Sequence[int]) -> set[int]:
        from mahnwerk.ledger.ids import id_in

        return set(
            OutboundMessage.objects.filter(id_in(OutboundMessage, "debtor_id", debtor_ids), id__gt=message_id)
            .order_by()
            .values_list("debtor_id", flat=True)
            .distinct()
        )
