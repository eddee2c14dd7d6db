"""The data of court applications, from the statement of account.

* German court payment order (Mahnantrag, §§ 688 ff. ZPO): what the online application asks for (§ 690 ZPO):
  the parties, each main claim by invoice, each interest claim with its basis, start and principal, the costs
  listed apart (flat rate, pre-court reminder costs), the statement that the claim does not depend on a
  counter-performance, the court fee; then the deadlines that follow, put on the timeline
  (``court_order_prepared``) and on the task list (``escalation.deadlines``).
* Latvian warning procedure (saistību izpildīšana brīdinājuma kārtībā, Civilprocesa likums 400.–406.¹ pants):
  the application's data and the creditor's warning letter (in Latvian), its deadlines as tasks.
* European Small Claims Procedure (Regulation (EC) No 861/2007): the data of the claim form (Annex I, Form A)
  for a cross-border claim up to 5,000 EUR at the court of the defendant's domicile.

Each ``record_*`` function notes the prepared document on the debtor's timeline, once per day.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from mahnwerk.collection.models import TaskKind
from mahnwerk.core.escalation import (
    SMALL_CLAIMS_COUNTRIES,
    FeeTableError,
    InterestPiece,
    assumptions,
    deadlines,
    lv_deadlines,
    mahnverfahren_fee,
    split_interest,
)
from mahnwerk.core.money import format_money, round_half_up, to_minor
from mahnwerk.escalation.deadlines import create_tasks
from mahnwerk.escalation.services import EscalationError
from mahnwerk.ledger.claims import debtor_law, statement
from mahnwerk.ledger.models import ChargeKind, Company, Debtor, TimelineEvent
from mahnwerk.ledger.timeline import event

# Service of the Mahnbescheid is expected this many days after filing (for the deadlines shown in advance;
# the court tells the real day of service).
ASSUMED_SERVICE_DAYS = 7
# From 2026-01-01 the Amtsgericht hears claims up to 10,000 EUR (§ 23 Nr. 1 GVG), before that up to 5,000 EUR.
AMTSGERICHT_LIMITS = ((date(2026, 1, 1), 1_000_000), (date(1900, 1, 1), 500_000))

COUNTER_PERFORMANCE_DE = "Der Anspruch hängt nicht von einer Gegenleistung ab (§ 690 Abs. 1 Nr. 4 ZPO)."
COST_LABELS_DE = {
    ChargeKind.FLAT_COMPENSATION: "Verzugspauschale nach § 288 Abs. 5 BGB",
    ChargeKind.REMINDER_FEE: "Vorgerichtliche Mahnkosten",
}


def _percent_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def interest_basis_de(margin: Decimal | None, fixed: Decimal | None) -> str:
    """The basis of an interest claim as the online application writes it."""
    if margin is not None:
        return f"{_percent_text(margin)} Prozentpunkte über dem Basiszinssatz"
    if fixed is not None:
        return f"{_percent_text(fixed)} % Zinsen jährlich"
    return ""


def _party_creditor(company: Company) -> dict[str, Any]:
    return {
        "name": company.name,
        "legal_form": company.legal_form,
        "street": company.street,
        "postcode": company.postcode,
        "city": company.city,
        "country": company.country,
        "register_court": company.register_court,
        "register_number": company.register_number,
        "registration_number": company.registration_number,
        "legal_representatives": [n.strip() for n in company.managing_directors.splitlines() if n.strip()],
        "vat_id": company.vat_id,
        "iban": company.iban,
        "bic": company.bic,
    }


def _party_debtor(debtor: Debtor) -> dict[str, Any]:
    return {
        "number": debtor.number,
        "name": debtor.name,
        "kind": debtor.kind,
        "contact_person": debtor.contact_person,
        "street": debtor.street,
        "postcode": debtor.postcode,
        "city": debtor.city,
        "country": debtor.country,
        "vat_id": debtor.vat_id,
    }


def _open_lines(
    company: Company,
    debtor: Debtor,
    as_of: date,
    *,
    include_time_barred: bool = False,
    currency: str | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The statement of ``as_of`` and its lines a court can be asked for: open and overdue. An invoice not yet
    overdue (due today or later) is no claim a court orders paid now (§ 271 BGB); it stays out, listed in
    ``data["not_yet_due"]``.

    An invoice whose limitation period has ended (time-barred after a day before ``as_of``, by the debtor's
    law) stays out too unless ``include_time_barred``: the debtor can refuse to pay it, and the costs of the
    part of the claim that fails fall on the applicant. Either way it is listed in ``data["time_barred"]``
    (``included`` says whether it is claimed) and named in ``data["warnings"]``.

    One application claims one currency: with items in several, ``currency`` says which (the others are
    named in ``data["warnings"]``); without it, that is an error naming them."""
    data = statement(company, debtor.pk, debtor_law(company, debtor), as_of)
    open_lines = [line for line in data["lines"] if line["total_open_minor"] > 0]
    if not open_lines:
        raise EscalationError(
            gettext("{debtor} owes nothing on {date}").format(debtor=debtor.name, date=as_of)
        )
    owed = sorted({line["currency"] for line in open_lines})
    other_currencies: list[str] = []
    if currency is not None:
        currency = currency.strip().upper()
        if currency not in owed:
            raise EscalationError(
                gettext("{debtor} owes nothing in {currency} on {date} (open: {currencies})").format(
                    debtor=debtor.name, currency=currency, date=as_of, currencies=", ".join(owed)
                )
            )
        other_currencies = [c for c in owed if c != currency]
        open_lines = [line for line in open_lines if line["currency"] == currency]
    elif len(owed) > 1:
        raise EscalationError(
            gettext(
                "{debtor} owes in several currencies ({currencies}): one application per currency; choose one "
                "with --currency"
            ).format(debtor=debtor.name, currencies=", ".join(owed))
        )
    overdue = [line for line in open_lines if line["due_date"] < as_of]
    data["not_yet_due"] = [
        {
            "invoice": line["number"],
            "invoice_id": line["invoice_id"],
            "due_date": line["due_date"],
            "currency": line["currency"],
            "open_minor": line["total_open_minor"],
        }
        for line in open_lines
        if line["due_date"] >= as_of
    ]
    if not overdue:
        raise EscalationError(
            gettext("{debtor}: nothing is overdue on {date}; invoices not yet due cannot be claimed").format(
                debtor=debtor.name, date=as_of
            )
        )
    barred = [line for line in overdue if _time_barred(line, as_of)]
    data["time_barred"] = [
        {
            "invoice": line["number"],
            "invoice_id": line["invoice_id"],
            "due_date": line["due_date"],
            "time_barred_after": line["time_barred_after"],
            "currency": line["currency"],
            "open_minor": line["total_open_minor"],
            "included": include_time_barred,
        }
        for line in barred
    ]
    lines = overdue if include_time_barred else [line for line in overdue if not _time_barred(line, as_of)]
    if not lines:
        raise EscalationError(
            gettext(
                "{debtor}: every overdue invoice is time-barred on {date}: {invoices}; the debtor may refuse to "
                "pay them. Include them explicitly to claim them anyway."
            ).format(debtor=debtor.name, date=as_of, invoices=_barred_list(data["time_barred"]))
        )
    data["warnings"] = []
    if other_currencies:
        data["warnings"].append(
            gettext(
                "items in {currencies} are not part of this application: one application per currency"
            ).format(currencies=", ".join(other_currencies))
        )
    if barred and include_time_barred:
        data["warnings"].append(
            gettext(
                "time-barred, claimed anyway: {invoices}; the debtor may raise the defence of limitation, and the "
                "applicant then bears the costs of that part of the claim"
            ).format(invoices=_barred_list(data["time_barred"]))
        )
    elif barred:
        data["warnings"].append(
            gettext("time-barred, left out (limitation period ended on the date given): {invoices}").format(
                invoices=_barred_list(data["time_barred"])
            )
        )
    return data, lines


