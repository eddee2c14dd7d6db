"""Who may do what in the web application: a user's membership of a company, with a role."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import Company
from mahnwerk.roles import Role


class Membership(models.Model):
    """A user works for a company in one role: admin (settings, playbooks, users), collector (works the
    cases: payments, holds, sending), viewer (reads only)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "company"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company} ({self.role})"

    @property
    def can_work(self) -> bool:
        """Record payments, put on hold, change a debtor's playbook, send now, approve the run."""
        return self.role in (Role.ADMIN, Role.COLLECTOR)

    @property
    def can_admin(self) -> bool:
        """Company settings, playbooks and users."""
        return self.role == Role.ADMIN


class PortalAttempt(models.Model):
    """One request to the debtor portal, counted per client to limit guessing and hammering."""

    key = models.CharField(max_length=100)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["key", "at"], name="portal_attempt_idx")]


class FormSubmission(models.Model):
    """A case-file form that books money or makes an agreement, as it was carried out: the one-time token the
    form carried (a random id rendered into it), the address it was sent to and what it did. The same form
    sent again — a double click, the browser sending it once more — finds this row and books nothing."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64)
    path = models.CharField(max_length=200)
    level = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "token", "path"], name="form_submission_once")
        ]
        indexes = [models.Index(fields=["created_at"], name="form_submission_created_idx")]

    def __str__(self) -> str:
        return f"{self.path} {self.token}"
