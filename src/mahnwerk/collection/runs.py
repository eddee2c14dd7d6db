"""The run and "send now" as a person asks for them — in the web application, over the API or on the command
line. The role and company checks are made here, once, for all of them.

A :class:`Clerk` is who acts: a company, a role in it and the name the timeline shows. Reading (the preview)
is open to every role; approving a run, leaving debtors or invoices out of it and "send now" need a role
that works the cases (administrator or collector).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mahnwerk.collection import services as collection
from mahnwerk.collection.models import Action, ActionStatus, Case, Run, RunStatus
from mahnwerk.collection.ports import messaging
from mahnwerk.ids import parse_id
from mahnwerk.ledger.models import Company, Debtor, Invoice
from mahnwerk.ledger.services import company_today
from mahnwerk.roles import Role

# timeline kinds of the run's exclusions (registered with the timeline when the app is ready)
EVENT_TEXTS = {
    "run_excluded": gettext_lazy(
        "Left out of this day's run by a person: no message; the next run decides again"
    ),
    "run_items_excluded": gettext_lazy(
        "Invoice(s) {numbers} left out of this day's message by a person; the next run decides again"
    ),
}

WORKING_ROLES = frozenset({Role.ADMIN.value, Role.COLLECTOR.value})


class NotAllowed(collection.CollectionError):
    """The clerk's role may not do this (a viewer reads only)."""


NO_CONTACT_TEXT = gettext_lazy(
    "Nothing was sent: the debtor has no usable email address, phone number or postal address."
)


class RunDateError(collection.ExclusionError):
    """A run that writes and sends asked for a business date after the company's today (``field``:
    ``as_of``)."""


def check_run_date(company: Company, as_of: date | None) -> None:
    """A run that writes and sends is for today or a day gone by: one for a later date would send now what
    is due only then (a reminder dated in the future, a deadline months away) and hold the debtor until
    that date. Its preview (dry run) may look ahead. Raises :class:`RunDateError`."""
    today = company_today(company)
    if as_of is not None and as_of > today:
        raise RunDateError(
            _(
                "A run for {date} is after today ({today}): it would send now what is due only then. Preview "
                "it as a dry run, or run it on that day."
            ).format(date=as_of.isoformat(), today=today.isoformat()),
            "as_of",
        )


class SendNowError(collection.CollectionError):
    """The debtor cannot be written to now; the message says why."""


@dataclass(frozen=True, slots=True)
class Clerk:
    """Who acts: the company, the role there and the name on the timeline (``user:anna``, ``api:anna``)."""

    company: Company
    role: str
    actor: str

    @property
    def can_work(self) -> bool:
        return str(self.role) in WORKING_ROLES


def command_line(company: Company) -> Clerk:
    """The command line acts with the rights of whoever may run it on the server."""
    return Clerk(company, Role.ADMIN.value, "system")


def require_work(clerk: Clerk) -> None:
    if not clerk.can_work:
        raise NotAllowed(_("Your role may only read."))


def company_debtor(clerk: Clerk, debtor_id: int) -> Debtor:
    """The clerk's company's debtor ``debtor_id``; another company's is not found."""
    pk = parse_id(debtor_id)  # an id beyond the database's integers is no debtor (not an overflow)
    debtor = Debtor.objects.filter(company=clerk.company, pk=pk).first() if pk else None
    if debtor is None:
        raise collection.CollectionError(_("No debtor of this company has the id {id}.").format(id=debtor_id))
    return debtor


def resolve(
    company: Company, debtors: Iterable[str] = (), invoices: Iterable[str] = ()
) -> tuple[list[int], list[int]]:
    """Debtors by customer number (or id) and invoices by number, as ids of the company; an unknown one is
    a :class:`~mahnwerk.collection.services.CollectionError` naming it."""
    debtor_ids: list[int] = []
    for ref in debtors:
        found = Debtor.objects.filter(company=company, number=ref).values_list("id", flat=True).first()
        if found is None and (pk := parse_id(ref)):
            found = Debtor.objects.filter(company=company, pk=pk).values_list("id", flat=True).first()
        if found is None:
            raise collection.CollectionError(_("No debtor {ref} in this company.").format(ref=ref))
        debtor_ids.append(found)
    invoice_ids: list[int] = []
    for number in invoices:
        pks = list(Invoice.objects.filter(company=company, number=number).values_list("id", flat=True))
        if not pks:
            raise collection.CollectionError(_("No invoice {number} in this company.").format(number=number))
        invoice_ids.extend(pks)
    return debtor_ids, invoice_ids


