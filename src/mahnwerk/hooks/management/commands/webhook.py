"""``mahnwerk webhook``: signed outgoing webhooks.

mahnwerk webhook add URL --events payment.recorded,promise.broken [--secret S]   (a new secret is printed once)
mahnwerk webhook list
mahnwerk webhook remove ID
mahnwerk webhook deliver            (one delivery pass: new events collected, due deliveries sent)
mahnwerk webhook log [ID]           (the delivery log, newest first; ID: one webhook)
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.hooks.models import DeliveryStatus, Webhook, WebhookDelivery
from mahnwerk.hooks.services import PUBLIC_EVENTS, WebhookError, add_webhook, deliver_webhooks
from mahnwerk.ids import parse_id
from mahnwerk.ledger.management.base import MahnwerkCommand
from mahnwerk.ledger.models import Company
from mahnwerk.ledger.services import LedgerError, get_company


class Command(MahnwerkCommand):
    help = _(
        "Webhooks: add, list and remove endpoints, run a delivery pass, show the delivery log. Events: {events}"
    ).format(events=", ".join(PUBLIC_EVENTS))

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["add", "list", "remove", "deliver", "log"])
        parser.add_argument("target", nargs="?", help=_("add: the URL; remove, log: the webhook id"))
        parser.add_argument("--events", help=_("add: comma-separated event names"))
        parser.add_argument("--secret", help=_("add: the signing secret (default: a new one, printed once)"))
        parser.add_argument(
            "--status", choices=DeliveryStatus.values, help=_("log: only deliveries with this status")
        )
        parser.add_argument("--limit", type=int, default=50, help=_("log: at most this many (default 50)"))

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _optional_company(self, options: dict[str, Any]) -> Company | None:
        if not options.get("company"):
            return None
        try:
            return get_company(options["company"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None

    def _hook(self, options: dict[str, Any]) -> Webhook:
        ident = options.get("target") or ""
        pk = parse_id(ident)
        if pk is None:
            raise CommandError(_("give the webhook's id"))
        qs = Webhook.objects.all()
        company = self._optional_company(options)
        if company is not None:
            qs = qs.filter(company=company)
        hook = qs.filter(pk=pk).first()
        if hook is None:
            raise CommandError(_("no webhook {id}").format(id=ident))
        return hook

    def _add(self, options: dict[str, Any]) -> None:
        if not options.get("target"):
            raise CommandError(_("give the URL"))
        if not options.get("events"):
            raise CommandError(_("give the events: --events {events}").format(events=",".join(PUBLIC_EVENTS)))
        company = self.company(options)
        try:
            hook = add_webhook(company, options["target"], options["events"], options.get("secret"))
        except WebhookError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.emit_json(
                {
                    "id": hook.pk,
                    "url": hook.url,
                    "events": hook.events,
                    "secret": None if options.get("secret") else hook.secret,
                }
            )
            return
        self.stdout.write(
            _("Webhook {id} added: {url} ({events})").format(
                id=hook.pk, url=hook.url, events=", ".join(hook.events)
            )
        )
        if not options.get("secret"):
            self.stdout.write(_("Signing secret (shown only now): {secret}").format(secret=hook.secret))

    def _list(self, options: dict[str, Any]) -> None:
        qs = Webhook.objects.select_related("company").order_by("id")
        company = self._optional_company(options)
        if company is not None:
            qs = qs.filter(company=company)
        rows = [
            {
                "id": h.pk,
                "company": h.company.slug,
                "url": h.url,
                "events": h.events,
                "active": h.active,
                "disabled_reason": h.disabled_reason,
                "pending": h.deliveries.filter(status=DeliveryStatus.PENDING).count(),
                "created_at": h.created_at,
            }
            for h in qs
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        if not rows:
            self.stdout.write(_("No webhooks."))
        for r in rows:
            state = (
                _("active") if r["active"] else _("disabled: {reason}").format(reason=r["disabled_reason"])
            )
            self.stdout.write(
                f"{r['id']:>4}  {r['company']}  {r['url']}  {', '.join(r['events'])}  [{state}]  "
                + _("{count} pending").format(count=r["pending"])
            )

    def _remove(self, options: dict[str, Any]) -> None:
        hook = self._hook(options)
        hook.delete()
        self.stdout.write(_("Webhook {id} removed.").format(id=options["target"]))

    def _deliver(self, options: dict[str, Any]) -> None:
        result = deliver_webhooks(company=self._optional_company(options))
        if options["json"]:
            self.emit_json(result.as_dict())
            return
        self.stdout.write(
            _("{created} new, {delivered} delivered, {retrying} to retry, {failed} failed").format(
                **result.as_dict()
            )
        )
        for hook_id in result.disabled:
            self.stdout.write(_("Webhook {id} disabled: the endpoint answered 410 Gone.").format(id=hook_id))

    def _log(self, options: dict[str, Any]) -> None:
        qs = WebhookDelivery.objects.select_related("webhook").order_by("-id")
        if options.get("target"):
            qs = qs.filter(webhook=self._hook(options))
        else:
            company = self._optional_company(options)
            if company is not None:
                qs = qs.filter(webhook__company=company)
        if options.get("status"):
            qs = qs.filter(status=options["status"])
        rows = [
            {
                "id": d.pk,
                "webhook": d.webhook_id,
                "event_id": d.payload.get("id"),
                "type": d.event_type,
                "status": d.status,
                "attempts": d.attempts,
                "last_status_code": d.last_status_code,
                "last_error": d.last_error,
                "next_attempt_at": d.next_attempt_at,
                "delivered_at": d.delivered_at,
                "created_at": d.created_at,
            }
            for d in qs[: max(options["limit"], 1)]
        ]
        if options["json"]:
            self.emit_json(rows)
            return
        if not rows:
            self.stdout.write(_("No deliveries."))
        for r in rows:
            when = r["delivered_at"] or r["next_attempt_at"] or ""
            detail = r["last_error"] or (str(r["last_status_code"]) if r["last_status_code"] else "")
            self.stdout.write(
                f"{r['id']:>6}  #{r['webhook']}  {r['event_id']}  {r['type']:<18} {r['status']:<9} "
                f"{r['attempts']}x  {when}  {detail}".rstrip()
            )
