from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from mahnwerk.comms.models import OutboundMessage
from mahnwerk.comms.outbox import outbox_counts, recover_stuck, send_queued
from mahnwerk.ledger.management.base import MahnwerkCommand


class Command(MahnwerkCommand):
    help = "List or send the outgoing messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "send"])
        parser.add_argument("--status", help="list only messages in this status (queued, sent, cancelled...)")
        parser.add_argument("--limit", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options) if options["company"] else None
        if options["action"] == "send":
            recovered = recover_stuck()
            counts = send_queued(company=company)
            counts["recovered"] = recovered
            if options["json"]:
                self.emit_json(counts)
            else:
                self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))
            return
        qs = OutboundMessage.objects.order_by("-id")
        if company is not None:
            qs = qs.filter(company=company)
        if options["status"]:
            qs = qs.filter(status=options["status"])
        rows = [
            {
                "id": m.id,
                "status": m.status,
                "channel": m.channel,
                "recipient": m.recipient,
                "subject": m.subject,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            }
            for m in qs[: options["limit"]]
        ]
        if options["json"]:
            self.emit_json({"counts": outbox_counts(company), "messages": rows})
            return
        self.stdout.write(
            "  ".join(f"{k}: {v}" for k, v in sorted(outbox_counts(company).items())) or "empty"
        )
        for r in rows:
            self.stdout.write(f"{r['id']:>7}  {r['status']:<9}  {r['recipient']:<35}  {r['subject']}")
