"""Request-level protections: the Content-Security-Policy header and the early refusal of oversized bodies."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware import csp
from django.utils import translation
from django.utils.csp import CSP
from django.utils.html import escape, escapejs
from django.utils.translation import gettext as _


def _inline_handlers() -> list[str]:
    """The inline event handlers the templates write, as the browser sees them, in every language.

    They must match the templates exactly (a test renders the pages and compares): ``web/base.html`` (the
    language switch) and ``web/template_edit.html`` (the question before a template is reset)."""
    handlers = ["this.form.submit()"]
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            question = escapejs(_("Discard the edited text?"))
        handlers.append(f"return confirm('{question}')")
    return handlers


def source_hash(source: str) -> str:
    """A CSP hash source for a script text."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


@cache
def inline_handler_hashes() -> tuple[str, ...]:
    return tuple(dict.fromkeys(source_hash(h) for h in _inline_handlers()))


def policy() -> dict[str, list[str]]:
    """``SECURE_CSP`` with the inline event handlers of the templates allowed by their hashes."""
    configured: dict[str, Any] = settings.SECURE_CSP
    config = {name: list(values) for name, values in configured.items()}
    if "script-src" in config:
        config["script-src"] += [CSP.UNSAFE_HASHES, *inline_handler_hashes()]
    return config


class ContentSecurityPolicyMiddleware(csp.ContentSecurityPolicyMiddleware):
    """Django's CSP middleware; the enforced policy is ``SECURE_CSP`` plus the hashes of the inline handlers
    (unless a view set its own policy)."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if settings.SECURE_CSP and not hasattr(response, "_csp_config"):
            response._csp_config = policy()  # type: ignore[attr-defined]
        return super().process_response(request, response)


class RequestSizeLimitMiddleware:
    """Answers 413 to a request whose announced body is larger than ``MAX_REQUEST_BYTES``
    (``MAHNWERK_MAX_REQUEST_MB``), before anything reads the body: a huge upload is neither held in memory nor
    written to a temporary file. (Without a Content-Length, Django reads no body at all.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit: int = settings.MAX_REQUEST_BYTES
        if length > limit:
            return too_large(request, limit)
        return self.get_response(request)


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    # this answer comes before LocaleMiddleware: its language is chosen here the same way
    with translation.override(translation.get_language_from_request(request)):
        return _too_large(request, limit)


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    megabytes = limit // (1024 * 1024)
    message = _("The request is too large: at most {size} MB can be sent at once.").format(size=megabytes)
    if request.path.startswith("/api/") or "json" in request.META.get("HTTP_ACCEPT", ""):
        return JsonResponse({"detail": message}, status=413)
    title = _("Request too large")
    language = translation.get_language() or settings.LANGUAGE_CODE
    page = (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1><p>{escape(message)}</p>"
        "</body></html>"
    )
    return HttpResponse(page, status=413, content_type="text/html; charset=utf-8")
