"""Personal API tokens: one user, one company; only a hash of the key is stored."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import Company

PREFIX = "mw_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


class ApiToken(models.Model):
    """A personal token: requests made with it act as ``user`` in ``company`` with the user's role there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.user} @ {self.company})"

    @classmethod
    def issue(cls, user: object, company: Company, name: str) -> tuple[ApiToken, str]:
        """Create a token; the key is returned once and only its hash is kept."""
        key = new_key()
        token = cls.objects.create(user=user, company=company, name=name, key_hash=hash_key(key))
        return token, key