def preview_run(
    clerk: Clerk,
    as_of: date | None = None,
    *,
    exclude_debtors: Iterable[int] = (),
    exclude_items: Iterable[int] = (),
    only_debtors: Iterable[int] | None = None,
) -> collection.RunResult:
    """What the run would do (nothing written), per debtor — also each debtor that gets nothing and why;
    with ``only_debtors``, for those alone (ids checked as the run checks them)."""
    return collection.run_collection(
        clerk.company,
        as_of,
        dry_run=True,
        exclude_debtors=exclude_debtors,
        exclude_items=exclude_items,
        only_debtors=only_debtors,
        explain=True,
    )


def approve_run(
    clerk: Clerk,
    as_of: date | None = None,
    *,
    exclude_debtors: Iterable[int] = (),
    exclude_items: Iterable[int] = (),
    only_debtors: Iterable[int] | None = None,
    send: bool = True,
) -> collection.RunResult:
    """A person approves the run: the steps waiting for approval go too, except what the person left out
    (``exclude_debtors``, ``exclude_items``: ids; ``only_debtors``: the debtors approved, no others). The
    exclusions hold for this run only and go on the debtors' timelines with the clerk's name."""
    require_work(clerk)
    check_run_date(clerk.company, as_of)
    return collection.run_collection(
        clerk.company,
        as_of,
        approved=True,
        send=send,
        exclude_debtors=exclude_debtors,
        exclude_items=exclude_items,
        only_debtors=only_debtors,
        actor=clerk.actor,
    )


def start_run(
    clerk: Clerk,
    as_of: date | None = None,
    *,
    exclude_debtors: Iterable[int] = (),
    exclude_items: Iterable[int] = (),
    only_debtors: Iterable[int] | None = None,
    send: bool = True,
) -> collection.RunResult:
    """The run as the scheduler would do it (steps waiting for approval keep waiting), with what the person
    left out (see :func:`approve_run`)."""
    require_work(clerk)
    check_run_date(clerk.company, as_of)
    return collection.run_collection(
        clerk.company,
        as_of,
        send=send,
        exclude_debtors=exclude_debtors,
        exclude_items=exclude_items,
        only_debtors=only_debtors,
        actor=clerk.actor,
    )


def send_now(clerk: Clerk, debtor: Debtor, as_of: date | None = None) -> Action:
    """Take the next step of the debtor's account today, without waiting for its date.

    Every other rule of the run holds — nothing for a debtor on hold or not to be contacted, nothing
    that names a disputed or agreed item, the cadence, the minimum amounts, one step a day — and a
    refusal says which. Writes the action, its message and timeline events through the run's own
    writer, as a run of its own (``stats["manual"]``), and sends after commit.
    """
    require_work(clerk)
    if debtor.company_id != clerk.company.pk:
        raise collection.CollectionError(_("No debtor of this company has the id {id}.").format(id=debtor.pk))
    return take_next_step(clerk.company, debtor, as_of or company_today(clerk.company), clerk.actor)


def take_next_step(company: Company, debtor: Debtor, as_of: date, actor: str) -> Action:
    """The "send now" rules without the clerk's checks, for a use case that made them itself (an address found by
    research takes the step that could not be taken): the run's rules only."""
    case = Case.objects.filter(company=company, debtor=debtor).first()
    if case is not None and case.on_hold:
        raise SendNowError(_("The debtor is on hold."))
    if debtor.do_not_contact:
        raise SendNowError(_("The debtor is not to be contacted."))
    outcome = collection.decide_debtor(company, debtor, as_of, early=True)
    if outcome.decision is None:
        raise SendNowError(collection.held_text(company, outcome))
    decision = outcome.decision
    if messaging().channel_for(company, decision, debtor, as_of) is None:
        raise SendNowError(NO_CONTACT_TEXT)  # refused before anything is written
    with transaction.atomic():
        run = Run.objects.create(company=company, as_of=as_of, stats={"manual": True, "debtor_id": debtor.pk})
        ctx = collection.RunContext(
            company,
            run,
            as_of,
            collection.contact_instant(company, as_of),
            collection.RunResult(company_id=company.pk, as_of=as_of, dry_run=False),
            early=True,
        )
        actions, _queued, unreachable = collection.write_chunk(ctx, [decision])
        if not actions:
            raise SendNowError(_("Nothing was sent: the debtor's items changed meanwhile."))
        Run.objects.filter(pk=run.pk).update(
            status=RunStatus.DONE, stats={"manual": True, "debtor_id": debtor.pk, "actor": actor}
        )
    if (
        unreachable
    ):  # the address became unusable meanwhile: the step was withdrawn, a person asked to find one
        raise SendNowError(NO_CONTACT_TEXT)
    transaction.on_commit(lambda: messaging().send_queued(company=company))
    return Action.objects.get(key=Action.make_key(debtor.pk, as_of), status=ActionStatus.ACTIVE)
