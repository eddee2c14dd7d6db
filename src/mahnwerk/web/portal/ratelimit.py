"""A small database-backed rate limiter: it holds across server processes and restarts."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone

from mahnwerk.web.models import PortalAttempt

WINDOW = timedelta(minutes=10)
LIMIT = 60  # requests per client and window


def client_key(request: HttpRequest) -> str:
    return "portal:" + (request.META.get("REMOTE_ADDR") or "unknown")[:80]


def allow(request: HttpRequest, limit: int = LIMIT, window: timedelta = WINDOW) -> bool:
    """Count this request; False once the client made ``limit`` requests within ``window``."""
    key = client_key(request)
    now = timezone.now()
    since = now - window
    recent = PortalAttempt.objects.filter(key=key, at__gte=since).count()
    if recent >= limit:
        return False
    PortalAttempt.objects.create(key=key)
    if recent == 0:  # the first request of a window also clears the expired rows of this client
        PortalAttempt.objects.filter(key=key, at__lt=since).delete()
    return True
