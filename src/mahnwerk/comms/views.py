"""The inbound endpoint: a mail server (or a forwarding rule) posts bounces and replies here."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from mahnwerk.comms.inbound import process_inbound

MAX_BYTES = 10 * 1024 * 1024


@csrf_exempt
@require_POST
def inbound_email(request: HttpRequest) -> HttpResponse:
    """POST the raw message (RFC 5322) with ``Authorization: Bearer <MAHNWERK_INBOUND_TOKEN>``."""
    token = settings.INBOUND_TOKEN
    if not token:
        raise Http404("the inbound endpoint is not enabled")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return JsonResponse({"error": "unauthorized"}, status=401)
    if len(request.body) > MAX_BYTES:
        return JsonResponse({"error": "message too large"}, status=413)
    result = process_inbound(request.body)
    return JsonResponse(result.__dict__)