def _time_barred(line: dict[str, Any], as_of: date) -> bool:
    """Whether the invoice's limitation period ended before ``as_of`` (time-barred after that day)."""
    after = line["time_barred_after"]
    return after is not None and after < as_of


def _barred_list(items: list[dict[str, Any]]) -> str:
    return ", ".join(f"{b['invoice']} ({b['time_barred_after']:%d.%m.%Y})" for b in items)


def _pieces(line: dict[str, Any]) -> list[InterestPiece]:
    return [
        InterestPiece(
            start=s["from"],
            end=s["to"],
            principal_minor=s["principal_minor"],
            margin=Decimal(s["margin"]),
            base=None if s["base"] is None else Decimal(s["base"]),
            rate=Decimal(s["rate"]),
            amount_minor=s["amount_minor"],
        )
        for s in line["segments"]
    ]


def mahnantrag(
    company: Company,
    debtor: Debtor,
    as_of: date,
    *,
    include_time_barred: bool = False,
    currency: str | None = None,
) -> dict[str, Any]:
    """The data of a German court payment order against ``debtor`` as of ``as_of`` (amounts in minor units);
    time-barred invoices only with ``include_time_barred`` (see :func:`_open_lines`)."""
    data, lines = _open_lines(
        company, debtor, as_of, include_time_barred=include_time_barred, currency=currency
    )
    currency = lines[0]["currency"]
    if currency != "EUR":  # § 688 (1) ZPO: a court payment order is for a sum of money in euros
        raise EscalationError(
            gettext(
                "The claim is in {currency}: a German court payment order can only claim a sum in euros "
                "(§ 688 (1) ZPO); claims in other currencies go to court by an action"
            ).format(currency=currency)
        )
    main_claims: list[dict[str, Any]] = []
    interest_claims: list[dict[str, Any]] = []
    costs: list[dict[str, Any]] = []
    for line in lines:
        if line["principal_open_minor"] > 0:
            main_claims.append(
                {
                    "invoice": line["number"],
                    "description": f"Rechnung {line['number']} vom {line['issue_date'].strftime('%d.%m.%Y')}",
                    "invoice_date": line["issue_date"],
                    "due_date": line["due_date"],
                    "amount_minor": line["amount_minor"],
                    "open_minor": line["principal_open_minor"],
                }
            )
        split = split_interest(_pieces(line), line["principal_open_minor"], line["interest_paid_minor"])
        basis = interest_basis_de(split.margin, split.fixed_rate)
        if split.calculated_minor > 0:
            interest_claims.append(
                {
                    "invoice": line["number"],
                    "kind": "calculated",
                    "basis": basis,
                    "until": split.calculated_until,
                    "amount_minor": split.calculated_minor,
                    "text": f"ausgerechnete Zinsen bis {split.calculated_until:%d.%m.%Y}"
                    if split.calculated_until
                    else "",
                }
            )
        if split.running_from is not None and split.running_principal_minor > 0 and basis:
            interest_claims.append(
                {
                    "invoice": line["number"],
                    "kind": "running",
                    "basis": basis,
                    "margin_points": None if split.margin is None else str(split.margin.normalize()),
                    "fixed_percent": None if split.fixed_rate is None else str(split.fixed_rate.normalize()),
                    "from": split.running_from,
                    "principal_minor": split.running_principal_minor,
                    "accrued_to_date_minor": sum(
                        s["amount_minor"] for s in line["segments"] if s["from"] >= split.running_from
                    ),
                    "text": (
                        f"{basis} aus {format_money(split.running_principal_minor, currency, 'de')} "
                        f"seit dem {split.running_from:%d.%m.%Y}"
                    ),
                }
            )
        for charge in line["charges"]:
            if charge["open_minor"] > 0:
                costs.append(
                    {
                        "invoice": line["number"],
                        "kind": charge["kind"],
                        "label": COST_LABELS_DE.get(charge["kind"], charge["kind"]),
                        "booked_on": charge["booked_on"],
                        "amount_minor": charge["open_minor"],
                    }
                )
    value = sum(c["open_minor"] for c in main_claims)
    try:
        fee: int | None = mahnverfahren_fee(value, as_of)
        fee_error = ""
    except FeeTableError as exc:
        fee, fee_error = None, str(exc)
    service_on = as_of + timedelta(days=ASSUMED_SERVICE_DAYS)
    due = deadlines(service_on)
    limit = next(amount for since, amount in AMTSGERICHT_LIMITS if as_of >= since)
    tasks = [
        {
            "kind": "objection_period_ends",
            "task": TaskKind.COURT_OBJECTION.value,
            "due": due["objection_until"],
            "text": gettext(
                "Objection period ends two weeks after service (§ 692 ZPO): check whether the debtor objected"
            ),
        },
        {
            "kind": "apply_enforcement_order",
            "task": TaskKind.COURT_ENFORCEMENT.value,
            "due": due["enforcement_order_by"],
            "text": gettext(
                "Apply for the enforcement order (Vollstreckungsbescheid) within six months of service (§ 701 ZPO)"
            ),
        },
    ]
    warnings = list(data["warnings"])
    if debtor.country not in ("", "DE"):
        warnings.append(
            gettext("the debtor lives abroad: the Mahngericht Wedding (Berlin) handles such cases")
        )
    if data["not_yet_due"]:
        warnings.append(
            gettext("not yet due, left out: {invoices}").format(
                invoices=", ".join(f"{n['invoice']} ({n['due_date']:%d.%m.%Y})" for n in data["not_yet_due"])
            )
        )
    for line in lines:
        if line["interest_error"]:
            warnings.append(
                gettext("interest of {invoice}: {error}").format(
                    invoice=line["number"], error=line["interest_error"]
                )
            )
    if not debtor.has_postal_address():
        warnings.append(
            gettext("the debtor's postal address is missing: the court needs one to serve the order")
        )
    return {
        "as_of": as_of,
        "currency": currency,
        "rules": data["rules"],
        "applicant": _party_creditor(company),
        "respondent": _party_debtor(debtor),
        "invoice_ids": [line["invoice_id"] for line in lines],
        "not_yet_due": data["not_yet_due"],
        "time_barred": data["time_barred"],
        "main_claims": main_claims,
        "interest_claims": interest_claims,
        "costs": costs,
        "counter_performance": {"depends": False, "text": COUNTER_PERFORMANCE_DE},
        "claim_value_minor": value,
        "side_claims_minor": sum(c["amount_minor"] for c in interest_claims if c["kind"] == "calculated")
        + sum(c["accrued_to_date_minor"] for c in interest_claims if c["kind"] == "running")
        + sum(c["amount_minor"] for c in costs),
        "total_as_of_minor": sum(line["total_open_minor"] for line in lines),
        "court_fee_minor": fee,
        "court_fee_error": fee_error,
        "court_for_contested_proceedings": "Amtsgericht" if value <= limit else "Landgericht",
        "assumed_service_on": service_on,
        "deadlines": tasks,
        "warnings": warnings,
    }


