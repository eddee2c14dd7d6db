from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.comms.outbox import outbox_counts, recover_stuck, retry_failed, retrying_count, send_queued
from mahnwerk.ledger.management.base import MahnwerkCommand


class Command(MahnwerkCommand):
    help = (
        "List or send the outgoing messages, or put failed ones back in the queue. Temporary failures are "
        "tried again by themselves (after 1, 2, 4 ... minutes, for 3 days); 'retry' is for messages that "
        "failed for good. 'render' writes the messages the run decided (the sender and the run command do it "
        "too), with --workers N processes side by side on PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "send", "retry", "render"])
        parser.add_argument(
            "--status",
            help="list: only messages in this status (queued, sending, sent, failed, cancelled...); "
            "retry: failed (the only status retried)",
        )
        parser.add_argument(
            "--id",
            dest="ids",
            type=int,
            action="extend",
            nargs="+",
            metavar="ID",
            help="retry: only these messages",
        )
        parser.add_argument("--limit", type=int, default=50)
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="render: processes writing messages side by side (PostgreSQL; SQLite writes with one)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options) if options["company"] else None
        if options["action"] == "send":
            self.send(company, options)
        elif options["action"] == "retry":
            self.retry(company, options)
        elif options["action"] == "render":
            self.render(company, options)
        else:
            self.list(company, options)

    def send(self, company: Any, options: dict[str, Any]) -> None:
        recovered = recover_stuck()
        counts = send_queued(company=company)
        counts["recovered"] = recovered
        if options["json"]:
            self.emit_json(counts)
        else:
            self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items() if k != "error"))
        if counts.get("error"):
            raise CommandError(_("%(error)s; the messages stay queued") % {"error": counts["error"]})

    def render(self, company: Any, options: dict[str, Any]) -> None:
        from mahnwerk.comms.compose import render_in_processes

        workers = options["workers"]
        if workers < 1 or workers > 64:
            raise CommandError(_("--workers must be between 1 and 64"))
        rendered = render_in_processes(company, workers)
        if options["json"]:
            self.emit_json({"rendered": rendered})
        else:
            self.stdout.write(_("%(count)d message(s) rendered") % {"count": rendered})

    def retry(self, company: Any, options: dict[str, Any]) -> None:
        if options["status"] not in (None, MessageStatus.FAILED):
            raise CommandError(_("only failed messages can be retried (--status failed)"))
        result = retry_failed(company, options["ids"])
        if options["json"]:
            self.emit_json(
                {
                    "requeued": result.requeued,
                    "withdrawn": result.withdrawn,
                    "superseded": result.superseded,
                    "no_address": result.no_address,
                    "not_failed": result.not_failed,
                }
            )
            return
        self.stdout.write(_("%(count)d message(s) queued again") % {"count": len(result.requeued)})
        for reason, count in sorted(result.withdrawn.items()):
            self.stdout.write(
                _("%(count)d withdrawn instead: no longer fits the ledger (%(reason)s)")
                % {"count": count, "reason": reason.replace("_", " ")}
            )
        if result.superseded:
            self.stdout.write(
                _("%(count)d left failed: the debtor had a later step meanwhile (%(ids)s)")
                % {"count": len(result.superseded), "ids": ", ".join(map(str, result.superseded))}
            )
        if result.no_address:
            self.stdout.write(
                _("%(count)d left failed: the debtor has no valid email address (%(ids)s)")
                % {"count": len(result.no_address), "ids": ", ".join(map(str, result.no_address))}
            )
        if result.not_failed:
            self.stderr.write(
                _("not failed or not found: %(ids)s") % {"ids": ", ".join(map(str, result.not_failed))}
            )

    def list(self, company: Any, options: dict[str, Any]) -> None:
        from mahnwerk.comms.compose import render_pending

        render_pending(company)
        qs = OutboundMessage.objects.order_by("-id")
        if company is not None:
            qs = qs.filter(company=company)
        if options["status"]:
            qs = qs.filter(status=options["status"])
        rows: list[dict[str, Any]] = [
            {
                "id": m.id,
                "status": m.status,
                "channel": m.channel,
                "recipient": m.recipient,
                "subject": m.subject,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "attempts": m.attempts,
                "next_attempt_at": m.next_attempt_at.isoformat() if m.next_attempt_at else None,
                "last_error": m.last_error,
            }
            for m in qs[: options["limit"]]
        ]
        counts = outbox_counts(company)
        retrying = retrying_count(company)
        if options["json"]:
            self.emit_json({"counts": counts, "retrying": retrying, "messages": rows})
            return
        summary = "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or _("empty")
        if retrying:
            summary += "  " + _("(of the queued, retrying: %(count)d)") % {"count": retrying}
        self.stdout.write(summary)
        for r in rows:
            line = f"{r['id']:>7}  {r['status']:<9}  {r['recipient']:<35}  {r['subject']}"
            if r["status"] == MessageStatus.QUEUED and r["next_attempt_at"]:
                line += "  " + _("[attempt %(n)d failed, next %(at)s: %(error)s]") % {
                    "n": r["attempts"],
                    "at": r["next_attempt_at"][:16],
                    "error": r["last_error"][:80],
                }
            elif r["status"] == MessageStatus.FAILED:
                line += "  [" + r["last_error"][:100] + "]"
            self.stdout.write(line)
