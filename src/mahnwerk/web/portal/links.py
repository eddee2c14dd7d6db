"""The debtor's personal portal link: signed (debtor id and company id), expiring, not guessable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from mahnwerk.ledger.models import Debtor

SALT = "mahnwerk.portal"
MAX_AGE = timedelta(days=60)


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


@dataclass(frozen=True, slots=True)
class PortalKey:
    debtor_id: int
    company_id: int


def make_token(debtor: Debtor) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object(
        {"d": debtor.pk, "c": debtor.company_id}, compress=False
    )


def read_token(token: str, max_age: timedelta | None = None) -> PortalKey:
    age = max_age if max_age is not None else getattr(settings, "PORTAL_LINK_MAX_AGE", MAX_AGE)
    try:
        data = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=age)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except (signing.BadSignature, ValueError, TypeError):
        raise LinkInvalid from None
    if not isinstance(data, dict) or not isinstance(data.get("d"), int) or not isinstance(data.get("c"), int):
        raise LinkInvalid
    return PortalKey(data["d"], data["c"])


def portal_path(debtor: Debtor) -> str:
    return reverse("web:portal:home", kwargs={"token": make_token(debtor)})


def portal_link(debtor: Debtor) -> str:
    """The absolute link to put in a message (``MAHNWERK_BASE_URL`` + path)."""
    return settings.BASE_URL + portal_path(debtor)
