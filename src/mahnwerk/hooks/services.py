"""Outgoing webhooks: timeline events as signed JSON POSTs to the company's endpoints.

A delivery pass (:func:`deliver_webhooks`) does two things:

1. **Collect.** For each active webhook it reads the company's timeline after the webhook's cursor, keeps
   the kinds it subscribes to (``EVENT_TYPES``: timeline kind -> public event name) and creates one
   :class:`~mahnwerk.hooks.models.WebhookDelivery` per event under a unique (webhook, event) constraint,
   then moves the cursor — all in one transaction. A crash after it loses nothing: the deliveries are
   stored, the next pass sends them.
2. **Send.** Every pending delivery whose time has come is claimed with a conditional ``UPDATE`` (two
   workers never send one delivery at once) and POSTed: ``2xx`` is delivered; ``410 Gone`` disables the
   webhook; anything else (another status, a timeout of 10 seconds, a refused connection, a redirect to
   another host) is retried after 1 minute, 5 minutes, 30 minutes, 2 hours and 12 hours, then the
   delivery has failed. Redirects are followed to the same scheme, host and port only (at most 3).

Delivery is at least once: a crash between the POST and storing its answer sends it again. Receivers
deduplicate by the event id (``Mahnwerk-Event-Id``, the payload's ``id``).

The request body is JSON::

    {"id": "evt_123", "type": "payment.recorded", "created": "2026-07-01T08:15:00Z",
     "company": "acme", "debtor": {"id": 7, "number": "K10001"},
     "data": {"kind": "payment_recorded", "business_date": "2026-07-01", "actor": "system", "note": "",
              "text": "Payment of €100.00 received ...", "details": {...the timeline event's data...}}}

Signature (Stripe-style)::

    Mahnwerk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the secret>

A receiver recomputes the HMAC over the raw body, compares in constant time and rejects timestamps older
than a few minutes (replays): :func:`verify_signature` does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from mahnwerk.hooks.models import DeliveryStatus, Webhook, WebhookDelivery
from mahnwerk.ids import parse_count
from mahnwerk.ledger.models import Company, TimelineEvent
from mahnwerk.ledger.timeline import describe

# Timeline kind -> public event name. A payment matched from a bank statement is recorded like any other.
EVENT_TYPES: dict[str, str] = {
    "message_sent": "message.sent",
    "payment_recorded": "payment.recorded",
    "payment_reversed": "payment.reversed",
    "promise_recorded": "promise.made",
    "paid_notice_recorded": "payment.announced",
    "promise_kept": "promise.kept",
    "promise_broken": "promise.broken",
    "promise_partly_kept": "promise.broken",
    "dispute_opened": "dispute.opened",
    "dispute_resolved": "dispute.resolved",
    "plan_breached": "plan.breached",
}
PUBLIC_EVENTS: tuple[str, ...] = tuple(sorted(set(EVENT_TYPES.values())))

BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
TIMEOUT_SECONDS = 10
MAX_REDIRECTS = 3
# A claimed delivery is not claimed again before this (the POST with its redirects takes at most 40 s).
LEASE = timedelta(minutes=2)
# The cursor passes an event id only once this much time has gone by since it was seen as the newest:
# a transaction that took a lower id and had not committed yet has committed by then.
SETTLE = timedelta(minutes=10)
BATCH = 1000
SIGNATURE_HEADER = "Mahnwerk-Signature"
EVENT_ID_HEADER = "Mahnwerk-Event-Id"


class WebhookError(ValueError):
    """A webhook that cannot be set up as asked."""


# --- set-up ---------------------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def parse_events(value: str | Iterable[str]) -> list[str]:
    """``"payment.recorded, promise.broken"`` -> the names, checked against ``PUBLIC_EVENTS``."""
    names = value.split(",") if isinstance(value, str) else list(value)
    events = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [n for n in events if n not in PUBLIC_EVENTS]
    if unknown or not events:
        raise WebhookError(
            _("Unknown event: {names} (known: {known})").format(
                names=", ".join(unknown) or "-", known=", ".join(PUBLIC_EVENTS)
            )
        )
    return events


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(
            _("A webhook URL starts with https:// or http:// and names a host: {url}").format(url=url)
        )


def add_webhook(
    company: Company, url: str, events: str | Iterable[str], secret: str | None = None
) -> Webhook:
    """A new active webhook; it receives the events recorded from now on (none of the past)."""
    _check_url(url)
    if secret is not None and len(secret) < 16:
        raise WebhookError(_("A signing secret has at least 16 characters."))
    newest = TimelineEvent.objects.aggregate(m=Max("id"))["m"] or 0
    return Webhook.objects.create(
        company=company,
        url=url,
        secret=secret or new_secret(),
        events=parse_events(events),
        cursor=newest,
        horizon_id=newest,
        horizon_at=timezone.now(),
    )


# --- signing --------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Mahnwerk-Signature`` header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    secret: str, header: str, body: bytes, tolerance: int = 300, *, now: datetime | float | None = None
) -> bool:
    """For receivers: does ``header`` (``Mahnwerk-Signature``) sign the raw request ``body`` with ``secret``,
    with a timestamp no more than ``tolerance`` seconds from ``now`` (default: the current time)?

    The header is ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``; several ``v1`` values (a
    secret being rotated) are accepted if one matches. Compares in constant time.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t" and (seconds := parse_count(value)) is not None:  # ASCII digits: "t=²" is no time
            timestamp = seconds
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = (
        now.timestamp()
        if isinstance(now, datetime)
        else now
        if now is not None
        else timezone.now().timestamp()
    )
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, c) for c in candidates)


