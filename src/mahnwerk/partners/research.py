"""Address research for a debtor nobody can reach (every channel failed, a letter returned, a hard bounce):
what is known, which sources to try, and the result — a new address updates the debtor, closes the research
task and takes the step that could not be taken, through the same service as "send now"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mahnwerk.collection.models import Action, Task, TaskKind, TaskStatus
from mahnwerk.comms.models import OutboundMessage
from mahnwerk.ledger import timeline
from mahnwerk.ledger.models import Company, Debtor, DebtorKind, TimelineEvent
from mahnwerk.ledger.services import update_debtor

# timeline kinds that tell how contact failed
PROBLEM_KINDS = ("no_contact", "message_bounced", "message_returned", "message_failed", "call_attempts_ended")

SOURCES = {
    "commercial_register": gettext_lazy("commercial register extract"),
    "registration_office": gettext_lazy("residents' registration office request"),
    "last_contacts": gettext_lazy("last known contacts"),
    "other": gettext_lazy("other source"),
}


def source_label(source: str, language: str) -> str:
    with translation.override(language):
        return str(SOURCES[source])


def sources(company: Company, debtor: Debtor) -> list[dict[str, str]]:
    """Where to look, by the kind of debtor and its country (the creditor's where none is recorded)."""
    country = (debtor.country or company.country or "").upper()
    found: list[dict[str, str]] = []
    if debtor.kind == DebtorKind.BUSINESS:
        how = {
            "DE": _(
                "Handelsregister / Unternehmensregister (handelsregister.de): registered seat, business "
                "address and managing directors; the Gewerbeamt for sole traders"
            ),
            "LV": _("Uzņēmumu reģistrs (ur.gov.lv): legal address and board members"),
        }.get(country, _("the business register of the country of the seat (e-Justice portal, BRIS)"))
        found.append(
            {"source": "commercial_register", "label": str(SOURCES["commercial_register"]), "how": how}
        )
        if debtor.vat_id:
            found.append(
                {
                    "source": "other",
                    "label": _("VAT ID check"),
                    "how": _("VIES check of {vat_id}: name and address as registered for VAT").format(
                        vat_id=debtor.vat_id
                    ),
                }
            )
    else:
        how = {
            "DE": _(
                "Melderegisterauskunft (simple information, § 44 BMG) from the residents' registration office "
                "of the last known address: current address, or that the person moved away and where"
            ),
            "LV": _(
                "Iedzīvotāju reģistrs (PMLP) request for the declared place of residence, with the legitimate "
                "interest (the claim) stated"
            ),
        }.get(country, _("the residents' register of the country of residence"))
        found.append(
            {"source": "registration_office", "label": str(SOURCES["registration_office"]), "how": how}
        )
    contacts = [c.value for c in debtor.contacts.order_by("kind", "-is_primary", "pk")]
    extra = ", ".join(x for x in [debtor.contact_person, *contacts] if x)
    found.append(
        {
            "source": "last_contacts",
            "label": str(SOURCES["last_contacts"]),
            "how": _("ask by the contacts known, also those marked invalid: {contacts}").format(
                contacts=extra or "-"
            ),
        }
    )
    return found


def research_task(debtor: Debtor) -> Task | None:
    """The debtor's open address-research task (the run opens at most one)."""
    return (
        Task.objects.filter(debtor=debtor, kind=TaskKind.ADDRESS_RESEARCH, status=TaskStatus.OPEN)
        .order_by("-pk")
        .first()
    )


def research_case(company: Company, debtor: Debtor) -> dict[str, Any]:
    """What is known of the debtor, how contact failed, and the sources to try."""
    task = research_task(debtor)
    problems = TimelineEvent.objects.filter(debtor=debtor, kind__in=PROBLEM_KINDS).order_by(
        "-business_date", "-pk"
    )[:20]
    return {
        "debtor": {"number": debtor.number, "name": debtor.name, "kind": debtor.kind},
        "task": None if task is None else {"id": task.pk, "since": task.due_on, "status": task.status},
        "address": {
            "street": debtor.street,
            "postcode": debtor.postcode,
            "city": debtor.city,
            "country": debtor.country,
            "invalid": debtor.address_invalid,
        },
        "contacts": [
            {
                "kind": c.kind,
                "value": c.value,
                "valid": c.is_valid,
                "opted_out": c.opted_out,
                "primary": c.is_primary,
            }
            for c in debtor.contacts.order_by("kind", "-is_primary", "pk")
        ],
        "last_contacts": [
            {"date": m.business_date, "channel": m.channel, "recipient": m.recipient, "status": m.status}
            for m in OutboundMessage.objects.filter(debtor=debtor).order_by("-created_at", "-pk")[:10]
        ],
        "problems": [{"date": e.business_date, "text": timeline.describe(e)} for e in problems],
        "sources": sources(company, debtor),
    }


@dataclass
class ResearchOutcome:
    changed: list[str]
    task_id: int | None
    action: Action | None
    refused: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "task_id": self.task_id,
            "action_id": None if self.action is None else self.action.pk,
            "channel": None if self.action is None else self.action.channel,
            "refused": self.refused,
        }


def record_result(
    company: Company,
    debtor: Debtor,
    *,
    street: str,
    postcode: str,
    city: str,
    country: str = "",
    email: str = "",
    source: str = "other",
    note: str = "",
    as_of: date,
    actor: str = "system",
    repeat: bool = True,
) -> ResearchOutcome:
    """The address found: the debtor's details updated (the postal address counts as valid again), an email
    added as its primary one, the research task done, and — with ``repeat`` — the step that could not be
    taken taken now (``collection.runs.take_next_step``: every rule of the run holds; a refusal says why)."""
    from mahnwerk.collection.runs import SendNowError, take_next_step

    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    changes: dict[str, object] = {
        "street": street.strip(),
        "postcode": postcode.strip(),
        "city": city.strip(),
    }
    if country:
        changes["country"] = country.strip().upper()
    with transaction.atomic():
        changed = update_debtor(company, debtor, changes, actor=actor, email=email or "")
        if debtor.address_invalid:
            Debtor.objects.filter(pk=debtor.pk).update(address_invalid=False)
            debtor.address_invalid = False
            changed.append("address_invalid")
        task = research_task(debtor)
        if task is not None:
            Task.objects.filter(pk=task.pk).update(
                status=TaskStatus.DONE,
                done_at=timezone.now(),
                done_by=actor,
                notes=(task.notes + "\n" if task.notes else "") + f"{SOURCES[source]}: {note}".strip(),
            )
        timeline.event(
            debtor.pk,
            company.pk,
            "address_found",
            as_of,
            actor=actor,
            note=note,
            source=source_label(source, "en"),
            address=", ".join(debtor.address_lines()),
        ).save()
    outcome = ResearchOutcome(changed, None if task is None else task.pk, None)
    if repeat:
        try:
            outcome.action = take_next_step(company, debtor, as_of, actor)
        except SendNowError as exc:
            outcome.refused = str(exc)
    return outcome
