"""From decisions to outgoing work: choose the channel, respect the contact rules, render, queue.

Called by the collection run inside a chunk's transaction. Email and SMS are queued for the outbox
sender, letters for the daily print batch, calls become tasks for a person, and a debtor nobody can
reach gets an address-research task.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_noop

from mahnwerk.collection.models import Action, CallOutcome, Task, TaskKind, TaskStatus
from mahnwerk.comms.models import OutboundMessage, Purpose
from mahnwerk.comms.rendering import (
    MessageItem,
    item_to_json,
    message_item,
    payment_reference,
    totals_text,
)
from mahnwerk.core.channel_learning import EMPTY, Profile, learn_channel, letter_worth_it
from mahnwerk.core.channels import FALLBACKS, NOTICE_CHANNELS, ChannelChoice, choose_channel, contact_rule
from mahnwerk.core.contact_rules import REASONS, check_contact
from mahnwerk.core.money import to_minor
from mahnwerk.core.playbook import Channel, DebtorDecision, DueItem
from mahnwerk.ledger.bulk import bulk_insert, bulk_insert_rows
from mahnwerk.ledger.claims import ClaimView, debtor_law, law_ruleset
from mahnwerk.ledger.facts import InvoiceFacts
from mahnwerk.ledger.ids import id_in
from mahnwerk.ledger.models import Company, Contact, ContactKind, Debtor, parse_channels
from mahnwerk.ledger.timeline import EventRow, event_row, record_events


@dataclass
class DispatchResult:
    queued: int = 0
    no_contact: int = 0
    tasks: int = 0
    deferred: int = 0
    by_channel: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(frozen=True, slots=True)
class Reach:
    email: str | None
    phone: str | None
    postal: bool
    opted_out: frozenset[str]
    # what followed the earlier messages, per channel (empty where the company switched learning off)
    profile: Profile = EMPTY

    def available(self) -> set[Channel]:
        channels = set()
        if self.email:
            channels.add(Channel.EMAIL)
        if self.phone:
            channels.update({Channel.SMS, Channel.CALL})
        if self.postal:
            channels.add(Channel.LETTER)
        return {c for c in channels if c.value not in self.opted_out}


def best_contacts(debtor_ids: Iterable[int]) -> dict[int, tuple[str | None, str | None, frozenset[str]]]:
    """Per debtor: its best valid email and phone (the primary one, else the oldest) and the channels it
    cannot be sent on: opted out, or SMS when the best phone number cannot take text messages — one query."""
    best: dict[tuple[int, str], tuple[bool, bool, int, str]] = {}
    opted: dict[int, set[str]] = defaultdict(set)
    ids = list(debtor_ids)
    for debtor_id, kind, value, primary, pk, valid, opted_out, sms_refused in Contact.objects.filter(
        id_in(Contact, "debtor_id", ids)
    ).values_list("debtor_id", "kind", "value", "is_primary", "id", "is_valid", "opted_out", "sms_refused"):
        if opted_out:
            opted[debtor_id].add("email" if kind == ContactKind.EMAIL else "sms")
            continue
        if not valid:
            continue
        key = (sms_refused, not primary, pk, value)  # a number that takes SMS comes first
        if (debtor_id, kind) not in best or key < best[(debtor_id, kind)]:
            best[(debtor_id, kind)] = key
    for (debtor_id, kind), (sms_refused, *_rest) in best.items():
        if kind == ContactKind.PHONE and sms_refused:
            opted[debtor_id].add("sms")

    def pick(debtor_id: int, kind: str) -> str | None:
        found = best.get((debtor_id, kind))
        return found[3] if found else None

    return {d: (pick(d, ContactKind.EMAIL), pick(d, ContactKind.PHONE), frozenset(opted[d])) for d in ids}


def reachability(debtors: dict[int, Debtor]) -> dict[int, Reach]:
    """How each debtor can be reached: best valid email and phone, postal address, opted-out channels, and
    what followed its earlier messages per channel (a fixed number of queries)."""
    from mahnwerk.experiments.channels import response_profiles

    contacts = best_contacts(debtors)
    companies = {d.company_id for d in debtors.values()}
    profiles: dict[int, Profile] = {}
    for company_id in companies:
        profiles.update(
            response_profiles(company_id, [pk for pk, d in debtors.items() if d.company_id == company_id])
        )
    # a letter needs the creditor's return address too (the print batch refuses without it)
    posts = {c.pk: c.has_postal_address() for c in Company.objects.filter(pk__in=companies)}
    return {
        pk: Reach(
            email=contacts[pk][0],
            phone=contacts[pk][1],
            postal=d.has_postal_address() and not d.address_invalid and posts[d.company_id],
            opted_out=contacts[pk][2],
            profile=profiles.get(pk, EMPTY),
        )
        for pk, d in debtors.items()
    }


@dataclass(frozen=True, slots=True)
class LearnedChoice(ChannelChoice):
    """A channel chosen by what the customer answered; ``evidence`` says what (for the timeline)."""

    evidence: str = ""
    tried: bool = False  # no evidence for ``channel``: the ones tried went unanswered


def channel_choice(
    company: Company, decision: DebtorDecision, debtor: Debtor, reach: Reach, as_of: date
) -> ChannelChoice:
    """The channel of one decision: the step's, the debtor's preferred written channel, the fallbacks — and a
    letter or an email where the debtor's rules want the first notice in writing (Latvian consumers).

    Then what the customer answers: among the channels these rules leave open (the step's channel and its
    fallbacks that reach the debtor, only agreed ones, only written ones for a written notice), the one its
    earlier messages were answered on (:func:`mahnwerk.core.channel_learning.learn_channel`). A preferred
    channel the debtor asked for, a call step, and a channel taken only because the contract allows no other,
    stay."""
    step = decision.step.channel
    preferred = Channel(debtor.preferred_channel) if debtor.preferred_channel else None
    written = bool(
        any(i.first_notice for i in decision.items)
        and law_ruleset(debtor_law(company, debtor), as_of).contact.first_notice_written
    )
    agreed = [Channel(c) for c in parse_channels(debtor.agreed_channels)]
    available = reach.available()
    base = choose_channel(step, preferred, available, written_notice=written, agreed=agreed)
    if (
        base.channel is None
        or step is Channel.CALL  # a call is a person's step: a conversation, not a message to redirect
        or base.reason == "agreed"
        or (preferred is not None and base.channel is preferred)
        or not reach.profile.channels
    ):
        return base
    order = NOTICE_CHANNELS if written and step not in NOTICE_CHANNELS else FALLBACKS[step]
    candidates = [
        c
        for c in order
        if c in available and (not agreed or c in agreed) and (not written or c in NOTICE_CHANNELS)
    ]
    # a letter instead of the step's channel only on evidence the customer answers letters, and for an amount
    # worth the postage (the company's letter cost, in its currency)
    affordable = letter_worth_it(
        sum(i.open_minor for i in decision.items), to_minor(company.letter_cost, company.currency)
    )
    learned = learn_channel(base.channel, candidates, reach.profile, letter_affordable=affordable)
    if learned is None:
        return base
    return LearnedChoice(
        learned.channel, learned.channel != step, "learned", evidence=learned.reason, tried=learned.tried
    )


def channel_choices(
    company: Company,
    decided: Sequence[tuple[Action, DebtorDecision]],
    debtors: dict[int, Debtor],
    reach: dict[int, Reach],
    as_of: date,
) -> dict[int, ChannelChoice]:
    """The channel each action will go out on and why (by action id; its ``channel`` None: nobody can reach
    the debtor), chosen as :func:`dispatch` chooses it (:func:`channel_choice`), which takes them as they are."""
    return {
        action.pk: channel_choice(
            company, decision, debtors[action.debtor_id], reach[action.debtor_id], as_of
        )
        for action, decision in decided
    }


def e164(phone: str) -> str:
    """A phone number as providers want it: '+371 2000-0000' -> '+37120000000', '0049 30 1' -> '+49301'."""
    text = phone.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+"):
        return f"+{digits}"
    if text.startswith("00"):
        return f"+{digits[2:]}"
    return digits


# a run's message as a row (what ``dispatch`` gives each one; every other field as a new message has it)
MESSAGE_COLUMNS = (
    "company_id",
    "debtor_id",
    "action_id",
    "channel",
    "recipient",
    "language",
    "subject",
    "body_text",
    "render_pending",
    "message_id",
    "payload",
    "not_before",
    "business_date",
    "purpose",
)


CONVERSATIONS = (CallOutcome.REACHED, CallOutcome.PROMISED, CallOutcome.DISPUTED, CallOutcome.REFUSED)


def call_history(
    debtor_ids: Sequence[int], as_of: date, days: int = 31
) -> dict[int, tuple[list[datetime], datetime | None]]:
    """Per debtor, the calls made in the last ``days`` (done call tasks: every attempt counts) and the last
    one in which somebody was reached, for the frequency cap and the quiet days after a conversation."""
    found: dict[int, tuple[list[datetime], datetime | None]] = {}
    since = datetime.combine(as_of - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    for debtor_id, done_at, outcome in (
        Task.objects.filter(
            id_in(Task, "debtor_id", debtor_ids),
            kind=TaskKind.CALL,
            status=TaskStatus.DONE,
            done_at__gte=since,
        )
        .order_by("done_at")
        .values_list("debtor_id", "done_at", "outcome")
    ):
        if done_at is None:
            continue
        attempts, conversation = found.get(debtor_id, ([], None))
        attempts.append(done_at)
        found[debtor_id] = (attempts, done_at if outcome in CONVERSATIONS else conversation)
    return found


def _deferred(debtor: Debtor, as_of: date, channel: Channel, until: str, reason: str | None) -> EventRow:
    """The timeline event of a message or call put off by the contact rules."""
    return event_row(
        debtor.pk,
        debtor.company_id,
        "message_deferred",
        as_of,
        channel=channel.value,
        until=until,
        reason=REASONS.get(reason or "", ""),
    )


def dispatch(
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
    """Queue what each action asks for (inside the caller's transaction); ``reach``: the debtors'
    :func:`reachability` and ``choices`` the actions' :func:`channel_choices`, where the caller has them
    already."""
    from mahnwerk.comms.outbox import message_id

    result = DispatchResult()
    if reach is None:
        reach = reachability(debtors)
    open_research = set(
        Task.objects.filter(
            id_in(Task, "debtor_id", debtors), kind=TaskKind.ADDRESS_RESEARCH, status=TaskStatus.OPEN
        ).values_list("debtor_id", flat=True)
    )
    calls = call_history(list(debtors), as_of)
    messages: list[tuple[Any, ...]] = []
    tasks: list[Task] = []
    events: list[EventRow] = []
    changed_actions: list[Action] = []
    unreachable: list[int] = []

    def lines(due: Sequence[DueItem]) -> list[MessageItem]:
        return [
            message_item(invoices[i.invoice_id], claims.get(i.invoice_id), i.open_minor)
            for i in sorted(
                due, key=lambda i: (invoices[i.invoice_id].due_date, invoices[i.invoice_id].number)
            )
        ]

    for action, decision in decided:
        debtor = debtors[action.debtor_id]
        items = lines(decision.items)
        coming = lines(decision.coming)
        r = reach[debtor.pk]
        choice = (
            choices[action.pk] if choices is not None else channel_choice(company, decision, debtor, r, as_of)
        )
        if choice.channel is None:
            # Nobody can be reached: the step is not taken (the action is withdrawn) and, once, a person
            # is asked to find a way to reach the debtor.
            result.no_contact += 1
            unreachable.append(action.pk)
            if debtor.pk not in open_research:
                events.append(
                    event_row(
                        debtor.pk,
                        company.pk,
                        "no_contact",
                        as_of,
                        reason=gettext_noop("no usable email, phone or postal address"),  # kept in English
                    )
                )
                tasks.append(
                    Task(company=company, debtor=debtor, kind=TaskKind.ADDRESS_RESEARCH, due_on=as_of)
                )
                open_research.add(debtor.pk)
                result.tasks += 1
            continue
        events.append(
            event_row(
                debtor.pk,
                company.pk,
                "action_created",
                as_of,
                level=action.level,
                tone=action.tone,
                count=len(items),
                total=totals_text(items, "en"),
                deadline=action.deadline or "-",
            )
        )
        channel = choice.channel
        switched = channel.value != action.channel
        if switched:
            action.channel = channel.value
            changed_actions.append(action)
        if isinstance(choice, LearnedChoice):
            events.append(
                event_row(
                    debtor.pk,
                    company.pk,
                    "channel_tried" if choice.tried else "channel_learned",
                    as_of,
                    step=decision.step.channel.value,
                    channel=channel.value,
                    reason=choice.evidence,
                )
            )
        elif switched:
            events.append(
                event_row(
                    debtor.pk,
                    company.pk,
                    "channel_fallback",
                    as_of,
                    step=decision.step.channel.value,
                    channel=channel.value,
                    reason=choice.reason,
                )
            )
        # the debtor's own rules: a consumer's country of residence (contact window, notices), else the contract's
        rules = law_ruleset(debtor_law(company, debtor), as_of)
        contact = contact_rule(rules.contact)
        if channel is Channel.CALL:
            due_on = as_of
            attempts, conversation = calls.get(debtor.pk, ([], None))
            allowed = check_contact(
                contact,
                channel="call",
                at=instant,
                time_zone=debtor.time_zone,
                country=debtor.country or debtor.jurisdiction,
                past_contacts=attempts,
                last_conversation=conversation,
            )
            if allowed.earliest is not None:
                due_on = max(as_of, allowed.earliest.astimezone(ZoneInfo(debtor.time_zone)).date())
            if due_on > as_of:  # the frequency cap or the quiet days after a conversation: call later
                result.deferred += 1
                events.append(_deferred(debtor, as_of, channel, due_on.isoformat(), allowed.reason))
            tasks.append(
                Task(company=company, debtor=debtor, action=action, kind=TaskKind.CALL, due_on=due_on)
            )
            result.tasks += 1
            result.by_channel["call"] += 1
            events.append(event_row(debtor.pk, company.pk, "task_created", as_of, task="call"))
            continue
        not_before = None
        if channel in (Channel.EMAIL, Channel.SMS):
            decision_ = check_contact(
                contact,
                channel=channel.value,
                at=instant,
                time_zone=debtor.time_zone,
                country=debtor.country or debtor.jurisdiction,
            )
            if not decision_.allowed and decision_.earliest is not None:
                not_before = decision_.earliest
                result.deferred += 1
                events.append(
                    _deferred(
                        debtor, as_of, channel, not_before.isoformat(timespec="minutes"), decision_.reason
                    )
                )
        reference = payment_reference(debtor, items)
        cap = rules.fees.total_cap_minor
        capped = bool(
            cap is not None
            and sum(
                c["amount_minor"]
                for i in decision.items
                for c in getattr(claims.get(i.invoice_id), "charges", ())
            )
            >= cap
        )
        # what the outbox needs to write the message when it renders it (comms.compose): the figures as the
        # run decided them, and the facts behind the optional paragraphs; the rendered message gets its
        # lines ("items", "coming") and payment code from them
        payload: dict[str, Any] = {
            "deadline": action.deadline.isoformat() if action.deadline else None,
            "reference": reference,
            "qr": None,
            "template": decision.step.template,
            "tone": action.tone,
        }
        payload["compose"] = {
            "items": [item_to_json(i) for i in items],
            "coming": [item_to_json(i) for i in coming],
            "first_notice": any(i.first_notice for i in decision.items),
            "opt_out": contact.opt_out_line_required,
            "incentive_note": offers.get(action.pk, "") if offers else "",
            "costs_capped": capped,
        }
        if channel is Channel.SMS:
            recipient = e164(r.phone or "")
        elif channel is Channel.LETTER:
            recipient = ", ".join([debtor.name, *debtor.address_lines()])
        else:
            recipient = r.email or ""
        messages.append(
            (
                company.pk,
                debtor.pk,
                action.pk,
                channel.value,
                recipient or "",
                debtor.language,
                "",
                "",
                True,
                message_id(company, action),
                payload,
                not_before,
                as_of,
                Purpose.COLLECTION,
            )
        )
        result.queued += 1
        result.by_channel[channel.value] += 1
    by_channel: dict[str, list[int]] = defaultdict(list)
    for changed in changed_actions:
        by_channel[changed.channel].append(changed.pk)
    for value, ids in by_channel.items():  # one UPDATE per channel rather than a CASE per row
        Action.objects.filter(id_in(Action, "id", ids)).update(channel=value)
    if unreachable:
        from mahnwerk.collection.services import cancel_actions

        cancel_actions(unreachable)
    bulk_insert_rows(OutboundMessage, MESSAGE_COLUMNS, messages)
    bulk_insert(tasks)
    record_events(events)
    return result
