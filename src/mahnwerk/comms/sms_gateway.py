"""Sending SMS through a provider.

:class:`SmsGateway` is what the outbox needs from any provider. :class:`JsonHttpSmsGateway` speaks the
common shape of SMS APIs: an HTTPS ``POST`` of ``{"to", "from", "text", "encoding"}`` as JSON with a
bearer token, answered by JSON carrying the provider's message id. The encoding (``GSM-7`` or ``UCS-2``)
and the segment count are worked out here (:mod:`mahnwerk.core.sms`), so the cost of a message is known
before it is sent and can be checked against what the provider bills.

Errors say whether trying again can help: a 4xx answer (other than 401, 403, 408 and 429) is permanent, a
timeout, a refused connection, an unknown host name, 408, 429 and 5xx are temporary (the outbox tries again
later, with growing pauses). 401 and 403 speak of our account with the provider (a wrong token, no credit),
not of the message: SMS stop for this call and the messages wait, so a fixed token sends them within the
retry period instead of withdrawing every step. A number that is not E.164, or that the provider refuses
as a number (400/404/422 naming the recipient), is ``invalid_number``: the outbox marks it invalid, as a
hard bounce does for an email address. The outbox's message id goes out as the
``Idempotency-Key`` header, so a provider that honours it sends a retried message only once.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from mahnwerk.core.sms import analyse_sms

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# the words providers use when they refuse the recipient's number (Twilio 21211, Vonage, MessageBird, …)
_NUMBER_REFUSED = re.compile(r"\b(number|recipient|msisdn|phone|destination)\b", re.IGNORECASE)
_ACCOUNT_STATUSES = (401, 403)


class SmsSendError(Exception):
    """``permanent``: trying again cannot help. ``unreachable``: the provider could not be reached at all
    (refused, timed out, not resolved) or refuses our account, so the outbox stops sending SMS for now
    instead of waiting for every message in turn. ``invalid_number``: the recipient's number cannot
    receive SMS."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        unreachable: bool = False,
        invalid_number: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.unreachable = unreachable
        self.invalid_number = invalid_number


@dataclass(frozen=True, slots=True)
class SmsMessage:
    to: str  # E.164, "+37120000000"
    sender: str  # E.164 number or an alphanumeric sender id of up to 11 characters
    text: str
    message_id: str = ""  # the outbox's id, sent as Idempotency-Key

    def validate(self) -> None:
        if not _E164.fullmatch(self.to):
            raise SmsSendError(f"not an E.164 phone number: {self.to!r}", permanent=True, invalid_number=True)
        if not (_E164.fullmatch(self.sender) or _ALPHANUMERIC_SENDER.fullmatch(self.sender)):
            raise SmsSendError(f"not a valid sender: {self.sender!r}", permanent=True)
        if not self.text:
            raise SmsSendError("empty message text", permanent=True)


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    provider_id: str
    encoding: str
    segments: int


@runtime_checkable
class SmsGateway(Protocol):
    def send(self, message: SmsMessage) -> SmsReceipt: ...


class JsonHttpSmsGateway:
    """A provider reached by ``POST <url>`` with a JSON body and ``Authorization: Bearer <token>``.

    The answer must be JSON with the provider's id of the message in ``id`` (or ``message_id``).
    Plain ``http://`` is refused except to a loopback address.
    """

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS):
            raise ValueError(f"the SMS provider URL must use https: {url}")
        if not token:
            raise ValueError("the SMS provider token is empty")
        self.url = url
        self._token = token
        self.timeout = timeout

    def payload(self, message: SmsMessage) -> dict[str, str]:
        info = analyse_sms(message.text)
        return {"to": message.to, "from": message.sender, "text": message.text, "encoding": info.encoding}

    def send(self, message: SmsMessage) -> SmsReceipt:
        message.validate()
        info = analyse_sms(message.text)
        body = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": "Mahnwerk",
        }
        if message.message_id:
            headers["Idempotency-Key"] = message.message_id
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace")
            account = exc.code in _ACCOUNT_STATUSES
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429) and not account
            raise SmsSendError(
                f"SMS provider answered {exc.code}: {detail}",
                permanent=permanent,
                status=exc.code,
                unreachable=account,
                invalid_number=exc.code in (400, 404, 422) and bool(_NUMBER_REFUSED.search(detail)),
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsSendError(
                f"SMS provider not reachable: {exc}", permanent=False, unreachable=True
            ) from None
        try:
            answer = json.loads(raw)
            provider_id = str(answer.get("id") or answer.get("message_id") or "")
        except (ValueError, AttributeError):
            provider_id = ""
        if not provider_id:
            raise SmsSendError("SMS provider answered without a message id", permanent=False)
        return SmsReceipt(provider_id=provider_id, encoding=info.encoding, segments=info.segments)
