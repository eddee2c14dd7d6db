"""A service's refusal in the page's language.

The agreement and call services refuse in English (for the command line and the API); a page says it in its
language. A refusal not listed here is said in general words, never in English on a German or Latvian page.
"""

from __future__ import annotations

import re

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

REFUSALS = {
    "name at least one invoice": gettext_lazy("name at least one invoice"),
    "an invoice named is not one of this debtor's": gettext_lazy(
        "an invoice named is not one of this debtor's"
    ),
    "an invoice named is already settled": gettext_lazy("an invoice named is already settled"),
    "an agreement covers invoices in one currency only": gettext_lazy(
        "an agreement covers invoices in one currency only"
    ),
    "the promised date has passed": gettext_lazy("the promised date has passed"),
    "the promised amount must be positive and at most what is open": gettext_lazy(
        "the promised amount must be positive and at most what is open"
    ),
    "the first payment cannot fall due in the past": gettext_lazy(
        "the first payment cannot fall due in the past"
    ),
    "only a proposed plan waiting for approval can be approved": gettext_lazy(
        "only a proposed plan waiting for approval can be approved"
    ),
    "the plan is outside the limits and must be approved first": gettext_lazy(
        "the plan is outside the limits and must be approved first"
    ),
    "the deadline to confirm the plan has passed": gettext_lazy(
        "the deadline to confirm the plan has passed"
    ),
    "the plan was changed meanwhile": gettext_lazy("the plan was changed meanwhile"),
    "the settlement amount must be positive and at most what is open": gettext_lazy(
        "the settlement amount must be positive and at most what is open"
    ),
    "the deadline has passed": gettext_lazy("the deadline has passed"),
    "a settlement needs a reason (it goes on the credit note)": gettext_lazy(
        "a settlement needs a reason (it goes on the credit note)"
    ),
    "the disputed amount must be positive and at most what is open": gettext_lazy(
        "the disputed amount must be positive and at most what is open"
    ),
    "the dispute is already resolved": gettext_lazy("the dispute is already resolved"),
    "say how the dispute was resolved (the debtor is told)": gettext_lazy(
        "say how the dispute was resolved (the debtor is told)"
    ),
    "a partial correction needs a credit below the disputed amount": gettext_lazy(
        "a partial correction needs a credit below the disputed amount"
    ),
    "give a reason (it goes on the timeline)": gettext_lazy("give a reason (it goes on the timeline)"),
}
# Refusals with details in them (ids, names): the pattern, and what the page says instead
REFUSAL_PATTERNS = (
    (
        re.compile(r"an item is already covered by .+"),
        gettext_lazy("an invoice named is already covered by a promise, a plan or another agreement"),
    ),
)


def refusal_text(exc: Exception) -> str:
    """A service's refusal in the page's language."""
    text = str(exc)
    known = REFUSALS.get(text)
    if known is not None:
        return str(known)
    for pattern, said in REFUSAL_PATTERNS:
        if pattern.fullmatch(text):
            return str(said)
    translated = _(text)
    if translated != text or (get_language() or "en")[:2] == "en":
        return translated
    return _("the input does not fit the rules of this agreement")
