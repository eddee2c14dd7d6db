"""Finding debtors as a person searches: by name, customer number or email address ignoring case and accents,
by phone number however it is written, by invoice number. Shared by the web application's lists, the API's
debtor list and ``mahnwerk debtor list``."""

from __future__ import annotations

import threading
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from mahnwerk.ledger.figures import _cache_token
from mahnwerk.ledger.models import Company, Contact, Debtor, Invoice, TimelineEvent

_FOLD = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "œ": "oe", "æ": "ae", "þ": "th"})


def fold(text: str) -> str:
    """``text`` for comparing as a person does: case, accents and spacing ignored ("Krūmiņš" and "krumins",
    "Schäfer" and "SCHAFER" are the same)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_FOLD)
    return " ".join(plain.split())


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@dataclass
class _NameIndex:
    version: tuple[Any, ...]
    # debtor id -> (name, customer number, folded name + number + email addresses, phone digits without the
    # leading zeros)
    rows: dict[int, tuple[str, str, str, str]]


_NAMES: dict[int, _NameIndex] = {}
_NAMES_LOCK = threading.Lock()
NAMES_PATCH_LIMIT = 5_000  # more new timeline events than this since the last look: read every name again


def _names_version(company: Company) -> tuple[Any, ...]:
    """Changes when a debtor or a contact is added or a debtor's details change (every change writes a
    timeline event): one query of three index look-ups."""
    debtors, contacts, events = (
        Debtor._meta.db_table,
        Contact._meta.db_table,
        TimelineEvent._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(id) FROM {debtors} WHERE company_id = %s), (SELECT MAX(id) FROM {contacts}), "
            f"(SELECT MAX(id) FROM {events})",
            [company.pk],
        )
        row = cursor.fetchone() or (0, 0, 0)
    return (_cache_token(), *(int(v or 0) for v in row))


def _name_rows(
    company: Company, debtor_ids: Sequence[int] | None = None
) -> dict[int, tuple[str, str, str, str]]:
    """The search rows of the company's debtors (or of ``debtor_ids``): two queries."""
    debtors = Debtor.objects.filter(company=company)
    contacts = Contact.objects.filter(debtor__company=company)
    if debtor_ids is not None:
        debtors = debtors.filter(id__in=debtor_ids)
        contacts = Contact.objects.filter(debtor_id__in=debtors.values("id"))
    emails: defaultdict[int, list[str]] = defaultdict(list)
    phones: defaultdict[int, list[str]] = defaultdict(list)
    for debtor_id, kind, value in contacts.values_list("debtor_id", "kind", "value"):
        if kind == "phone":
            phones[debtor_id].append(_digits(value).lstrip("0"))
        else:
            emails[debtor_id].append(fold(value))
    return {
        pk: (
            name,
            number,
            "\x00".join([fold(name), fold(number), *emails.get(pk, [])]),
            "\x00".join(phones.get(pk, [])),
        )
        for pk, name, number in debtors.values_list("id", "name", "number")
    }


def _changed_names(company: Company, since: tuple[Any, ...]) -> set[int] | None:
    """The debtors that are new, or have a new contact or timeline event, since the index ``since`` (three
    reads by primary key); None when too much happened (then everything is read again)."""
    _token, debtor_max, contact_max, event_max = since
    changed = set(Debtor.objects.filter(company=company, id__gt=debtor_max).values_list("id", flat=True))
    changed.update(
        Contact.objects.filter(id__gt=contact_max)
        .order_by()
        .values_list("debtor_id", flat=True)[: NAMES_PATCH_LIMIT + 1]
    )
    events = list(
        TimelineEvent.objects.filter(id__gt=event_max)
        .order_by()
        .values_list("company_id", "debtor_id")[: NAMES_PATCH_LIMIT + 1]
    )
    if len(events) > NAMES_PATCH_LIMIT or len(changed) > NAMES_PATCH_LIMIT:
        return None
    changed.update(debtor_id for company_id, debtor_id in events if company_id == company.pk)
    return changed


def _name_index(company: Company) -> _NameIndex:
    """The company's debtors as search sees them, kept in this process: read once (two queries), then brought
    up to date with the few debtors each change touched; searched in Python (the folded text is no column of
    the database)."""
    version = _names_version(company)
    with _NAMES_LOCK:
        index = _NAMES.get(company.pk)
    if index is not None and index.version == version:
        return index
    changed = None
    if (
        index is not None
        and index.version[0] == version[0]
        and all(now >= then for now, then in zip(version[1:], index.version[1:], strict=True))
    ):
        changed = _changed_names(company, index.version)
    if index is not None and changed is not None:
        rows = dict(index.rows)
        for pk in changed:
            rows.pop(pk, None)
        if changed:
            rows.update(_name_rows(company, sorted(changed)))
    else:
        rows = _name_rows(company)
    fresh = _NameIndex(version, rows)
    with _NAMES_LOCK:
        _NAMES[company.pk] = fresh
    return fresh


def search_ids(company: Company, q: str) -> set[int]:
    """The debtors a search finds: by name, customer number or email address, ignoring case and accents
    ("krumins" finds "Krūmiņš"); by phone number from five digits on, however it is written ("0171 123 4567"
    finds "+49 171 1234567"); by invoice number or a part of it ("01452" and "re-2026-01452" find
    "RE-2026-01452"). Names come from this process's index; invoice numbers from one query, only when the
    search has a digit. A NUL character is no part of any text here (PostgreSQL refuses it in a query)."""
    q = q.replace("\x00", "").strip()
    needle = fold(q)
    if not needle:
        return set()
    digits = _digits(q).lstrip("0")
    phone = len(digits) >= 5 and all(c.isdigit() or c in " +-/()." for c in q)

    def phone_matches(phones: str) -> bool:
        # "0171 555 0123" finds "+49 171 5550123", and "+49 171 5550123" finds "0171 555 0123"
        return digits in phones or any(len(p) >= 7 and digits.endswith(p) for p in phones.split("\x00"))

    found = {
        pk
        for pk, (_name, _number, text, phones) in _name_index(company).rows.items()
        if needle in text or (phone and phones and phone_matches(phones))
    }
    if any(c.isdigit() for c in q):
        found.update(
            Invoice.objects.filter(company=company, number__icontains=q)
            .order_by()
            .values_list("debtor_id", flat=True)
            .distinct()
        )
    return found


def sorted_ids(company: Company, ids: set[int], sort: str) -> list[int]:
    """``ids`` in the order of a name or number sort (as ``SORTS``), from the search index."""
    with _NAMES_LOCK:
        index = _NAMES.get(company.pk)
    if index is None:
        index = _name_index(company)
    rows = [(pk, *index.rows[pk][:2]) for pk in ids if pk in index.rows]
    if sort == "number":
        rows.sort(key=lambda r: (r[2], r[0]))
    elif sort == "-name":
        rows.sort(key=lambda r: (r[1], r[0]), reverse=True)
    else:
        rows.sort(key=lambda r: (r[1], r[0]))
    return [pk for pk, _name, _number in rows]
