"""The clerk's review queue of payments from bank statements: upload statements, confirm, split, park or
ignore what the import could not match for sure. Every action goes through ``ledger.statements``."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from mahnwerk.core.money import MoneyError, format_money, to_minor
from mahnwerk.ledger.models import EntryStatus, StatementEntry
from mahnwerk.ledger.services import LedgerError
from mahnwerk.ledger.statements import (
    confirm_entry,
    import_statements,
    newest_statement_date,
    reason_texts,
    review_queue,
    set_entry_status,
    split_entry,
)
from mahnwerk.web.access import CompanyRequest, actor, member_required
from mahnwerk.web.params import parse_id

MAX_FILES = 20


def _candidate_rows(entry: StatementEntry) -> list[dict[str, Any]]:
    return [
        {
            "score": c["score"],
            "reasons": reason_texts(c.get("reasons") or ()),
            "parts": [
                {
                    "invoice": p["invoice"],
                    "debtor": p["debtor"],
                    "amount": format_money(int(p["amount_minor"]), entry.currency),
                }
                for p in c["parts"]
            ],
        }
        for c in entry.candidates
    ]


@require_http_methods(["GET", "HEAD", "POST"])
@member_required()
def payments_review(request: CompanyRequest) -> HttpResponse:
    if request.method == "POST":
        if not request.membership.can_work:
            raise PermissionDenied
        _act(request)
        return redirect(request.path)
    entries = review_queue(request.company)
    rows = [
        {
            "entry": e,
            "amount": format_money(e.amount_minor, e.currency),
            "parked": e.status == EntryStatus.PARKED,
            "reasons": reason_texts(e.reasons),
            "candidates": _candidate_rows(e),
        }
        for e in entries
    ]
    return render(
        request,
        "web/payments_review.html",
        {
            "rows": rows,
            "newest": newest_statement_date(request.company),
            "can_work": request.membership.can_work,
        },
    )


def _act(request: CompanyRequest) -> None:
    action = request.POST.get("action", "")
    who = actor(request)
    try:
        if action == "import":
            _import(request, who)
            return
        if action not in {"confirm", "split", "park", "ignore"}:
            messages.error(request, _("Unknown action."))
            return
        entry_id = parse_id(request.POST.get("entry"))
        if entry_id is None:
            messages.error(request, _("Choose a statement entry."))
            return
        if action == "confirm":
            numbers = [
                n.strip() for n in request.POST.get("invoices", "").replace(";", ",").split(",") if n.strip()
            ]
            entry = confirm_entry(request.company, entry_id, numbers, actor=who)
        elif action == "split":
            entry = split_entry(request.company, entry_id, _shares(request, entry_id), actor=who)
        else:
            status = EntryStatus.PARKED if action == "park" else EntryStatus.IGNORED
            entry = set_entry_status(request.company, entry_id, status, actor=who)
    except LedgerError as exc:
        messages.error(request, _("Not possible: {reason}").format(reason=str(exc)))
        return
    messages.success(
        request, _("Entry #{id}: {status}").format(id=entry.pk, status=entry.get_status_display())
    )


def _shares(request: CompanyRequest, entry_id: int) -> dict[str, int]:
    """``R-1=40.00, R-2=20,00`` -> amounts in minor units of the entry's currency."""
    currency = (
        StatementEntry.objects.filter(company=request.company, pk=entry_id)
        .values_list("currency", flat=True)
        .first()
    ) or request.company.currency
    shares: dict[str, int] = {}
    for item in request.POST.get("shares", "").replace(";", "\n").replace(" ", "\n").splitlines():
        if not item.strip():
            continue
        number, sep, amount = item.strip().rpartition("=")
        if not sep or not number:
            raise LedgerError(_("not NUMBER=AMOUNT: {value}").format(value=item))
        try:
            shares[number] = shares.get(number, 0) + to_minor(amount.replace(",", "."), currency)
        except MoneyError as exc:
            raise LedgerError(str(exc)) from None
    return shares


def _import(request: CompanyRequest, who: str) -> None:
    files = request.FILES.getlist("files")[:MAX_FILES]
    if not files:
        messages.error(request, _("Choose one or more statement files."))
        return
    names: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, upload in enumerate(files):
            names.append(Path(upload.name or "statement").name)
            path = Path(folder) / _stored_name(i, names[-1])
            path.write_bytes(upload.read())
            paths.append(path)
        # the messages and the statements' records name the files as the clerk knows them
        result = import_statements(request.company, paths, actor=who, names=names)
    if result.refused and not result.statements:
        for error in result.errors:
            messages.error(request, error)
        return
    messages.success(
        request,
        _(
            "{entries} entries: {matched} matched, {review} to review, {ignored} ignored, {reversed} reversed, "
            "{duplicates} already imported"
        ).format(
            entries=result.entries,
            matched=result.matched,
            review=result.review,
            ignored=result.ignored,
            reversed=result.reversed,
            duplicates=result.duplicates,
        ),
    )
    for error in result.errors:
        messages.error(request, error)
    for warning in result.warnings:
        messages.warning(request, warning)


def _stored_name(index: int, original: str) -> str:
    """A short safe name for the uploaded file on disk (a client's name may be too long for the file
    system, or hold anything): its position and the extension, which is all the import needs."""
    suffix = Path(original).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):
        suffix = ""
    return f"statement-{index:02d}{suffix}"
