"""PDF versions of the court data, the interest calculation and the warning letter (WeasyPrint, A4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.utils.html import escape
from django.utils.translation import gettext as _

from mahnwerk.core.money import babel_locale, format_money

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
            ("Bankverbindung", f"{a['iban']} {a['bic']}".strip() or "–"),  # none: no bank account
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
        barred = (
            [(_("time-barred"), _("since {date}").format(date=line["time_barred_after"] + timedelta(days=1)))]
            if line.get("time_barred")
            else []
        )
        doc.pairs(
            [
                *barred,
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
        if t.get("time_barred_open_minor"):
            doc.pairs([(_("of which time-barred"), format_money(t["time_barred_open_minor"], cur))])
    return doc.pdf()


# The headings of Form A (Regulation (EC) No 861/2007, Annex I) in the languages a creditor writes in.
SMALL_CLAIMS_LABELS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Europäisches Verfahren für geringfügige Forderungen — Klageformblatt A",
        "form": "Verordnung (EG) Nr. 861/2007, Anhang I, Formblatt A",
        "as_of": "Stand",
        "court": "1. Gericht",
        "court_text": "Zuständiges Gericht am Wohnsitz des Beklagten",
        "country": "Staat",
        "place": "Ort",
        "claimant": "2. Kläger",
        "defendant": "3. Beklagter",
        "name": "Name",
        "address": "Anschrift",
        "register": "Registernummer",
        "representatives": "Vertreten durch",
        "email": "E-Mail",
        "customer": "Kundennummer",
        "vat": "USt-IdNr.",
        "jurisdiction": "4. Zuständigkeit",
        "ground": "Grund",
        "ground_text": "Wohnsitz des Beklagten (Art. 4 Abs. 1 Verordnung (EU) Nr. 1215/2012)",
        "cross_border": "5. Grenzüberschreitender Bezug",
        "claimant_country": "Wohnsitzstaat des Klägers",
        "defendant_country": "Wohnsitzstaat des Beklagten",
        "court_country": "Staat des Gerichts",
        "bank": "6. Bankverbindung",
        "claim": "7. Forderung (Hauptforderung je Rechnung)",
        "invoice": "Rechnung",
        "invoice_date": "Rechnungsdatum",
        "due": "Fällig",
        "principal": "Hauptforderung",
        "interest": "Zinsen",
        "interest_kind": "gesetzliche Zinsen",
        "basis": "Zinssatz",
        "margin": "{points} Prozentpunkte über dem Basiszinssatz (derzeit {rate} %)",
        "fixed": "{rate} % jährlich",
        "from": "ab",
        "accrued": "bis zum Stand aufgelaufen",
        "costs": "Kosten",
        "cost_kind": "Art",
        "booked": "gebucht",
        "amount": "Betrag",
        "totals": "Summe",
        "principal_total": "Hauptforderung (ohne Zinsen und Kosten)",
        "interest_total": "Zinsen bis zum Stand",
        "costs_total": "Kosten",
        "total": "Gesamtbetrag",
        "limit": "Höchstbetrag des Verfahrens (ohne Zinsen und Kosten)",
        "details": "8. Begründung",
        "details_text": "Unbezahlte Rechnungen {numbers} über gelieferte Waren oder erbrachte Leistungen; "
        "fällig und trotz Mahnungen nicht bezahlt.",
        "signature": "10. Datum und Unterschrift",
        "flat_compensation": "Verzugspauschale (Richtlinie 2011/7/EU, § 288 Abs. 5 BGB)",
        "reminder_fee": "Vorgerichtliche Mahnkosten",
    },
    "lv": {
        "title": "Eiropas maza apmēra prasību procedūra — prasības pieteikuma veidlapa A",
        "form": "Regula (EK) Nr. 861/2007, I pielikums, veidlapa A",
        "as_of": "Datums",
        "court": "1. Tiesa",
        "court_text": "Kompetentā tiesa pēc atbildētāja domicila",
        "country": "Valsts",
        "place": "Vieta",
        "claimant": "2. Prasītājs",
        "defendant": "3. Atbildētājs",
        "name": "Nosaukums",
        "address": "Adrese",
        "register": "Reģistrācijas numurs",
        "representatives": "Pārstāvji",
        "email": "E-pasts",
        "customer": "Klienta numurs",
        "vat": "PVN numurs",
        "jurisdiction": "4. Piekritība",
        "ground": "Pamats",
        "ground_text": "Atbildētāja domicils (Regulas (ES) Nr. 1215/2012 4. panta 1. punkts)",
        "cross_border": "5. Pārrobežu raksturs",
        "claimant_country": "Prasītāja domicila valsts",
        "defendant_country": "Atbildētāja domicila valsts",
        "court_country": "Tiesas valsts",
        "bank": "6. Bankas rekvizīti",
        "claim": "7. Prasījums (pamatparāds pa rēķiniem)",
        "invoice": "Rēķins",
        "invoice_date": "Rēķina datums",
        "due": "Termiņš",
        "principal": "Pamatparāds",
        "interest": "Procenti",
        "interest_kind": "likumiskie procenti",
        "basis": "Procentu likme",
        "margin": "{points} procentpunkti virs bāzes likmes (pašlaik {rate} %)",
        "fixed": "{rate} % gadā",
        "from": "no",
        "accrued": "uzkrāti līdz datumam",
        "costs": "Izdevumi",
        "cost_kind": "Veids",
        "booked": "iegrāmatots",
        "amount": "Summa",
        "totals": "Kopā",
        "principal_total": "Pamatparāds (bez procentiem un izdevumiem)",
        "interest_total": "Procenti līdz datumam",
        "costs_total": "Izdevumi",
        "total": "Kopsumma",
        "limit": "Procedūras maksimālā summa (bez procentiem un izdevumiem)",
        "details": "8. Prasījuma pamatojums",
        "details_text": "Neapmaksāti rēķini {numbers} par piegādātām precēm vai sniegtiem pakalpojumiem; "
        "termiņš iestājies, un tie nav apmaksāti, neskatoties uz atgādinājumiem.",
        "signature": "10. Datums un paraksts",
        "flat_compensation": "Kompensācija par piedziņas izdevumiem (Direktīva 2011/7/ES)",
        "reminder_fee": "Ārpustiesas parāda atgūšanas izdevumi",
    },
    "en": {
        "title": "European Small Claims Procedure — Claim Form A",
        "form": "Regulation (EC) No 861/2007, Annex I, Form A",
        "as_of": "As of",
        "court": "1. Court",
        "court_text": "Court having jurisdiction at the defendant's domicile",
        "country": "Country",
        "place": "Place",
        "claimant": "2. Claimant",
        "defendant": "3. Defendant",
        "name": "Name",
        "address": "Address",
        "register": "Registration number",
        "representatives": "Represented by",
        "email": "Email",
        "customer": "Customer number",
        "vat": "VAT number",
        "jurisdiction": "4. Jurisdiction",
        "ground": "Ground",
        "ground_text": "Domicile of the defendant (Art. 4 (1) Regulation (EU) No 1215/2012)",
        "cross_border": "5. Cross-border nature of the case",
        "claimant_country": "Country of the claimant's domicile",
        "defendant_country": "Country of the defendant's domicile",
        "court_country": "Country of the court",
        "bank": "6. Bank details",
        "claim": "7. Claim (principal per invoice)",
        "invoice": "Invoice",
        "invoice_date": "Invoice date",
        "due": "Due",
        "principal": "Principal",
        "interest": "Interest",
        "interest_kind": "statutory interest",
        "basis": "Rate",
        "margin": "{points} percentage points above the base rate (currently {rate} %)",
        "fixed": "{rate} % a year",
        "from": "from",
        "accrued": "accrued to date",
        "costs": "Costs",
        "cost_kind": "Kind",
        "booked": "booked",
        "amount": "Amount",
        "totals": "Totals",
        "principal_total": "Principal (without interest and costs)",
        "interest_total": "Interest to date",
        "costs_total": "Costs",
        "total": "Total",
        "limit": "Limit of the procedure (without interest and costs)",
        "details": "8. Details of the claim",
        "details_text": "Unpaid invoices {numbers} for goods delivered or services rendered; due and not "
        "paid despite reminders.",
        "signature": "10. Date and signature",
        "flat_compensation": "Compensation for recovery costs (Directive 2011/7/EU)",
        "reminder_fee": "Pre-court reminder costs",
    },
}


def small_claims_pdf(data: dict[str, Any]) -> bytes:
    """Form A of the European Small Claims Procedure, pre-filled, headings in the creditor's language."""
    lang = data["language"] if data["language"] in SMALL_CLAIMS_LABELS else "en"
    t = SMALL_CLAIMS_LABELS[lang]
    cur = data["currency"]

    def money(minor: int) -> str:
        return format_money(minor, cur, lang)

    def rate(value: str) -> str:
        return value.replace(".", ",") if lang in ("de", "lv") else value

    def country(code: str) -> str:
        return f"{babel_locale(lang).territories.get(code, code)} ({code})" if code else ""

    doc = Document(t["title"])
    doc.pairs([(t["form"], ""), (t["as_of"], data["as_of"])])
    court = data["court"]
    doc.heading(t["court"])
    doc.pairs(
        [
            (t["name"], t["court_text"]),
            (t["country"], country(court["country"])),
            (t["place"], court["city"]),
        ]
    )
    c, d = data["claimant"], data["defendant"]
    doc.heading(t["claimant"])
    doc.pairs(
        [
            (t["name"], f"{c['name']}"),
            (t["address"], _address(c)),
            (t["register"], " ".join(p for p in (c["register_court"], c["register_number"]) if p)),
            (t["representatives"], ", ".join(c["legal_representatives"])),
            (t["vat"], c["vat_id"]),
            (t["email"], c["email"]),
        ]
    )
    doc.heading(t["defendant"])
    doc.pairs(
        [
            (t["name"], d["name"]),
            (t["address"], _address(d)),
            (t["customer"], d["number"]),
            (t["vat"], d["vat_id"]),
        ]
    )
    doc.heading(t["jurisdiction"])
    doc.pairs([(t["ground"], t["ground_text"])])
    cb = data["cross_border"]
    doc.heading(t["cross_border"])
    doc.pairs(
        [
            (t["claimant_country"], country(cb["claimant_country"])),
            (t["defendant_country"], country(cb["defendant_country"])),
            (t["court_country"], country(cb["court_country"])),
        ]
    )
    doc.heading(t["bank"])
    doc.pairs([("IBAN / BIC", f"{c['iban']} {c['bic']}".strip() or "–")])
    doc.heading(t["claim"])
    doc.table(
        [t["invoice"], t["invoice_date"], t["due"], t["principal"]],
        [
            (x["invoice"], x["invoice_date"], x["due_date"], money(x["principal_minor"]))
            for x in data["claims"]
        ],
        numeric=(3,),
    )
    doc.heading(t["interest"])
    doc.table(
        [t["invoice"], t["basis"], t["from"], t["principal"], t["accrued"]],
        [
            (
                i["invoice"],
                t["interest_kind"]
                + ": "
                + (
                    t["margin"].format(points=rate(i["margin_points"]), rate=rate(i["rate_percent"]))
                    if i["margin_points"] is not None
                    else t["fixed"].format(rate=rate(i["rate_percent"]))
                ),
                i["from"],
                money(i["principal_minor"]),
                money(i["accrued_to_date_minor"]),
            )
            for i in data["interest"]
        ],
        numeric=(3, 4),
    )
    doc.heading(t["costs"])
    doc.table(
        [t["invoice"], t["cost_kind"], t["booked"], t["amount"]],
        [
            (x["invoice"], t.get(x["kind"], x["kind"]), x["booked_on"], money(x["amount_minor"]))
            for x in data["costs"]
        ],
        numeric=(3,),
    )
    doc.heading(t["totals"])
    doc.pairs(
        [
            (t["principal_total"], money(data["principal_minor"])),
            (t["interest_total"], money(data["interest_minor"])),
            (t["costs_total"], money(data["costs_minor"])),
            (t["total"], money(data["total_minor"])),
            (t["limit"], money(data["limit_minor"])),
        ]
    )
    doc.heading(t["details"])
    doc.text(t["details_text"].format(numbers=", ".join(x["invoice"] for x in data["claims"])))
    doc.heading(t["signature"])
    doc.pairs([(t["place"], c["city"]), (t["as_of"], data["as_of"]), (c["name"], "")])
    return doc.pdf()
