"""Bearer-token authentication: the token names the user and the company; the membership gives the role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer

from mahnwerk.api.models import ApiToken, hash_key
from mahnwerk.ledger.models import Company
from mahnwerk.web.models import Membership, Role

# last_used_at is written at most this often per token, not on every request
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the token's user in the token's company, with the user's role there."""

    token_id: int
    username: str
    company: Company
    role: str

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMIN, Role.COLLECTOR)

    @property
    def actor(self) -> str:
        return f"api:{self.username}"


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        if not token:
            return None
        found = ApiToken.objects.select_related("user", "company").filter(key_hash=hash_key(token)).first()
        if found is None or not found.user.is_active:
            return None
        role = (
            Membership.objects.filter(user_id=found.user_id, company_id=found.company_id)
            .values_list("role", flat=True)
            .first()
        )
        if role is None:  # the user no longer works for the company: the token is dead
            return None
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        return Caller(found.pk, found.user.get_username(), found.company, role)


def caller(request: HttpRequest) -> Caller:
    auth: Any = getattr(request, "auth", None)
    if not isinstance(auth, Caller):  # pragma: no cover - every route is behind TokenAuth
        raise HttpError(401, _("Authentication required."))
    return auth


def writer(request: HttpRequest) -> Caller:
    """The caller, who must be allowed to change data (admin or collector); a viewer gets 403."""
    who = caller(request)
    if not who.can_write:
        raise HttpError(403, _("Your role may only read."))
    return who
