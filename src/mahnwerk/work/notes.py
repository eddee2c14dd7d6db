"""Free notes on a debtor's case file: written by a person, shown on the case file's conversation."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from mahnwerk.ledger.models import Company, Debtor
from mahnwerk.work.models import NOTE_MAX_LENGTH, Note


class NoteError(ValueError):
    """A note that cannot be kept (empty, too long, another company's debtor)."""


def add_note(company: Company, debtor: Debtor, text: str, *, author: str) -> Note:
    """Keep ``text`` as a note on ``debtor``'s case file, written by ``author``. Surrounding white space is
    dropped; an empty note or one longer than ``NOTE_MAX_LENGTH`` characters is refused."""
    if debtor.company_id != company.pk:
        raise NoteError(_("The debtor belongs to another company."))
    text = (text or "").strip()
    if not text:
        raise NoteError(_("The note is empty."))
    if len(text) > NOTE_MAX_LENGTH:
        raise NoteError(
            _("A note has at most {limit} characters, this one has {length}.").format(
                limit=NOTE_MAX_LENGTH, length=len(text)
            )
        )
    return Note.objects.create(company=company, debtor=debtor, text=text, author=author[:100])


def debtor_notes(company: Company, debtor: Debtor, limit: int = 100) -> QuerySet[Note]:
    """The newest notes on ``debtor``'s case file, newest first."""
    return Note.objects.filter(company=company, debtor=debtor).order_by("-created_at", "-pk")[:limit]
