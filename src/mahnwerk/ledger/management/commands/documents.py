from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from mahnwerk.ledger.invoice_documents import DocumentRejected, InvoiceFile, attach_invoice_documents
from mahnwerk.ledger.management.base import MahnwerkCommand


class Command(MahnwerkCommand):
    help = (
        "Store invoice copies (PDF): each file is the copy of the invoice its name says (R-100.pdf -> R-100). "
        "A directory stands for the PDF files in it. All files are checked first; nothing is stored if one fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["attach"])
        parser.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        files: list[Path] = []
        for path in options["paths"]:
            if path.is_dir():
                files += sorted(p for p in path.iterdir() if p.suffix.lower() == ".pdf")
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"no such file or directory: {path}")
        if not files:
            raise CommandError("no PDF files found")
        company = self.company(options)
        items = [InvoiceFile(p.stem, str(p), p.read_bytes()) for p in files]
        try:
            invoices = attach_invoice_documents(company, items, actor="cli documents")
        except DocumentRejected as exc:
            if options["json"]:
                self.emit_json({"ok": False, "errors": exc.problems})
            raise CommandError("nothing stored:\n  " + "\n  ".join(exc.problems)) from None
        if options["json"]:
            self.emit_json({"ok": True, "stored": [i.number for i in invoices]})
        else:
            self.stdout.write(f"{len(invoices)} invoice copies stored for {company.name}")