@transaction.atomic
def record_mahnantrag(company: Company, debtor: Debtor, data: dict[str, Any], actor: str = "system") -> bool:
    """Put the prepared application on the timeline (once per day) and its deadlines on the task list (one
    open task per kind: preparing it again does not double them)."""
    create_tasks(company, debtor, data["deadlines"], data["as_of"], actor=actor)
    if TimelineEvent.objects.filter(
        debtor=debtor, kind="court_order_prepared", business_date=data["as_of"]
    ).exists():
        return False
    cur = data["currency"]
    fee = data["court_fee_minor"]
    event(
        debtor.pk,
        company.pk,
        "court_order_prepared",
        data["as_of"],
        actor=actor,
        total=format_money(data["total_as_of_minor"], cur),
        count=len(data["main_claims"]),
        fee=format_money(fee, cur) if fee is not None else "-",
        objection_until=data["deadlines"][0]["due"],
        enforcement_order_by=data["deadlines"][1]["due"],
        service_on=data["assumed_service_on"],
        deadlines=[{"kind": t["kind"], "due": t["due"].isoformat()} for t in data["deadlines"]],
        invoice_ids=data["invoice_ids"],
    ).save()
    return True


# --- Latvia ---------------------------------------------------------------------------------------------------


def _lv_money(minor: int, currency: str) -> str:
    return format_money(minor, currency, "lv")


