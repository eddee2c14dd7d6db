"""The texts of the escalation advice: option names and the reasons the core gives (by code)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import get_language, gettext, gettext_noop

from mahnwerk.core.escalation import Reason
from mahnwerk.core.money import format_money

OPTION_LABELS = {
    "keep_chasing": gettext_noop("Keep chasing"),
    "settlement": gettext_noop("Settlement offer"),
    "agency": gettext_noop("Collection agency"),
    "court_payment_order": gettext_noop("Court payment order (Mahnbescheid)"),
    "lv_payment_order": gettext_noop("Latvian warning procedure (brīdinājuma kārtība)"),
    "european_small_claims": gettext_noop("European Small Claims Procedure"),
    "lawyer": gettext_noop("Lawyer"),
    "write_off": gettext_noop("Write off"),
}

REASON_TEXTS = {
    # xgettext:no-python-format (a per-cent sign, not a placeholder)
    "probability_history": gettext_noop("success {percent} % from this company's own history"),
    "probability_default": gettext_noop(
        "success {percent} % (stated default: too little history of our own)"
    ),
    "rating": gettext_noop("adjusted for the customer's payment rating {rating}"),
    "disputed": gettext_noop("the claim is disputed: an objection or refusal is likely"),
    # the limitation reasons name the items (see ``ITEM``) and the statute of the debtor's law, where it has one
    "time_barred": gettext_noop(
        "time-barred, the debtor may refuse to pay ({statute}): {items}; {amount} in all"
    ),
    "limitation_paused": gettext_noop("filing pauses the limitation period ending {date} ({statute})"),
    "limitation_ends": gettext_noop("the limitation period ends {date} ({statute}): file before then"),
    "limitation_first": gettext_noop("time-barred before this option ends: {items}"),
    "time_barred_left_out": gettext_noop(
        "left out of the application as time-barred: {items}; {amount} in all"
    ),
    "all_time_barred": gettext_noop("every item is time-barred, an application would claim nothing: {items}"),
    "further_reminders": gettext_noop("{count} more letters"),
    "settlement_offer": gettext_noop("offer {offer}, giving up {given_up}"),
    # xgettext:no-python-format (a per-cent sign, not a placeholder)
    "agency_default_fee": gettext_noop("agency keeps {percent} % of what it collects (stated default)"),
    # xgettext:no-python-format (a per-cent sign, not a placeholder)
    "agency_fee": gettext_noop("agency keeps {percent} % of what it collects"),
    "rdg_cap": gettext_noop(
        "the debtor reimburses agency costs only up to a lawyer's fee, {cap} (§ 13e RDG)"
    ),
    "flat_rate_credited": gettext_noop(
        "the flat rate of {flat_rate} already claimed is credited against these costs (§ 288 (5) BGB)"
    ),
    "costs_cap": gettext_noop("recovery costs capped: {cap_left} left of the legal maximum"),
    "not_recoverable": gettext_noop("the debtor need not reimburse these costs"),
    "court_debtor_abroad": gettext_noop("the debtor lives in {country}: a German payment order does not fit"),
    "fee_table": gettext_noop("no fee known: {error}"),
    "gkg_fee": gettext_noop("court fee {fee} (0.5 fee on {value}, KV GKG 1100)"),
    "court_fee_borne_by_debtor": gettext_noop("the debtor bears the court fee"),
    "lv_only": gettext_noop("only for debtors in Latvia"),
    # xgettext:no-python-format (a per-cent sign, not a placeholder)
    "lv_fee": gettext_noop("state fee {fee} ({percent} % of the claim)"),
    "unconfirmed_assumption": gettext_noop("figures of this procedure are unconfirmed assumptions"),
    "small_claims_limit": gettext_noop("claims above {limit} are not small claims"),
    "small_claims_cross_border": gettext_noop("only for cross-border claims within the EU"),
    "small_claims_fee": gettext_noop("court fee assumed {fee}: it varies by member state"),
    "rvg_fee": gettext_noop("lawyer's fee {fee} ({factor} fee, VV RVG 2300) and expenses {expenses}"),
    "rvg_estimate": gettext_noop("costs estimated by the German fee table"),
    "write_off": gettext_noop("no more costs, nothing more collected"),
    "below_minimum": gettext_noop("the amount owed is below the escalation minimum of {minimum}"),
    "vat_correction": gettext_noop("the VAT can be corrected once the claim is uncollectable (§ 17 UStG)"),
    "relationship": gettext_noop(
        "likely ends the relationship with a valued customer (rating {rating}, {segment})"
    ),
    "relationship_kept": gettext_noop(
        "keeps the relationship with a valued customer (rating {rating}, {segment})"
    ),
    "highest_expected": gettext_noop("highest expected net recovery"),
    "nothing_pays": gettext_noop("no option is expected to bring more than it costs"),
    "valued_customer_soft": gettext_noop("a valued customer: a gentler option brings almost as much"),
}


# the same reasons where the debtor's law names no statute for them (no citation is made up)
WITHOUT_STATUTE = {
    "time_barred": gettext_noop("time-barred, the debtor may refuse to pay: {items}; {amount} in all"),
    "limitation_paused": gettext_noop("filing pauses the limitation period ending {date}"),
    "limitation_ends": gettext_noop("the limitation period ends {date}: file before then"),
}

# one item of a limitation reason: the invoice and the last day it can be enforced
ITEM = gettext_noop("{invoice} (after {date})")


def item_list(items: Any, translate: Callable[[str], str] = gettext) -> str:
    """``[[invoice, ISO date], ...]`` as a reason names them: "RE-1 (after 2024-12-31), RE-7 (after ...)"."""
    return ", ".join(
        translate(ITEM).format(invoice=invoice, date=day) if day else str(invoice) for invoice, day in items
    )


def option_label(option: str) -> str:
    return gettext(OPTION_LABELS[option]) if option in OPTION_LABELS else option


def render_reason(
    reason: Reason | Mapping[str, Any], currency: str = "EUR", translate: Callable[[str], str] = gettext
) -> str:
    """A reason in the active language; amounts (``*_minor``) formatted as money, dates as ISO dates."""
    code = reason.code if isinstance(reason, Reason) else str(reason["code"])
    params = dict(reason.params if isinstance(reason, Reason) else reason.get("params", {}))
    values: dict[str, Any] = {}
    language = (get_language() or "en")[:2]
    locale = language if language in ("de", "lv") else "en"
    for key, value in params.items():
        if key.endswith("_minor") and isinstance(value, int):
            values[key.removesuffix("_minor")] = format_money(value, currency, locale)
        elif key == "items" and isinstance(value, list | tuple):
            values[key] = item_list(value, translate)
        else:
            values[key] = str(value)
    template = REASON_TEXTS.get(code)
    if "statute" in params and not params["statute"]:
        template = WITHOUT_STATUTE.get(code, template)
    if template is None:
        return code
    try:
        return translate(template).format(**values)
    except (KeyError, IndexError):
        return translate(template)
