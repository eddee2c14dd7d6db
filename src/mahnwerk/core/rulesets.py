"""Rule sets: the law of one jurisdiction for one kind of debtor, as versioned data.

Each ``core/data/rulesets/<jurisdiction>_<kind>.toml`` holds ``[[versions]]`` with a ``valid_from``
date; a later version lists only what changed and inherits the rest (a deep merge in date order).
A user overlay directory (``$MAHNWERK_DATA_DIR/rulesets/``) may add versions to a packaged rule set
(for instance a state's legal rate for the US, or a reminder fee) or add a new jurisdiction.

Which version applies: for interest, compensation and default the date the claim *arose* (the
German margin of 8 or 9 pp depends on it); for contact rules the business date.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from mahnwerk.core.money import to_minor
from mahnwerk.core.rates import percent_to_units


class RuleSetError(ValueError):
    """A rule set that is missing or cannot be read."""


class DebtorKind(StrEnum):
    BUSINESS = "business"
    CONSUMER = "consumer"


class DayCount(StrEnum):
    ACT365 = "act365"  # actual days over 365 in every year
    ACTACT = "actact"  # actual days over the days of their year (366 in leap years)


class Component(StrEnum):
    COSTS = "costs"
    INTEREST = "interest"
    PRINCIPAL = "principal"
    PENALTY = "penalty"


COMPONENTS = frozenset(Component)


@dataclass(frozen=True, slots=True)
class InterestRule:
    kind: str  # "base_plus_margin" or "fixed"
    rate_table: str | None
    margin_units: int  # rate units (1/10,000 %) added to the base rate
    fixed_units: int  # the whole rate for kind "fixed"
    day_count: DayCount
    cap_at_principal: bool  # LV: unpaid interest never exceeds the principal


@dataclass(frozen=True, slots=True)
class DefaultRule:
    due_date_on_invoice_suffices: bool  # a due date set only on the invoice starts default (EU/LV B2B)
    reminder_after_due: bool
    days_after_due_and_receipt: int  # 0: no such rule
    thirty_day_rule_needs_notice: bool  # DE consumers: only if the invoice carried the notice
    # DE (Grüneberg § 286): a reminder that sets a deadline puts the debtor in default only once it has passed,
    # and a reminder without one only once it is received (a letter some business days after posting)
    reminder_default_after_deadline: bool = False


@dataclass(frozen=True, slots=True)
class FeePolicy:
    currency: str
    flat_compensation_minor: int  # per late invoice or instalment; 0: none
    reminder_fee_minor: int  # the actual cost of one reminder
    first_reminder_free: bool  # the first, default-causing reminder carries no fee
    first_notice_cap_minor: int | None
    further_total_cap_minor: int | None
    total_cap_minor: int | None
    penalty_cap_units: int | None  # contractual penalty cap, rate units of the principal
    # DE (BGH VIII ZR 95/18): a reminder costs what its channel costs (a letter the company's letter cost,
    # an email or SMS nothing), not the rule set's amount
    reminder_fee_by_channel: bool = False
    # DE (§ 288 (5) s. 3 BGB): the flat compensation is credited against reminder costs: one or the other
    flat_compensation_covers_reminders: bool = False


@dataclass(frozen=True, slots=True)
class LimitationRule:
    years: int
    starts: str  # "year_end" (DE: end of the year the claim arose) or "due_date"
    restart_on: frozenset[str]  # "part_payment", "acknowledgement"
    warning_days: int


@dataclass(frozen=True, slots=True)
class ContactRules:
    quiet_from: time | None  # no contact from this time ...
    quiet_until: time | None  # ... until this time (local to the debtor)
    allowed_weekdays: frozenset[int]  # ISO weekdays 1 (Monday) .. 7 (Sunday) on which contact is allowed
    no_sundays: bool
    no_public_holidays: bool
    max_calls_per_7_days: int  # 0: no cap
    no_call_days_after_conversation: int
    opt_out_line_required: bool  # every email and SMS carries an opt-out
    first_notice_objection_days: int  # days from receipt of the first notice to object; 0: none
    postal_receipt_days: int  # a posted notice counts as received on this day; 0: not set
    first_notice_written: bool = False  # the first notice only as a letter or an email (not SMS, not a call)


@dataclass(frozen=True, slots=True)
class RuleSet:
    jurisdiction: str
    debtor_kind: DebtorKind
    valid_from: date
    title: str
    interest: InterestRule
    default: DefaultRule
    fees: FeePolicy
    allocation_order: tuple[Component, ...]
    limitation: LimitationRule
    contact: ContactRules
    sources: tuple[str, ...]
    unconfirmed: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.jurisdiction}/{self.debtor_kind}"


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        elif k == "sources" and isinstance(v, list):
            out[k] = [*out.get(k, []), *v]
        else:
            out[k] = v
    return out


def _optional_minor(value: str, currency: str) -> int | None:
    return to_minor(value, currency) if str(value).strip() else None


def _time(value: str) -> time | None:
    return time.fromisoformat(value) if str(value).strip() else None


def _build(jurisdiction: str, kind: DebtorKind, title: str, data: Mapping[str, Any]) -> RuleSet:
    origin = f"rule set {jurisdiction}/{kind} from {data.get('valid_from')}"
    try:
        i, d, f, lim, c = (data[k] for k in ("interest", "default", "fees", "limitation", "contact"))
        currency = str(f["currency"])
        interest_kind = str(i["kind"])
        if interest_kind not in ("base_plus_margin", "fixed"):
            raise RuleSetError(f"{origin}: unknown interest kind {interest_kind!r}")
        order = tuple(Component(x) for x in data["allocation_order"])
        if set(order) != COMPONENTS or len(order) != len(COMPONENTS):
            raise RuleSetError(f"{origin}: allocation_order must name each of {sorted(COMPONENTS)} once")
        starts = str(lim["starts"])
        if starts not in ("year_end", "due_date"):
            raise RuleSetError(f"{origin}: limitation starts must be year_end or due_date")
        penalty_cap = str(f.get("penalty_cap_percent", "")).strip()
        return RuleSet(
            jurisdiction=jurisdiction,
            debtor_kind=kind,
            valid_from=data["valid_from"],
            title=title,
            interest=InterestRule(
                kind=interest_kind,
                rate_table=i.get("rate_table") or None,
                margin_units=percent_to_units(str(i.get("margin_percent", "0"))),
                fixed_units=percent_to_units(str(i.get("fixed_percent", "0"))),
                day_count=DayCount(i.get("day_count", "act365")),
                cap_at_principal=bool(i.get("cap_at_principal", False)),
            ),
            default=DefaultRule(
                due_date_on_invoice_suffices=bool(d["due_date_on_invoice_suffices"]),
                reminder_after_due=bool(d["reminder_after_due"]),
                days_after_due_and_receipt=int(d["days_after_due_and_receipt"]),
                thirty_day_rule_needs_notice=bool(d["thirty_day_rule_needs_notice"]),
                reminder_default_after_deadline=bool(d.get("reminder_default_after_deadline", False)),
            ),
            fees=FeePolicy(
                currency=currency,
                flat_compensation_minor=to_minor(str(f["flat_compensation"]), currency),
                reminder_fee_minor=to_minor(str(f["reminder_fee"]), currency),
                first_reminder_free=bool(f["first_reminder_free"]),
                first_notice_cap_minor=_optional_minor(f.get("first_notice_cap", ""), currency),
                further_total_cap_minor=_optional_minor(f.get("further_total_cap", ""), currency),
                total_cap_minor=_optional_minor(f.get("total_cap", ""), currency),
                penalty_cap_units=percent_to_units(penalty_cap) if penalty_cap else None,
                reminder_fee_by_channel=bool(f.get("reminder_fee_by_channel", False)),
                flat_compensation_covers_reminders=bool(f.get("flat_compensation_covers_reminders", False)),
            ),
            allocation_order=order,
            limitation=LimitationRule(
                years=int(lim["years"]),
                starts=starts,
                restart_on=frozenset(lim.get("restart_on", [])),
                warning_days=int(lim.get("warning_days", 90)),
            ),
            contact=ContactRules(
                quiet_from=_time(c.get("quiet_from", "")),
                quiet_until=_time(c.get("quiet_until", "")),
                allowed_weekdays=frozenset(int(d) for d in c.get("allowed_weekdays", range(1, 8))),
                no_sundays=bool(c.get("no_sundays", False)),
                no_public_holidays=bool(c.get("no_public_holidays", False)),
                max_calls_per_7_days=int(c.get("max_calls_per_7_days", 0)),
                no_call_days_after_conversation=int(c.get("no_call_days_after_conversation", 0)),
                opt_out_line_required=bool(c.get("opt_out_line_required", False)),
                first_notice_objection_days=int(c.get("first_notice_objection_days", 0)),
                postal_receipt_days=int(c.get("postal_receipt_days", 0)),
                first_notice_written=bool(c.get("first_notice_written", False)),
            ),
            sources=tuple(data.get("sources", ())),
            unconfirmed=tuple(data.get("unconfirmed", ())),
        )
    except KeyError as exc:
        raise RuleSetError(f"{origin}: missing {exc.args[0]!r}") from None
    except ValueError as exc:
        if isinstance(exc, RuleSetError):
            raise
        raise RuleSetError(f"{origin}: {exc}") from None


@dataclass(frozen=True, slots=True)
class RuleBook:
    """All rule sets, every version resolved: ``(jurisdiction, kind) -> versions by valid_from``."""

    versions: Mapping[tuple[str, DebtorKind], tuple[RuleSet, ...]]

    def get(self, jurisdiction: str, debtor_kind: DebtorKind | str, on: date) -> RuleSet:
        """The version in force on ``on`` (for interest: the date the claim arose)."""
        try:
            kind = DebtorKind(debtor_kind)
        except ValueError:
            raise RuleSetError(f"unknown debtor kind {debtor_kind!r} (business or consumer)") from None
        versions = self.versions.get((jurisdiction.upper(), kind))
        if not versions:
            known = ", ".join(sorted({j for j, _ in self.versions}))
            raise RuleSetError(f"no rule set for {jurisdiction}/{kind} (known jurisdictions: {known})")
        chosen = [v for v in versions if v.valid_from <= on]
        if not chosen:
            raise RuleSetError(
                f"the rule set {jurisdiction}/{kind} starts on {versions[0].valid_from.isoformat()}, "
                f"after {on.isoformat()}"
            )
        return chosen[-1]

    def jurisdictions(self) -> list[str]:
        return sorted({j for j, _ in self.versions})


def _read_documents(overlay_dir: Path | None) -> list[tuple[str, dict[str, Any]]]:
    docs: list[tuple[str, dict[str, Any]]] = []
    folder = resources.files("mahnwerk.core").joinpath("data", "rulesets")
    for item in sorted(folder.iterdir(), key=lambda x: x.name):
        if item.name.endswith(".toml"):
            docs.append((item.name, tomllib.loads(item.read_text(encoding="utf-8"))))
    if overlay_dir is not None and overlay_dir.is_dir():
        for path in sorted(overlay_dir.glob("*.toml")):
            try:
                docs.append((str(path), tomllib.loads(path.read_text(encoding="utf-8"))))
            except tomllib.TOMLDecodeError as exc:
                raise RuleSetError(f"{path}: {exc}") from None
    return docs


def load_rulebook(overlay_dir: Path | None = None) -> RuleBook:
    """Read the packaged rule sets and the overlay directory's additions into a :class:`RuleBook`."""
    raw: dict[tuple[str, DebtorKind], tuple[str, list[dict[str, Any]]]] = {}
    for origin, doc in _read_documents(overlay_dir):
        try:
            key = (str(doc["jurisdiction"]).upper(), DebtorKind(doc["debtor_kind"]))
        except (KeyError, ValueError):
            raise RuleSetError(
                f"{origin}: needs jurisdiction and debtor_kind (business or consumer)"
            ) from None
        title, versions = raw.get(key, (str(doc.get("title", "")), []))
        for v in doc.get("versions", []):
            if not isinstance(v.get("valid_from"), date):
                raise RuleSetError(f"{origin}: every version needs a valid_from date")
            versions.append(v)
        raw[key] = (str(doc.get("title", "")) or title, versions)
    resolved: dict[tuple[str, DebtorKind], tuple[RuleSet, ...]] = {}
    for (jurisdiction, kind), (title, versions) in raw.items():
        merged: dict[str, Any] = {}
        out: list[RuleSet] = []
        # stable: an overlay version on the same date as a packaged one comes after it and wins
        for v in sorted(versions, key=lambda x: x["valid_from"]):
            merged = _merge(merged, v)
            merged["valid_from"] = v["valid_from"]
            if "unconfirmed" in v:
                merged["unconfirmed"] = list(v["unconfirmed"])
            built = _build(jurisdiction, kind, title, merged)
            if out and out[-1].valid_from == built.valid_from:
                out[-1] = built
            else:
                out.append(built)
        resolved[(jurisdiction, kind)] = tuple(out)
    return RuleBook(resolved)


