"""Who works on a debtor's waiting work: one assignment per debtor and company."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import Company, Debtor


class WorkAssignment(models.Model):
    """The user who takes care of everything that waits for a person on one debtor's account."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="work_assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assigned_by = models.CharField(_("assigned by"), max_length=100)
    assigned_at = models.DateTimeField(_("assigned at"), auto_now=True)

    class Meta:
        verbose_name = _("work assignment")
        verbose_name_plural = _("work assignments")
        constraints = [
            models.UniqueConstraint(fields=["company", "debtor"], name="one_work_assignment_per_debtor")
        ]
        indexes = [models.Index(fields=["company", "user"], name="work_assignment_user_idx")]

    def __str__(self) -> str:
        return f"{self.debtor} → {self.user}"


NOTE_MAX_LENGTH = 2000


class Note(models.Model):
    """A clerk's free note on a debtor's case file ("called the bookkeeper, invoice lost in the mail")."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="notes")
    author = models.CharField(_("author"), max_length=100)
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)
    text = models.TextField(_("text"), max_length=NOTE_MAX_LENGTH)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        indexes = [models.Index(fields=["debtor", "created_at"], name="work_note_debtor_idx")]

    def __str__(self) -> str:
        return self.text[:60]
