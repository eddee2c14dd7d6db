"""What a message template may contain, checked before a user's template is saved.

Templates are written in the Django template language, but they are user input: only the placeholders in
:data:`ALLOWED_PLACEHOLDERS` (with the lookups listed there, e.g. ``debtor.name``), the filters in
:data:`ALLOWED_FILTERS` and the tags in :data:`ALLOWED_TAGS` are accepted. ``{% load %}``, ``{% include %}``,
``{% extends %}`` and every other tag are refused, so a template can neither read files nor call code.

Templates are rendered as plain text by :data:`ENGINE` (no HTML escaping, no loaders, no extra libraries).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.template import Engine, TemplateSyntaxError
from django.template.base import FilterExpression, Lexer, Node, TokenType, Variable, VariableNode
from django.template.defaulttags import IfNode
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ALLOWED_PLACEHOLDERS: dict[str, Promise] = {
    "company.name": _("Your company's name"),
    "company.email": _("Your company's email address"),
    "company.phone": _("Your company's phone number"),
    "company.iban": _("Your company's IBAN (without spaces)"),
    "company.bic": _("Your company's BIC"),
    "company.vat_id": _("Your company's VAT ID"),
    "debtor.name": _("The customer's name"),
    "debtor.number": _("The customer number"),
    "debtor.kind": _('Whether the customer is a business or a consumer: "business" or "consumer"'),
    "numbers": _("The numbers of the invoices in the message, comma separated"),
    "items_table": _("Table of the open items: invoice, dates, open amount (interest and fees if any)"),
    "total": _("Total to pay, in the customer's language (per currency)"),
    "interest_total": _("Default interest included in the total (empty when there is none)"),
    "fees_total": _("Fees and flat compensation included in the total (empty when there are none)"),
    "claim_details": _(
        "Per invoice: the interest with its period, principal and rate, and each cost by its name "
        "(empty when there is neither)"
    ),
    "greeting": _(
        "The greeting: by title and name where the salutation is known (Dear Ms Berzina), else by name or "
        "to the company"
    ),
    "deadline": _("The new payment deadline set by the step (empty when the step sets none)"),
    "due": _("The earliest due date of the items"),
    "date": _("The date of the message"),
    "bank_block": _(
        "Account holder, IBAN, BIC and payment reference, one per line (the payment reference alone when your "
        "company has no IBAN)"
    ),
    "has_bank_account": _(
        "Set when your company has an IBAN (without one, bank_block holds the payment reference alone): use it "
        "as {% if has_bank_account %}...{% else %}...{% endif %} around the sentence that introduces the account"
    ),
    "reference": _("The payment reference the customer should use"),
    "signature": _(
        "Your company's name, address, email and phone for questions, one per line, then its register "
        "details and VAT ID on one line"
    ),
    "portal_link": _("Link to the customer's payment page (empty when there is none)"),
    "opt_out_line": _("How to stop receiving these messages (empty where not required)"),
    "objection_notice": _("The customer's right to object and the period for it (empty where not required)"),
    "qr_note": _("A line pointing to the payment QR code (empty when there is none)"),
    "costs_capped": _(
        "Set when the costs the law allows are already charged in full (Latvian consumers): a message "
        "then threatens no further costs; use it as {% if costs_capped %}...{% else %}...{% endif %}"
    ),
    "coming_due": _(
        "The customer's items not yet due, named apart from the total (empty when there are none)"
    ),
    "incentive_note": _(
        "The offer the step makes, e.g. fees waived if paid in time (empty when there is none)"
    ),
}

ALLOWED_FILTERS = frozenset(
    {
        "upper",
        "lower",
        "capfirst",
        "title",
        "default",
        "default_if_none",
        "truncatechars",
        "truncatewords",
        "wordwrap",
    }
)

# Tags a template may use: conditions on placeholders ("{% if deadline %}...{% endif %}") and comments.
ALLOWED_TAGS = frozenset({"if", "elif", "else", "endif", "comment", "endcomment"})

ENGINE = Engine(autoescape=False, debug=True, loaders=[])


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a template: where (``subject`` or ``body``, 1-based line) and what."""

    part: str
    line: int
    message: str

    def __str__(self) -> str:
        return (
            f"{self.part}, line {self.line}: {self.message}" if self.line else f"{self.part}: {self.message}"
        )


@dataclass(frozen=True, slots=True)
class Placeholder:
    path: str  # "debtor.name"
    line: int