def lv_warning(
    company: Company,
    debtor: Debtor,
    as_of: date,
    *,
    include_time_barred: bool = False,
    currency: str | None = None,
) -> dict[str, Any]:
    """The Latvian warning procedure: the application's data and the creditor's warning letter; time-barred
    invoices only with ``include_time_barred`` (see :func:`_open_lines`). Only against a debtor whose
    address is in Latvia (Civilprocesa likums 406.2. pants): a Latvian court serves the warning there; a
    debtor elsewhere is claimed in its own country or, across borders, by the European procedures."""
    country = (debtor.country or "").upper()
    if country != "LV":
        raise EscalationError(
            gettext(
                "{debtor}: the Latvian warning procedure is only for a debtor whose address is in Latvia (the "
                "debtor's country is {country}); use the procedure of the debtor's country or, across borders, "
                "the European small claims procedure"
            ).format(debtor=debtor.number, country=country or "-")
        )
    data, lines = _open_lines(
        company, debtor, as_of, include_time_barred=include_time_barred, currency=currency
    )
    currency = lines[0]["currency"]
    lv = assumptions()["lv_payment_order"]
    principal = sum(line["principal_open_minor"] for line in lines)
    interest = sum(line["interest_open_minor"] for line in lines)
    costs = sum(line["fees_open_minor"] for line in lines)
    total = principal + interest + costs
    fee = max(
        round_half_up(Decimal(principal) * Decimal(str(lv["fee_percent"])) / 100),
        to_minor(str(lv["fee_minimum"]), currency),
    )
    due = lv_deadlines(
        as_of, int(lv["warning_days"]), int(lv["assumed_service_days"]), int(lv["objection_days"])
    )
    deadline = due["pay_by"]
    tasks = [
        {
            "kind": "file_application",
            "task": TaskKind.COURT_APPLICATION.value,
            "due": due["file_application_from"],
            "text": gettext(
                "Latvian warning procedure: the warning letter asked for payment by {date}; if still unpaid, "
                "file the application with the court (Civilprocesa likums 400.–406.¹ pants)"
            ).format(date=deadline.isoformat()),
        },
        {
            "kind": "objection_period_ends",
            "task": TaskKind.COURT_OBJECTION.value,
            "due": due["objection_until"],
            "text": gettext(
                "Latvian warning procedure: {days} days to object after the court's warning is served "
                "(service assumed on {date}): check whether the debtor objected"
            ).format(days=int(lv["objection_days"]), date=due["assumed_service_on"].isoformat()),
        },
    ]
    claims = [
        {
            "invoice": line["number"],
            "invoice_date": line["issue_date"],
            "due_date": line["due_date"],
            "principal_minor": line["principal_open_minor"],
            "interest_minor": line["interest_open_minor"],
            "interest_from": line["default_from"],
            "interest_rate": line["segments"][-1]["rate"] if line["segments"] else None,
            "costs_minor": line["fees_open_minor"],
        }
        for line in lines
    ]
    numbers = ", ".join(line["number"] for line in lines)
    creditor = company.name + (
        f" (reģ. Nr. {company.registration_number})" if company.registration_number else ""
    )
    letter = "\n\n".join(
        [
            "BRĪDINĀJUMS PAR SAISTĪBU IZPILDI",
            f"{company.city or ''} {as_of:%d.%m.%Y}".strip(),
            f"{debtor.name}\n" + "\n".join(debtor.address_lines()),
            f"{creditor} brīdina, ka Jums ir neizpildītas naudas saistības par rēķiniem {numbers} "
            f"kopsummā {_lv_money(total, currency)}: pamatparāds {_lv_money(principal, currency)}, "
            f"procenti {_lv_money(interest, currency)}, ārpustiesas parāda atgūšanas izdevumi "
            f"{_lv_money(costs, currency)}.",
            (
                f"Lūdzam samaksāt šo summu līdz {deadline:%d.%m.%Y} uz kontu {company.iban}"
                + (f" ({company.bic})" if company.bic else "")
                + f", maksājuma mērķī norādot rēķinu numurus ({numbers})."
                if company.iban  # a creditor without a bank account names none
                else f"Lūdzam samaksāt šo summu līdz {deadline:%d.%m.%Y}, norādot rēķinu numurus ({numbers})."
            ),
            "Ja summa netiks samaksāta norādītajā termiņā, mēs iesniegsim tiesā pieteikumu par saistību "
            "izpildīšanu brīdinājuma kārtībā (Civilprocesa likuma 400.–406.¹ pants). Tādā gadījumā Jums būs "
            "jāatlīdzina arī tiesas izdevumi.",
            "Ja nepiekrītat prasījumam, lūdzam mums to paziņot rakstveidā līdz norādītajam termiņam.",
            company.name,
        ]
    )
    return {
        "as_of": as_of,
        "currency": currency,
        "rules": data["rules"],
        "procedure": "saistību izpildīšana brīdinājuma kārtībā (Civilprocesa likums 400.–406.¹ pants)",
        "application": {
            "court": "rajona (pilsētas) tiesa pēc parādnieka deklarētās dzīvesvietas vai juridiskās adreses",
            "creditor": _party_creditor(company),
            "debtor": _party_debtor(debtor),
            "claims": claims,
            "principal_minor": principal,
            "interest_minor": interest,
            "costs_minor": costs,
            "total_minor": total,
            "basis": "rakstveida darījums (rēķins), kura izpildes termiņš ir iestājies",
            "state_fee_minor": fee,
            "state_fee_basis": f"{lv['fee_percent']} % no prasījuma summas (Civilprocesa likums 34. pants)",
        },
        "invoice_ids": [line["invoice_id"] for line in lines],
        "not_yet_due": data["not_yet_due"],
        "time_barred": data["time_barred"],
        "warnings": data["warnings"],
        "warning_letter": {"language": "lv", "pay_by": deadline, "text": letter},
        "assumed_service_on": due["assumed_service_on"],
        "deadlines": tasks,
        "objection_days_after_service": int(lv["objection_days"]),
        "sources": list(lv["sources"]),
        "unconfirmed": list(lv["unconfirmed"]),
    }


