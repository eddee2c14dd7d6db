"""Signed links to the debtor's own page, used by the messages (``comms``) and the web application alike.

The link carries the debtor's and the company's id, signed with the site's secret and a timestamp: it expires
(``PORTAL_LINK_MAX_AGE``, 60 days by default) and cannot be guessed or altered. This module sits beside the apps
so that the messages need not import the web application to put the link in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "mahnwerk.portal"
MAX_AGE = timedelta(days=60)
PORTAL_URL_NAME = "web:portal:home"


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


class DebtorLike(Protocol):
    @property
    def pk(self) -> int: ...

    @property
    def company_id(self) -> int: ...


@dataclass(frozen=True, slots=True)
class PortalKey:
    debtor_id: int
    company_id: int


def make_token(debtor: DebtorLike) -> str:
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


def portal_path(debtor: DebtorLike) -> str:
    return reverse(PORTAL_URL_NAME, kwargs={"token": make_token(debtor)})


def portal_link(debtor: DebtorLike) -> str:
    """The absolute link to put in a message (``MAHNWERK_BASE_URL`` + path)."""
    return settings.BASE_URL + portal_path(debtor)