def contact_allowed_at(rules: ContactRules, local: datetime, public_holiday: bool = False) -> bool:
    """Whether the rule set allows contacting the debtor at ``local`` (the debtor's local time).

    Quiet hours may wrap midnight (21:00 .. 08:00): contact is barred from ``quiet_from`` inclusive
    to ``quiet_until`` exclusive. Frequency caps need the contact history and are the caller's.
    """
    day = local.isoweekday()
    if day not in rules.allowed_weekdays or (rules.no_sundays and day == 7):
        return False
    if public_holiday and rules.no_public_holidays:
        return False
    if rules.quiet_from is None or rules.quiet_until is None:
        return True
    t = local.time()
    if rules.quiet_from <= rules.quiet_until:
        return not (rules.quiet_from <= t < rules.quiet_until)
    return rules.quiet_until <= t < rules.quiet_from


_PACKAGED: RuleBook | None = None


def packaged_rulebook() -> RuleBook:
    """The packaged rule sets only, read once per process."""
    global _PACKAGED
    if _PACKAGED is None:
        _PACKAGED = load_rulebook(None)
    return _PACKAGED


# The member states of the EU and the other EEA states (ISO 3166-1 alpha-2; Greece also as "EL", the EU's code).
EEA_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "IS",
        "LI",
        "NO",
    ]
)
# The EU member states alone (the EEA without Iceland, Liechtenstein and Norway).
EU_COUNTRIES = EEA_COUNTRIES - {"IS", "LI", "NO"}
PACKAGED_JURISDICTIONS = ("DE", "EU", "LV", "US")