@transaction.atomic
def record_lv_warning(company: Company, debtor: Debtor, data: dict[str, Any], actor: str = "system") -> bool:
    """Note the warning letter and the application's data on the timeline (once per day) and the deadlines that
    follow on the task list (one open task per kind)."""
    app = data["application"]
    create_tasks(
        company, debtor, data["deadlines"], data["as_of"], actor=actor, event_kind="lv_court_tasks_created"
    )
    if TimelineEvent.objects.filter(
        debtor=debtor, kind__in=("lv_warning_prepared", "lv_warning_written"), business_date=data["as_of"]
    ).exists():
        return False
    event(
        debtor.pk,
        company.pk,
        "lv_warning_written",
        data["as_of"],
        actor=actor,
        total=format_money(app["total_minor"], data["currency"]),
        fee=format_money(app["state_fee_minor"], data["currency"]),
        pay_by=data["warning_letter"]["pay_by"],
        invoice_ids=data["invoice_ids"],
    ).save()
    return True


# --- European Small Claims Procedure -----------------------------------------------------------------------------

SMALL_CLAIMS_PROCEDURE = "Regulation (EC) No 861/2007, Annex I, Form A"
COUNTRY_NAMES = {
    "AT": "Austria",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "CY": "Cyprus",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GR": "Greece",
    "HR": "Croatia",
    "HU": "Hungary",
    "IE": "Ireland",
    "IT": "Italy",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MT": "Malta",
    "NL": "Netherlands",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SE": "Sweden",
    "SI": "Slovenia",
    "SK": "Slovakia",
}


