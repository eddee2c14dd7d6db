"""Shared parsing for ``mahnwerk promise``, ``mahnwerk plan`` and ``mahnwerk dispute``."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.money import MoneyError, to_minor
from mahnwerk.ids import parse_id
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.models import Company, Debtor, Invoice


class AgreementCommand(MahnwerkCommand):
    """``<command> ACTION [TARGET] [options]`` with ``--today`` and ``--actor``."""

    actions: tuple[str, ...] = ()
    target_help = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=self.actions)
        parser.add_argument("target", nargs="?", help=self.target_help)
        parser.add_argument("--today", type=parse_date, help=_("business date YYYY-MM-DD (default: today)"))
        parser.add_argument("--actor", default="cli", help=_("who does this (goes on the timeline)"))
        parser.add_argument("--debtor", help=_("list: only this debtor (customer number or id)"))
        parser.add_argument("--status", help=_("list: only this status"))

    def need_target(self, options: dict[str, Any], what: str) -> str:
        target = options.get("target")
        if not target:
            raise CommandError(_("{action} needs {what}").format(action=options["action"], what=what))
        return str(target)


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("not a date (YYYY-MM-DD): {value}").format(value=value)) from None


def parse_amount(value: str | None, currency: str) -> int | None:
    if value is None:
        return None
    try:
        return to_minor(value.replace(",", "."), currency)
    except MoneyError as exc:
        raise CommandError(str(exc)) from None


def find_debtor(company: Company, ident: str) -> Debtor:
    qs = Debtor.objects.filter(company=company)
    debtor = qs.filter(number=ident).first() or (
        qs.filter(pk=pk).first() if (pk := parse_id(ident)) else None
    )
    if debtor is None:
        raise CommandError(_("no debtor {ident} in {company}").format(ident=ident, company=company.name))
    return debtor


def find_invoices(company: Company, debtor: Debtor, numbers: list[str] | None) -> list[Invoice]:
    """The invoices named by number, or all of the debtor's open invoices that are not disputed."""
    qs = Invoice.objects.filter(company=company, debtor=debtor).order_by("due_date", "pk")
    if not numbers:  # (not those under an open dispute: no agreement to pay what the debtor contests)
        found = list(qs.filter(open_minor__gt=0).exclude(disputes__status="open"))
        if not found:
            raise CommandError(_("{debtor} has no open invoices").format(debtor=debtor))
        return found
    found = list(qs.filter(number__in=numbers))
    missing = sorted(set(numbers) - {i.number for i in found})
    if missing:
        raise CommandError(
            _("no such invoice of {debtor}: {numbers}").format(debtor=debtor, numbers=", ".join(missing))
        )
    return found


def find_invoice(company: Company, number: str) -> Invoice:
    invoice = Invoice.objects.filter(company=company, number=number).first()
    if invoice is None:
        raise CommandError(_("no invoice {number} in {company}").format(number=number, company=company.name))
    return invoice
