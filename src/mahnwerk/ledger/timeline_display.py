"""Timeline events as a reader sees them: in the page's language, amounts and dates written its way.

Events keep their data as the writer had it (amounts written the English way, ISO dates, codes or English
labels of choices), so that the command line, the API and webhooks read one form; pages put it into the
reader's language here.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from mahnwerk.core.money import MoneyError, format_money, to_minor
from mahnwerk.core.tabular import iso_currencies
from mahnwerk.ledger.models import TimelineEvent
from mahnwerk.ledger.timeline import EVENT_TEXTS, _Defaults, withdrawal_reason

# Values kept in an event's data as the writer had them: amounts written the English way ("€1,570.08"),
# ISO dates, and codes or English labels of choices. They are put into the reader's language on display.
_SYMBOLS = {"€": "EUR", "US$": "USD", "$": "USD", "£": "GBP"}
_MONEY = re.compile(
    r"(?<![\w-])(?P<sign>-?)(?:(?P<symbol>US\$|[€$£])|(?P<code>[A-Z]{3})\s?)(?P<sign2>-?)"
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# data keys that hold a choice (its code or its English label); their texts are looked up in the catalogue
_LABEL_KEYS = frozenset(
    {
        "outcome",
        "tone",
        "channel",
        "step",
        "status",
        "what",
        "by",
        "charge",
        "offer",
        "task",
        "option",
        "recommended",
    }
)
# why a message went by another channel than its step's (``channel_fallback``'s ``reason``, see core.channels)
CHANNEL_REASONS = {
    "step": _("the step's channel"),
    "preferred": _("the customer's preferred channel"),
    "fallback": _("the step's channel cannot be used"),
    "agreed": _("only the channels agreed in the contract"),
    "unreachable": _("no valid address for the step's channel"),
}
PLAN_VIOLATION_TEXTS = {
    "too_many_instalments": _("more instalments than the limit"),
    "down_payment_too_small": _("down payment below the minimum"),
    "too_long": _("runs longer than allowed"),
}


def _money_in_language(match: re.Match[str], language: str) -> str:
    currency = _SYMBOLS.get(match["symbol"] or "") or match["code"] or ""
    if currency not in iso_currencies():  # "INV 12" is no amount
        return match.group(0)
    try:
        minor = to_minor(Decimal(match["number"].replace(",", "")), currency)
    except (MoneyError, InvalidOperation, ValueError, LookupError):
        return match.group(0)
    if match["sign"] or match["sign2"]:
        minor = -minor
    try:
        return format_money(minor, currency, language)
    except (LookupError, ValueError):  # not a currency after all ("ABC 12")
        return match.group(0)


@cache
def _choice_labels() -> dict[str, Any]:
    """Codes of the choices events name (tone, channel, call outcome, dispute reason, ...) and their labels."""
    from mahnwerk.collection.agreements_models import DisputeReason
    from mahnwerk.collection.models import CallOutcome, TaskKind, ToneChoice
    from mahnwerk.ledger.models import ChannelChoice

    labels: dict[str, Any] = {}
    for choices in (ToneChoice, ChannelChoice, CallOutcome, TaskKind, DisputeReason):
        labels.update(dict(choices.choices))
    return labels


def localize_value(value: Any, key: str = "", language: str | None = None) -> Any:
    """One value of an event's data in the reader's language: ISO dates as the language writes dates, amounts
    written the English way as the language writes money, codes and English labels of choices translated."""
    if not isinstance(value, str) or not value:
        return value
    language = (language or get_language() or "en")[:2]
    if language == "en":  # written in English: the data's own form (the CLI, the API and webhooks read it)
        return str(PLAN_VIOLATION_TEXTS.get(value, value)) if key == "violations" else value
    if _ISO_DATE.fullmatch(value):
        try:
            return date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
        except ValueError:
            return value
    if key == "violations":
        return ", ".join(
            str(PLAN_VIOLATION_TEXTS.get(code.strip(), code.strip())) for code in value.split(",") if code
        )
    if key in _LABEL_KEYS or key == "reason":
        label = _choice_labels().get(value)
        if label is not None:
            return str(label)
        translated = gettext(value)
        if translated != value:
            return translated
    if any(c.isdigit() for c in value):
        return _MONEY.sub(lambda m: _money_in_language(m, language), value)
    return value


def localize_money(text: str, language: str | None = None) -> str:
    """Amounts in ``text`` written the English way ("€1,570.08") as the reader's language writes them."""
    language = (language or get_language() or "en")[:2]
    if language == "en" or not any(c.isdigit() for c in text):
        return text
    return _MONEY.sub(lambda m: _money_in_language(m, language), text)


def _segment_name(key: str, fallback: str) -> str:
    from mahnwerk.core.behaviour import DEFAULT_SEGMENT_RULES

    for rule in DEFAULT_SEGMENT_RULES:
        if rule.key == key:
            return gettext(rule.label)
    return fallback


def describe(event: TimelineEvent) -> str:
    """The event's text in the active language, its figures, dates and choices written the language's way."""
    template = EVENT_TEXTS.get(event.kind)
    if template is None:
        return event.kind
    data = _Defaults({k: localize_value(v, k) for k, v in event.data.items()})
    if event.kind == "message_withdrawn":
        data["reason"] = withdrawal_reason(str(event.data.get("reason", "")), data)
    if event.kind == "channel_fallback" and event.data.get("reason") in CHANNEL_REASONS:
        data["reason"] = str(CHANNEL_REASONS[event.data["reason"]])
    if event.kind == "segment_changed":
        for side in ("old", "new"):
            data[side] = _segment_name(str(event.data.get(f"{side}_key", "")), str(data.get(side, "-")))
    text = str(template).format_map(data)
    return f"{text} — {event.note}" if event.note else text


def actor_label(actor: str) -> str:
    """Who did it, for the timeline: a user's name, the run, the customer on its payment page."""
    if actor.startswith("user:"):
        return actor[len("user:") :]
    known = {
        "system": _("system"),
        "debtor": _("the customer"),
        "debtor (portal)": _("the customer (payment page)"),
        "clerk": _("a clerk"),
    }
    return str(known.get(actor, actor))
