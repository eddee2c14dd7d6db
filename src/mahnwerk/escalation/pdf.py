"""PDF versions of the court data, the interest calculation and the warning letter (WeasyPrint, A4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.utils.html import escape
from django.utils.translation import gettext as _

from mahnwerk.core.money import format_money

CSS = """
@page { size: A4; margin: 20mm 18mm; @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9.5pt; line-height: 1.35; }
h1 { font-size: 14pt; margin: 0 0 4mm; }
h2 { font-size: 11pt; margin: 6mm 0 2mm; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 0.3pt solid #999; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; white-space: nowrap; }
p.letter { white-space: pre-wrap; }
"""

Row = Sequence[Any]


def _cell(value: Any) -> str:
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return "" if value is None else str(value)


class Document:
    """A simple report: a title, then sections of key-value lines, tables or text."""

    def __init__(self, title: str) -> None:
        self.parts: list[str] = [f"<h1>{escape(title)}</h1>"]

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{escape(text)}</h2>")

    def pairs(self, rows: Sequence[tuple[str, Any]]) -> None:
        body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(_cell(v))}</td></tr>" for k, v in rows)
        self.parts.append(f"<table>{body}</table>")

    def table(self, head: Sequence[str], rows: Sequence[Row], numeric: Sequence[int] = ()) -> None:
        def cls(i: int) -> str:
            return ' class="n"' if i in numeric else ""

        header = "".join(f"<th{cls(i)}>{escape(h)}</th>" for i, h in enumerate(head))
        body = "".join(
            "<tr>" + "".join(f"<td{cls(i)}>{escape(_cell(v))}</td>" for i, v in enumerate(row)) + "</tr>"
            for row in rows
        )
        self.parts.append(f"<table><tr>{header}</tr>{body}</table>")

    def text(self, text: str, letter: bool = False) -> None:
        self.parts.append(f'<p class="{"letter" if letter else ""}">{escape(text)}</p>')

    def html(self) -> str:
        return f'<!doctype html><html><head><meta charset="utf-8"><style>{CSS}</style></head><body>{"".join(self.parts)}</body></html>'

    def pdf(self) -> bytes:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher

        out = HTML(
            string=self.html(), url_fetcher=URLFetcher(allowed_protocols={"data"}, timeout=1)
        ).write_pdf()
        assert isinstance(out, bytes)
        return out


def _address(party: dict[str, Any]) -> str:
    return ", ".join(
        p
        for p in (
            party.get("street"),
            f"{party.get('postcode', '')} {party.get('city', '')}".strip(),
            party.get("country"),
        )
        if p
    )


def mahnantrag_pdf(data: dict[str, Any]) -> bytes:
    cur = data["currency"]

    def money(minor: int | None) -> str:
        return "-" if minor is None else format_money(minor, cur, "de")

    doc = Document("Mahnantrag — Daten für den Antrag auf Erlass eines Mahnbescheids (§ 690 ZPO)")
    doc.pairs([("Stand", data["as_of"])])
    a, r = data["applicant"], data["respondent"]
    doc.heading("Antragsteller")
    doc.pairs(
        [
            ("Name", a["name"]),
            ("Rechtsform", a["legal_form"]),
            ("Anschrift", _address(a)),
            ("Gesetzliche Vertreter", ", ".join(a["legal_representatives"])),
            ("Registergericht", a["register_court"]),
            ("Registernummer", a["register_number"]),
            ("Bankverbindung", f"{a['iban']} {a['bic']}".strip()),
        ]
    )
    doc.heading("Antragsgegner")
    doc.pairs([("Name", r["name"]), ("Kundennummer", r["number"]), ("Anschrift", _address(r))])
    doc.heading("Hauptforderungen")
    doc.table(
        ["Bezeichnung", "Rechnungsdatum", "Fällig", "Betrag offen"],
        [
            (c["description"], c["invoice_date"], c["due_date"], money(c["open_minor"]))
            for c in data["main_claims"]
        ],
        numeric=(3,),
    )
    doc.heading("Zinsen")
    doc.table(
        ["Rechnung", "Art", "Zinssatz", "ab / bis", "aus / Betrag"],
        [
            (
                c["invoice"],
                "laufend" if c["kind"] == "running" else "ausgerechnet",
                c["basis"],
                c.get("from") or c.get("until"),
                money(c.get("principal_minor") if c["kind"] == "running" else c.get("amount_minor")),
            )
            for c in data["interest_claims"]
        ],
        numeric=(4,),
    )
    doc.heading("Kosten (gesondert)")
    doc.table(
        ["Rechnung", "Art", "gebucht", "Betrag"],
        [(c["invoice"], c["label"], c["booked_on"], money(c["amount_minor"])) for c in data["costs"]],
        numeric=(3,),
    )
    doc.heading("Erklärungen und Kosten des Verfahrens")
    doc.pairs(
        [
            ("Gegenleistung", data["counter_performance"]["text"]),
            ("Streitwert (Hauptforderungen)", money(data["claim_value_minor"])),
            ("Gerichtsgebühr (KV GKG 1100)", money(data["court_fee_minor"])),
            ("Streitiges Verfahren", data["court_for_contested_proceedings"]),
        ]
    )
    doc.heading("Fristen")
    doc.table(["Frist", "bis"], [(t["text"], t["due"]) for t in data["deadlines"]])
    for w in data["warnings"]:
        doc.text(w)
    return doc.pdf()


def lv_warning_pdf(data: dict[str, Any]) -> bytes:
    cur = data["currency"]
    app = data["application"]

    def money(minor: int) -> str:
        return format_money(minor, cur, "lv")

    doc = Document("Saistību izpildīšana brīdinājuma kārtībā")
    doc.heading("Brīdinājums")
    doc.text(data["warning_letter"]["text"], letter=True)
    doc.heading("Pieteikuma dati")
    doc.pairs(
        [
            ("Tiesa", app["court"]),
            ("Kreditors", app["creditor"]["name"]),
            ("Parādnieks", app["debtor"]["name"]),
            ("Pamats", app["basis"]),
            ("Pamatparāds", money(app["principal_minor"])),
            ("Procenti", money(app["interest_minor"])),
            ("Izdevumi", money(app["costs_minor"])),
            ("Kopā", money(app["total_minor"])),
            ("Valsts nodeva", f"{money(app['state_fee_minor'])} ({app['state_fee_basis']})"),
        ]
    )
    doc.table(
        ["Rēķins", "Datums", "Termiņš", "Pamatparāds", "Procenti", "Izdevumi"],
        [
            (
                c["invoice"],
                c["invoice_date"],
                c["due_date"],
                money(c["principal_minor"]),
                money(c["interest_minor"]),
                money(c["costs_minor"]),
            )
            for c in app["claims"]
        ],
        numeric=(3, 4, 5),
    )
    return doc.pdf()


def statement_pdf(data: dict[str, Any], debtor_name: str) -> bytes:
    """The interest calculation: every invoice with its segments (dates, days, rate, principal, amount)."""
    doc = Document(
        _("Interest calculation for {name} as of {date}").format(name=debtor_name, date=data["as_of"])
    )
    doc.pairs([(_("Rules"), data["rules"]["text"])])
    for line in data["lines"]:
        cur = line["currency"]
        doc.heading(_("Invoice {number}").format(number=line["number"]))
        doc.pairs(
            [
                (_("due"), line["due_date"]),
                (_("interest from"), line["default_from"]),
                (_("principal"), format_money(line["principal_open_minor"], cur)),
                (_("interest"), format_money(line["interest_open_minor"], cur)),
                (_("fees"), format_money(line["fees_open_minor"], cur)),
                (_("total"), format_money(line["total_open_minor"], cur)),
            ]
        )
        doc.table(
            [_("from"), _("to"), _("days"), _("rate %"), _("principal"), _("interest")],
            [
                (
                    s["from"],
                    s["to"],
                    s["days"],
                    s["rate"],
                    format_money(s["principal_minor"], cur),
                    format_money(s["amount_minor"], cur),
                )
                for s in line["segments"]
            ],
            numeric=(2, 3, 4, 5),
        )
    for cur, t in data["totals"].items():
        doc.pairs([(_("Total due"), format_money(t["total_open_minor"], cur))])
    return doc.pdf()