class LawReason(StrEnum):
    """Why a debtor's claims follow a jurisdiction's rule set."""

    RESIDENCE = "residence"  # a consumer: the consumer-protection rules of the country of residence
    CONTRACT = "contract"  # the law of the contract set for this debtor (another than the creditor's)
    CREDITOR = "creditor"  # the law of the contract is the creditor's
    NO_RULES_FOR_RESIDENCE = "no_rules_for_residence"  # a consumer in a country without a rule set


@dataclass(frozen=True, slots=True)
class ApplicableLaw:
    """The rule set a debtor's claims follow (``jurisdiction``/``debtor_kind``) and why."""

    jurisdiction: str
    debtor_kind: DebtorKind
    reason: LawReason
    country: str = ""  # the consumer's country of residence where it was looked at


def applicable_law(
    debtor_kind: DebtorKind | str,
    *,
    country: str,
    contract: str,
    creditor: str,
    known: Collection[str] = PACKAGED_JURISDICTIONS,
) -> ApplicableLaw:
    """Which jurisdiction's rules apply to a debtor.

    A consumer gets the consumer-protection rules of the country of residence (Rome I art. 6): a country
    with a rule set of its own (``known``: DE, LV, US, or one an overlay adds) its own, another EU/EEA
    country the EU rules. A business — and a consumer whose country is not given or has no rule set — gets
    the law of the contract: ``contract`` (the debtor's own setting), else the creditor's.
    """
    kind = DebtorKind(debtor_kind)
    creditor = creditor.strip().upper()
    contract = (contract or "").strip().upper() or creditor
    country = (country or "").strip().upper()
    if kind is DebtorKind.CONSUMER and country:
        known_codes = {j.upper() for j in known} - {"EU"}
        if country in known_codes:
            return ApplicableLaw(country, kind, LawReason.RESIDENCE, country)
        if country in EEA_COUNTRIES:
            return ApplicableLaw("EU", kind, LawReason.RESIDENCE, country)
        return ApplicableLaw(contract, kind, LawReason.NO_RULES_FOR_RESIDENCE, country)
    reason = LawReason.CREDITOR if contract == creditor else LawReason.CONTRACT
    return ApplicableLaw(contract, kind, reason)