def _small_claims_interest(line: dict[str, Any]) -> dict[str, Any] | None:
    """The interest of one invoice as Form A asks for it (section 7): statutory or contractual, the rate (a
    margin over the base rate or a fixed rate), the date from which it runs and what has accrued to date."""
    if not line["segments"]:
        return None
    split = split_interest(_pieces(line), line["principal_open_minor"], line["interest_paid_minor"])
    last = line["segments"][-1]
    margin = Decimal(last["margin"]) if last["base"] is not None else None
    return {
        "invoice": line["number"],
        "kind": "statutory",
        "basis": "base_rate_plus_margin" if margin is not None else "fixed_rate",
        "margin_points": None if margin is None else str(margin.normalize()),
        "rate_percent": str(Decimal(last["rate"]).normalize()),
        "from": line["default_from"],
        "running_from": split.running_from,
        "principal_minor": line["principal_open_minor"],
        "accrued_to_date_minor": line["interest_open_minor"],
    }


def small_claims(
    company: Company,
    debtor: Debtor,
    as_of: date,
    *,
    include_time_barred: bool = False,
    currency: str | None = None,
) -> dict[str, Any]:
    """The data of the claim form of the European Small Claims Procedure (Regulation (EC) No 861/2007,
    Annex I, Form A) against ``debtor`` as of ``as_of``, amounts in minor units.

    The court is the one of the defendant's domicile (Art. 4 (1) Regulation (EU) No 1215/2012). The procedure
    applies to cross-border cases only (Art. 3: a party domiciled in a member state other than that of the
    court) between member states other than Denmark, and to claims up to 5,000 EUR without interest and costs
    (Art. 2 (1)); anything else is refused with the reason. Time-barred invoices only with
    ``include_time_barred`` (see :func:`_open_lines`)."""
    esc = assumptions()["european_small_claims"]
    limit = to_minor(str(esc["limit"]), "EUR")
    creditor_country = company.country or company.jurisdiction
    debtor_country = debtor.country
    if not debtor_country:
        raise EscalationError(
            gettext("{debtor}: the debtor's country is not known; the small claims form needs it").format(
                debtor=debtor.number
            )
        )
    outside = [c for c in (creditor_country, debtor_country) if c not in SMALL_CLAIMS_COUNTRIES]
    if outside:
        raise EscalationError(
            gettext(
                "The European Small Claims Procedure applies only between EU member states other than "
                "Denmark; not in: {countries}"
            ).format(countries=", ".join(sorted(set(outside))))
        )
    if creditor_country == debtor_country:
        raise EscalationError(
            gettext(
                "The European Small Claims Procedure is for cross-border cases only: creditor and debtor are "
                "both in {country}"
            ).format(country=debtor_country)
        )
    data, lines = _open_lines(
        company, debtor, as_of, include_time_barred=include_time_barred, currency=currency
    )
    currency = lines[0]["currency"]
    if currency != "EUR":
        raise EscalationError(
            gettext(
                "The claim is in {currency}: the 5,000 EUR limit can only be checked for claims in EUR"
            ).format(currency=currency)
        )
    principal = sum(line["principal_open_minor"] for line in lines)
    if principal > limit:
        raise EscalationError(
            gettext(
                "The claim of {amount} exceeds the limit of {limit} of the European Small Claims Procedure "
                "(interest and costs not counted): take a court payment order or a lawyer instead"
            ).format(amount=format_money(principal, currency), limit=format_money(limit, currency))
        )
    claims = [
        {
            "invoice": line["number"],
            "invoice_date": line["issue_date"],
            "due_date": line["due_date"],
            "amount_minor": line["amount_minor"],
            "principal_minor": line["principal_open_minor"],
        }
        for line in lines
        if line["principal_open_minor"] > 0
    ]
    interest = [i for i in (_small_claims_interest(line) for line in lines) if i is not None]
    costs = [
        {
            "invoice": line["number"],
            "kind": charge["kind"],
            "booked_on": charge["booked_on"],
            "amount_minor": charge["open_minor"],
        }
        for line in lines
        for charge in line["charges"]
        if charge["open_minor"] > 0
    ]
    interest_total = sum(line["interest_open_minor"] for line in lines)
    costs_total = sum(line["fees_open_minor"] for line in lines)
    numbers = ", ".join(c["invoice"] for c in claims)
    return {
        "form": SMALL_CLAIMS_PROCEDURE,
        "as_of": as_of,
        "currency": currency,
        "language": company.default_language or "en",
        "rules": data["rules"],
        "court": {
            "country": debtor_country,
            "country_name": COUNTRY_NAMES.get(debtor_country, debtor_country),
            "city": debtor.city,
            "description": "court having jurisdiction at the defendant's domicile",
        },
        "claimant": _party_creditor(company) | {"email": company.collections_email or company.email},
        "defendant": _party_debtor(debtor),
        "jurisdiction": {
            "ground": "defendant_domicile",
            "text": "Domicile of the defendant (Art. 4 (1) Regulation (EU) No 1215/2012)",
        },
        "cross_border": {
            "claimant_country": creditor_country,
            "defendant_country": debtor_country,
            "court_country": debtor_country,
        },
        "claims": claims,
        "interest": interest,
        "costs": costs,
        "principal_minor": principal,
        "interest_minor": interest_total,
        "costs_minor": costs_total,
        "total_minor": principal + interest_total + costs_total,
        "limit_minor": limit,
        "not_yet_due": data["not_yet_due"],
        "time_barred": data["time_barred"],
        "warnings": data["warnings"],
        "details": (
            f"Unpaid invoices {numbers} for goods or services delivered; due and not paid despite reminders."
        ),
        "assumed_court_fee_minor": to_minor(str(esc["assumed_court_fee"]), currency),
        "sources": list(esc["sources"]),
    }


@transaction.atomic
def record_small_claims(
    company: Company, debtor: Debtor, data: dict[str, Any], actor: str = "system"
) -> bool:
    """Note the prepared claim form A on the debtor's timeline (once per day)."""
    if TimelineEvent.objects.filter(
        debtor=debtor, kind="small_claims_prepared", business_date=data["as_of"]
    ).exists():
        return False
    cur = data["currency"]
    event(
        debtor.pk,
        company.pk,
        "small_claims_prepared",
        data["as_of"],
        actor=actor,
        total=format_money(data["total_minor"], cur),
        principal=format_money(data["principal_minor"], cur),
        country=data["court"]["country"],
        invoices=[c["invoice"] for c in data["claims"]],
    ).save()
    return True