def _variables(expression: FilterExpression) -> Iterator[tuple[str, list[str]]]:
    """The dotted path of the expression's variable (if any), its filter names and variable arguments."""
    filters = [
        getattr(func, "_filter_name", getattr(func, "__name__", "?")) for func, _args in expression.filters
    ]
    var = expression.var
    if isinstance(var, Variable) and var.lookups is not None:
        yield ".".join(var.lookups), filters
    for _func, args in expression.filters:
        for is_lookup, arg in args:
            if is_lookup and isinstance(arg, Variable) and arg.lookups is not None:
                yield ".".join(arg.lookups), []


def _condition_expressions(condition: object) -> Iterator[FilterExpression]:
    """The filter expressions inside an ``{% if %}`` condition tree (smartif operators and literals)."""
    if condition is None:
        return
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield value
    for side in ("first", "second"):
        child = getattr(condition, side, None)
        if child is not None:
            yield from _condition_expressions(child)


def _walk(nodes: list[Node]) -> Iterator[tuple[int, FilterExpression]]:
    for node in nodes:
        token = getattr(node, "token", None)
        line = (token.lineno or 0) if token is not None else 0
        if isinstance(node, VariableNode):
            yield line, node.filter_expression
        elif isinstance(node, IfNode):
            for condition, nodelist in node.conditions_nodelists:
                for expression in _condition_expressions(condition):
                    yield line, expression
                yield from _walk(list(nodelist))
        else:
            for attr in getattr(node, "child_nodelists", ()):
                yield from _walk(list(getattr(node, attr, None) or []))


# What opens a placeholder, a tag or a comment; in plain text it was not closed on its line.
_OPENERS = {"{{": "}}", "{%": "%}", "{#": "#}"}


def _unclosed(text: str, first_line: int, part: str) -> list[Problem]:
    """An opening ``{{``, ``{%`` or ``{#`` left in plain text: its closing is missing or on another line (the
    template language reads it as text and would print it)."""
    problems = []
    for line_number, line in enumerate(text.split("\n"), start=first_line):
        for opener, closer in _OPENERS.items():
            if opener in line:
                problems.append(
                    Problem(
                        part,
                        line_number,
                        _("{opener} is not closed: end it with {closer} on the same line").format(
                            opener=opener, closer=closer
                        ),
                    )
                )
    return problems


def check_template(source: str, part: str = "body") -> tuple[list[Placeholder], list[Problem]]:
    """Parse ``source`` and return the placeholders it uses and every problem found.

    Problems: a tag other than :data:`ALLOWED_TAGS` (``{% load %}``, ``{% include %}``...), a syntax error,
    an unclosed ``{{``, ``{%`` or ``{#``, a placeholder or lookup not in :data:`ALLOWED_PLACEHOLDERS`, a
    filter not in :data:`ALLOWED_FILTERS`.
    """
    problems: list[Problem] = []
    in_comment = False
    for token in Lexer(source).tokenize():
        if token.token_type is TokenType.BLOCK:
            tag = token.contents.split()[0] if token.contents.split() else ""
            in_comment = tag == "comment" or (in_comment and tag != "endcomment")
            if tag not in ALLOWED_TAGS:
                problems.append(
                    Problem(
                        part, token.lineno or 0, _("the tag {{% {tag} %}} is not allowed").format(tag=tag)
                    )
                )
        elif token.token_type is TokenType.TEXT and not in_comment:
            problems += _unclosed(token.contents, token.lineno or 1, part)
    if problems:
        return [], problems
    try:
        template = ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        return [], [Problem(part, int(info.get("line") or 0), str(exc.args[0] if exc.args else exc))]
    found: list[Placeholder] = []
    for line, expression in _walk(list(template.nodelist)):
        for path, filters in _variables(expression):
            found.append(Placeholder(path, line))
            if path not in ALLOWED_PLACEHOLDERS:
                problems.append(
                    Problem(part, line, _("unknown placeholder {{{{ {name} }}}}").format(name=path))
                )
            for name in filters:
                if name not in ALLOWED_FILTERS:
                    problems.append(
                        Problem(
                            part,
                            line,
                            _("the filter |{filter} is not allowed (in {{{{ {name} }}}})").format(
                                filter=name, name=path
                            ),
                        )
                    )
    return found, problems


def placeholder_names(source: str) -> list[str]:
    """The distinct placeholders of a valid template, in order of first use."""
    found, _problems = check_template(source)
    return list(dict.fromkeys(p.path for p in found))
