"""The debtor's personal portal link: signed (debtor id and company id), expiring, not guessable.

The signing lives in :mod:`mahnwerk.links`, which the messages use as well; the web application's names for it
are kept here."""

from __future__ import annotations

from mahnwerk.links import (
    MAX_AGE,
    SALT,
    LinkExpired,
    LinkInvalid,
    PortalKey,
    make_token,
    portal_link,
    portal_path,
    read_token,
)

__all__ = [
    "MAX_AGE",
    "SALT",
    "LinkExpired",
    "LinkInvalid",
    "PortalKey",
    "make_token",
    "portal_link",
    "portal_path",
    "read_token",
]