# --- the pass -------------------------------------------------------------------------------------------


@dataclass
class PassResult:
    created: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
            "disabled": self.disabled,
        }


def deliver_webhooks(
    now: datetime | None = None, *, company: Company | None = None, send: bool = True
) -> PassResult:
    """One delivery pass over every active webhook (or a company's): collect new events, send what is due."""
    now = now or timezone.now()
    result = PassResult()
    hooks = Webhook.objects.filter(active=True)
    if company is not None:
        hooks = hooks.filter(company=company)
    for hook_id in list(hooks.order_by("id").values_list("id", flat=True)):
        result.created += collect(hook_id, now)
    if send:
        send_due(now, result, company=company)
    return result


def _payload(event: TimelineEvent, event_type: str, company_slug: str, debtor_number: str) -> dict[str, Any]:
    with translation.override("en"):
        text = describe(event)
    return {
        "id": f"evt_{event.pk}",
        "type": event_type,
        "created": event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "company": company_slug,
        "debtor": {"id": event.debtor_id, "number": debtor_number},
        "data": {
            "kind": event.kind,
            "business_date": event.business_date.isoformat(),
            "actor": event.actor,
            "note": event.note,
            "text": text,
            "details": event.data,
        },
    }


def collect(hook_id: int, now: datetime) -> int:
    """Create the deliveries of one webhook's new events and move its cursor; returns how many were new."""
    created = 0
    with transaction.atomic():
        hook = (
            Webhook.objects.select_for_update(of=("self",))
            .select_related("company")
            .filter(pk=hook_id, active=True)
            .first()
        )
        if hook is None:
            return 0
        wanted = [kind for kind, name in EVENT_TYPES.items() if name in hook.events]
        after = hook.cursor
        while wanted:
            batch = list(
                TimelineEvent.objects.filter(company_id=hook.company_id, id__gt=after, kind__in=wanted)
                .select_related("debtor")
                .only(
                    "id",
                    "at",
                    "business_date",
                    "kind",
                    "actor",
                    "note",
                    "data",
                    "debtor_id",
                    "debtor__number",
                )
                .order_by("id")[:BATCH]
            )
            if not batch:
                break
            known = set(
                WebhookDelivery.objects.filter(webhook=hook, event_id__in=[e.pk for e in batch]).values_list(
                    "event_id", flat=True
                )
            )
            fresh = [
                WebhookDelivery(
                    webhook=hook,
                    event=e,
                    event_type=EVENT_TYPES[e.kind],
                    payload=_payload(e, EVENT_TYPES[e.kind], hook.company.slug, e.debtor.number),
                    next_attempt_at=now,
                )
                for e in batch
                if e.pk not in known
            ]
            WebhookDelivery.objects.bulk_create(fresh, ignore_conflicts=True)
            created += len(fresh)
            after = batch[-1].pk
            if len(batch) < BATCH:
                break
        if hook.horizon_at is None or hook.horizon_at <= now - SETTLE:
            hook.cursor = max(hook.cursor, hook.horizon_id)
            hook.horizon_id = TimelineEvent.objects.aggregate(m=Max("id"))["m"] or 0
            hook.horizon_at = now
            hook.save(update_fields=["cursor", "horizon_id", "horizon_at"])
    return created


