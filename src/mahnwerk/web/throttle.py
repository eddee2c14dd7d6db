"""Sign-in throttling (django-axes, see settings): the answer to a locked-out sign-in.

Axes counts failed sign-ins per user name and address; once ``AXES_FAILURE_LIMIT`` is reached the pair is
refused, even with the right password, until ``AXES_COOLOFF_TIME`` has passed. Instead of Axes' plain-text
answer the sign-in page is shown again, with a message saying why and for how long.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext


def client_address(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind ``PROXY_COUNT`` reverse proxies the address the
    outermost of them saw (counted from the right of X-Forwarded-For, so a client cannot choose it)."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    count: int = settings.PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")]
    forwarded = [part for part in forwarded if part]
    return forwarded[-count] if len(forwarded) >= count else remote


def lockout_message() -> str:
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return ngettext(
        "Too many failed sign-ins. Signing in with this user name from your address is blocked for "
        "%(minutes)d minute; try again later.",
        "Too many failed sign-ins. Signing in with this user name from your address is blocked for "
        "%(minutes)d minutes; try again later.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The sign-in page with the lockout message, status 429 (Too Many Requests)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout": lockout_message(), "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)
