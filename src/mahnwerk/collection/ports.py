"""What the collection app asks of the messages, without importing them.

The run decides and writes; the outbox renders and delivers. ``comms`` may read ``collection``, so
``collection`` never imports ``comms``: where a use case here must queue, render or send a message, or must
know what was written to a debtor, it calls :func:`messaging`, whose implementation the messaging app
registers when Django starts (``CommsConfig.ready``). :class:`Messaging` lists exactly those operations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mahnwerk.collection.models import Action
    from mahnwerk.core.channels import ChannelChoice
    from mahnwerk.core.playbook import Channel, DebtorDecision
    from mahnwerk.ledger.claims import ClaimView
    from mahnwerk.ledger.facts import InvoiceFacts, InvoiceLike
    from mahnwerk.ledger.models import Company, Debtor, Invoice, TimelineEvent

# A rendered message, a line of one (an item with its interest and fees) and how a debtor can be reached:
# collection passes them on to the messages and does not look inside (a line's ``due_date`` aside).
Rendered = Any
Item = Any
Reach = Any


class Dispatched(Protocol):
    """What queueing one chunk's actions did."""

    @property
    def queued(self) -> int: ...
    @property
    def no_contact(self) -> int: ...
    @property
    def tasks(self) -> int: ...
    @property
    def deferred(self) -> int: ...
    @property
    def by_channel(self) -> Mapping[str, int]: ...


class Messaging(Protocol):
    """The operations of the messages that the collection app uses."""

    # the run's steps: how each debtor can be reached, on which channel each action goes, queueing them
    def reachability(self, debtors: dict[int, Debtor]) -> dict[int, Reach]: ...

    def channel_choices(
        self,
        company: Company,
        decided: Sequence[tuple[Action, DebtorDecision]],
        debtors: dict[int, Debtor],
        reach: dict[int, Reach],
        as_of: date,
    ) -> dict[int, ChannelChoice]:
        """The channel each action goes out on and why, by action id (its ``channel`` None: nobody can reach
        the debtor); ``dispatch`` takes them as they are."""
        ...

    def channel_for(
        self, company: Company, decision: DebtorDecision, debtor: Debtor, as_of: date
    ) -> Channel | None:
        """The channel one decision would go out on (None: nobody can reach the debtor)."""
        ...

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
    ) -> Dispatched: ...

    # delivery
    def send_queued(self, company: Company | None = None) -> dict[str, Any]: ...

    def recheck_queued(self, *, invoice_ids: Iterable[int], on: date) -> object: ...

    def withdraw_agreement_messages(self, company: Company, key: str, on: date) -> int: ...

    def email_recipients(self, debtor_ids: Iterable[int]) -> dict[int, str]: ...

    # the agreements' and courtesy messages
    def render_agreement_message(
        self,
        company: Company,
        debtor: Debtor,
        template: str,
        invoices: Sequence[Invoice],
        as_of: date,
        *,
        message_items: Sequence[Item] | None = None,
        **extra: Any,
    ) -> Rendered: ...

    def schedule_table(
        self, rows: Sequence[tuple[int, date, int, int]], currency: str, language: str
    ) -> str: ...

    def message_item(self, invoice: InvoiceLike, claim: ClaimView | None, open_minor: int) -> Item: ...

    def items_table(self, items: Sequence[Item], language: str) -> str: ...

    def items_total(self, items: Sequence[Item], language: str) -> str: ...

    def queue_message(
        self,
        company: Company,
        debtor: Debtor,
        key: str,
        rendered: Rendered,
        as_of: date,
        events: list[TimelineEvent],
        recipients: Mapping[int, str] | None = None,
        *,
        payload: dict[str, Any] | None = None,
    ) -> bool:
        """Queue one email (True) or note that nobody can be written to (False)."""
        ...

    def queue_messages(
        self,
        company: Company,
        rows: Sequence[tuple[Debtor, str, Rendered]],
        as_of: date,
        recipients: Mapping[int, str],
    ) -> list[TimelineEvent]: ...

    # what was written to the debtors (messages taken back are not counted, but by statement_recipients)
    def last_collection_messages(
        self, company: Company, as_of: date, debtor_ids: Sequence[int] | None
    ) -> dict[int, date]:
        """Per debtor: the business date of its last collection message outside a step (a Plan B notice)."""
        ...

    def unsent_steps(
        self, company: Company, as_of: date, debtor_ids: Sequence[int] | None
    ) -> dict[int, date]:
        """Per debtor: the business date of its earliest step's message written before ``as_of`` that has not
        gone out yet (a letter waiting for the print batch, an email the server keeps refusing)."""
        ...

    def courtesy_today(self, company: Company, as_of: date, debtor_ids: Sequence[int] | None) -> set[int]:
        """The debtors a confirmation or thank-you goes to on ``as_of``."""
        ...

    def collection_messaged(
        self,
        company: Company,
        *,
        on: date | None = None,
        after: date | None = None,
        debtor_ids: Iterable[int] | None = None,
    ) -> set[int]:
        """The debtors with a collection message on ``on`` or after ``after``."""
        ...

    def last_thanks(self, company: Company, debtor_ids: Iterable[int]) -> dict[int, date]:
        """Per debtor: the business date of its newest thank-you (a kept promise's or a settled episode's)."""
        ...

    def statement_recipients(self, company: Company, months: Sequence[str]) -> set[int]:
        """The debtors a statement of account was written to in one of these months (``YYYY-MM``), also
        one taken back since."""
        ...

    # what the run's re-check inside its write compares with (``collection.services.LedgerMarks``)
    def newest_message_id(self) -> int:
        """The id of the newest message of any company (0: none)."""
        ...

    def messaged_since(self, message_id: int, debtor_ids: Sequence[int]) -> set[int]:
        """Of ``debtor_ids``, those with a message newer than ``message_id`` (any purpose or state)."""
        ...


_messaging: Messaging | None = None


def register_messaging(implementation: Messaging) -> None:
    """Install the messages' implementation (the messaging app does so when Django starts)."""
    global _messaging
    _messaging = implementation


def messaging() -> Messaging:
    """The registered implementation of :class:`Messaging`."""
    if _messaging is None:
        raise RuntimeError(
            "no messaging is registered: the app 'mahnwerk.comms' must be in INSTALLED_APPS and Django set up"
        )
    return _messaging