def send_due(
    now: datetime, result: PassResult | None = None, *, company: Company | None = None
) -> PassResult:
    """POST every pending delivery of an active webhook whose next attempt is due."""
    result = result or PassResult()
    due = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=now, webhook__active=True
    )
    if company is not None:
        due = due.filter(webhook__company=company)
    last = 0
    while True:
        batch = list(due.filter(id__gt=last).select_related("webhook").order_by("id")[:BATCH])
        if not batch:
            break
        for delivery in batch:
            _send_one(delivery, now, result)
        last = batch[-1].pk
    return result


def _send_one(delivery: WebhookDelivery, now: datetime, result: PassResult) -> None:
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, next_attempt_at=delivery.next_attempt_at
    ).update(next_attempt_at=now + LEASE)
    if not claimed:
        return  # another worker has it
    hook = Webhook.objects.filter(pk=delivery.webhook_id, active=True).first()
    if hook is None:
        return  # disabled meanwhile (a 410 on another delivery): stays pending
    code, error = post(hook.url, hook.secret, delivery.payload, now)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = code
    delivery.last_error = error[:500]
    if code is not None and 200 <= code < 300:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        delivery.last_error = ""
        result.delivered += 1
    elif code == 410:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        Webhook.objects.filter(pk=hook.pk).update(
            active=False,
            disabled_reason=_("the endpoint answered 410 Gone on {at}").format(at=now.isoformat()),
        )
        result.failed += 1
        result.disabled.append(hook.pk)
    elif delivery.attempts <= len(BACKOFF):
        delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
        result.retrying += 1
    else:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        result.failed += 1
    delivery.save(
        update_fields=[
            "attempts",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to the same scheme, host and port, POSTing the same body and headers again;
    any other redirect is not followed (the 3xx answer counts as a failure)."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            return None
        return urllib.request.Request(
            newurl, data=req.data, headers=dict(req.header_items()), method=req.get_method()
        )


_opener = urllib.request.OpenerDirector()
for _handler in (
    urllib.request.ProxyHandler(),
    urllib.request.HTTPHandler(),
    urllib.request.HTTPSHandler(),
    urllib.request.HTTPDefaultErrorHandler(),
    urllib.request.HTTPErrorProcessor(),
    _SameOriginRedirects(),
):
    _opener.add_handler(_handler)  # http and https only: no file:, ftp: or data: URLs


def post(url: str, secret: str, payload: dict[str, Any], now: datetime) -> tuple[int | None, str]:
    """POST ``payload`` signed at ``now``; returns the HTTP status (``None`` when there was no answer) and
    what went wrong ("" for a 2xx)."""
    if _origin(url)[0] not in ("http", "https"):
        return None, "not an http(s) URL"
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Mahnwerk-Webhooks/1",
            SIGNATURE_HEADER: sign(secret, body, int(now.timestamp())),
            EVENT_ID_HEADER: str(payload["id"]),
            "Mahnwerk-Event-Type": str(payload["type"]),
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        location = exc.headers.get("Location", "") if exc.headers else ""
        if 300 <= exc.code < 400:
            return exc.code, f"redirect to {location or '?'} not followed (another host, or too many)"
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return None, f"{type(reason).__name__}: {reason}"[:500]
