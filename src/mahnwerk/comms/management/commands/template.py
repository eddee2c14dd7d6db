from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.comms.placeholders import ALLOWED_PLACEHOLDERS
from mahnwerk.comms.templates_store import (
    ANY_TONE,
    KINDS,
    TONES,
    TemplateError,
    TemplateValidationError,
    list_templates,
    natural_tone,
    preview,
    reset_template,
    resolve_template,
    save_template,
    split_subject,
)
from mahnwerk.ids import parse_id
from mahnwerk.ledger.management.base import MahnwerkCommand, business_date
from mahnwerk.ledger.models import Company, Debtor


class Command(MahnwerkCommand):
    help = (
        "Message templates: list them, show one, edit the company's version (from a file), reset it to the "
        "shipped text, or preview it for a debtor."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "show", "edit", "reset", "preview"])
        parser.add_argument("name", nargs="?", help="template name, e.g. reminder, final_notice, thank_you")
        parser.add_argument("--kind", choices=KINDS, help="email (default), sms or letter")
        parser.add_argument("--tone", choices=[*TONES, ANY_TONE], help="default: the template's natural tone")
        parser.add_argument("--language", choices=["de", "lv", "en"], help="default: the company's language")
        parser.add_argument("--subject", help="edit: the new subject (default: keep the current one)")
        parser.add_argument(
            "--body-file",
            help="edit: file with the new text ('-': standard input); a 'Subject: ...' first line, as written "
            "by 'template show', sets the subject",
        )
        parser.add_argument("--user", help="edit: user name recorded as the editor")
        parser.add_argument("--debtor", help="preview: debtor customer number or id")
        parser.add_argument("--date", type=business_date, help="preview: business date (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        company = self.company(options)
        action = options["action"]
        try:
            if action == "list":
                self._list(company, options)
                return
            name = options["name"]
            if not name:
                raise CommandError(_("template {action} needs a template name").format(action=action))
            kind = options["kind"] or "email"
            tone = options["tone"] or (ANY_TONE if kind == "sms" else natural_tone(name))
            language = options["language"] or company.default_language
            if action == "show":
                self._show(company, name, tone, language, kind, options)
            elif action == "edit":
                self._edit(company, name, tone, language, kind, options)
            elif action == "reset":
                removed = reset_template(company, name, tone, language, kind)
                self.stdout.write(
                    f"{kind}/{name}.{tone}.{language}: "
                    + (
                        _("reset to the shipped text")
                        if removed
                        else _("no edited version, nothing to reset")
                    )
                )
            else:
                self._preview(company, name, options)
        except TemplateValidationError as exc:
            raise CommandError(
                _("template refused:") + "\n" + "\n".join(f"  {problem}" for problem in exc.problems)
            ) from None
        except TemplateError as exc:
            raise CommandError(str(exc)) from None

    def _list(self, company: Company, options: dict[str, Any]) -> None:
        rows = list_templates(
            company, kind=options["kind"], name=options["name"], language=options["language"]
        )
        if options["json"]:
            self.emit_json(rows)
            return
        for r in rows:
            who = f"  {r['updated_at'][:16]} {r['updated_by']}".rstrip() if r["updated_at"] else ""
            self.stdout.write(
                f"{r['kind']:<7} {r['name']:<15} {r['tone']:<9} {r['language']}  {r['origin']}{who}"
            )

    def _show(
        self, company: Company, name: str, tone: str, language: str, kind: str, options: dict[str, Any]
    ) -> None:
        source = resolve_template(company, name, tone, language, kind)
        if options["json"]:
            data = source.as_dict()
            data["placeholders"] = {key: str(text) for key, text in ALLOWED_PLACEHOLDERS.items()}
            self.emit_json(data)
            return
        where = _("edited") if source.edited else source.path
        self.stdout.write(f"# {kind}/{source.name}.{source.tone}.{source.language} ({where})")
        if source.subject:
            self.stdout.write(f"Subject: {source.subject}")
        self.stdout.write(source.body)

    def _edit(
        self, company: Company, name: str, tone: str, language: str, kind: str, options: dict[str, Any]
    ) -> None:
        if options["subject"] is None and options["body_file"] is None:
            raise CommandError(_("template edit needs --subject and/or --body-file"))
        current = None
        if options["subject"] is None or options["body_file"] is None:
            try:
                current = resolve_template(company, name, tone, language, kind)
            except TemplateError:
                raise CommandError(
                    _("there is no {kind} template {name!r} yet: give both --subject and --body-file").format(
                        kind=kind, name=name
                    )
                ) from None
        subject = (
            options["subject"] if options["subject"] is not None else (current.subject if current else "")
        )
        if options["body_file"] is None:
            body = current.body if current else ""
        elif options["body_file"] == "-":
            body = sys.stdin.read()
        else:
            try:
                body = Path(options["body_file"]).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(
                    _("cannot read {file}: {error}").format(file=options["body_file"], error=exc)
                ) from None
        # A file written by "template show" carries a "# kind/name..." line and the subject: take them apart.
        lines = body.split("\n")
        if lines and re.match(r"^# (email|sms|letter)/", lines[0]):
            body = "\n".join(lines[1:])
        if kind != "sms" and body.lstrip().startswith("Subject:"):
            file_subject, body = split_subject(body)
            if options["subject"] is None:
                subject = file_subject
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(_("no user {name!r}").format(name=options["user"]))
        save_template(company, name, tone, language, kind, subject, body, user)
        self.stdout.write(f"{kind}/{name}.{tone}.{language}: " + _("saved"))

    def _preview(self, company: Company, name: str, options: dict[str, Any]) -> None:
        ident = options["debtor"]
        if not ident:
            raise CommandError(_("template preview needs --debtor NUMBER"))
        qs = Debtor.objects.filter(company=company)
        debtor = qs.filter(number=ident).first() or (
            qs.filter(pk=pk).first() if (pk := parse_id(ident)) else None
        )
        if debtor is None:
            raise CommandError(
                _("no debtor {ident!r} in {company}").format(ident=ident, company=company.name)
            )
        kind = options["kind"] or "email"
        rendered = preview(
            company, debtor, name, options["tone"], options["language"], kind, as_of=options["date"]
        )
        if options["json"]:
            self.emit_json(
                {
                    "kind": rendered.kind,
                    "subject": rendered.subject,
                    "text": rendered.body_text,
                    "greeting": rendered.greeting,
                    "paragraphs": list(rendered.paragraphs),
                    "closing": rendered.closing,
                }
            )
            return
        if rendered.subject:
            self.stdout.write(f"Subject: {rendered.subject}\n")
        self.stdout.write(rendered.body_text)
