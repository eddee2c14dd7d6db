"""A seeded demo ledger: a German wholesaler with German and Latvian customers and their payment habits.

Used by ``mahnwerk demo`` and by the benchmarks. Deterministic for a given seed and date.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from mahnwerk.collection.models import Action, Task
from mahnwerk.collection.presets import create_preset_playbook
from mahnwerk.collection.services import run_collection
from mahnwerk.ledger.models import Company, Contact, ContactKind, Debtor, DebtorKind, Invoice, Payment
from mahnwerk.ledger.services import Receipt, company_today, create_invoices, record_payments

DEMO_SLUG = "demo"

DE_SURNAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Krause",
    "Meier",
    "Lehmann",
]
DE_FIRST = [
    "Anna",
    "Lukas",
    "Sophie",
    "Jonas",
    "Marie",
    "Felix",
    "Laura",
    "Paul",
    "Lea",
    "Max",
    "Julia",
    "Tim",
]
DE_TRADES = [
    "Bäckerei",
    "Tischlerei",
    "Elektro",
    "Sanitär",
    "Autohaus",
    "Gartenbau",
    "Malerbetrieb",
    "Metallbau",
    "Druckerei",
    "Dachdeckerei",
    "Kfz-Werkstatt",
    "Hausverwaltung",
]
DE_CITIES = [
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"),
    ("04109", "Leipzig"),
    ("01067", "Dresden"),
    ("30159", "Hannover"),
    ("90402", "Nürnberg"),
]
DE_STREETS = ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Schillerstraße", "Industriestraße"]
LV_SURNAMES_M = [
    "Bērziņš",
    "Kalniņš",
    "Ozoliņš",
    "Jansons",
    "Liepiņš",
    "Krūmiņš",
    "Balodis",
    "Zariņš",
    "Pētersons",
]
LV_SURNAMES_F = [
    "Bērziņa",
    "Kalniņa",
    "Ozoliņa",
    "Jansone",
    "Liepiņa",
    "Krūmiņa",
    "Balode",
    "Zariņa",
    "Pētersone",
]
LV_FIRST_M = ["Jānis", "Andris", "Māris", "Edgars", "Kārlis", "Artūrs"]
LV_FIRST_F = ["Anna", "Līga", "Ilze", "Inese", "Kristīne", "Laura"]
LV_FIRMS = [
    "Ozols",
    "Dzintars",
    "Baltic Trade",
    "Saule",
    "Rīgas Koks",
    "Vidzemes Piens",
    "Kurzemes Būve",
    "Daugava",
]
LV_CITIES = [("LV-1050", "Rīga"), ("LV-3001", "Jelgava"), ("LV-5401", "Daugavpils"), ("LV-3401", "Liepāja")]
LV_STREETS = ["Brīvības iela", "Elizabetes iela", "Lāčplēša iela", "Krasta iela", "Dzirnavu iela"]

# Payment habits: (share of debtors, probability an invoice is paid, days late range when paid, chance of a part-payment)
HABITS = {
    "punctual": (0.45, 1.0, (-5, 2), 0.0),
    "slow": (0.30, 0.98, (3, 25), 0.15),
    "late": (0.18, 0.9, (15, 60), 0.25),
    "bad": (0.07, 0.4, (40, 120), 0.4),
}


@dataclass
class DemoSummary:
    company: Company
    debtors: int
    invoices: int
    start: date
    end: date
    steps: Counter[int] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)
    letters_pdf: str = ""
    letters_printed: int = 0
    audit: str = ""  # the audit of every message written, one line
    warnings: set[str] = field(default_factory=set)
    messages: int = 0
    collected_minor: int = 0
    overdue_minor: int = 0
    open_minor: int = 0


def _habit(rng: random.Random) -> str:
    roll, acc = rng.random(), 0.0
    for name, (share, *_rest) in HABITS.items():
        acc += share
        if roll < acc:
            return name
    return "punctual"


def _preferred_channel(rng: random.Random) -> str:
    roll = rng.random()
    return "sms" if roll < 0.08 else "letter" if roll < 0.15 else "email"


def _slugify(name: str) -> str:
    table = str.maketrans("äöüßāčēģīķļņšūž &", "aousacegiklnsuz--")
    return "".join(ch for ch in name.lower().translate(table) if ch.isalnum() or ch == "-").strip("-")[:40]


def make_company(slug: str = DEMO_SLUG) -> Company:
    company = Company(
        slug=slug,
        name="Muster Werkzeughandel GmbH",
        street="Industriestraße 12",
        postcode="10115",
        city="Berlin",
        country="DE",
        email="buchhaltung@muster-werkzeug.example",
        phone="+49 30 1234567",
        collections_email="forderungen@muster-werkzeug.example",
        collections_phone="+49 30 1234567-20",
        sms_sender="MusterWerkz",
        legal_form="GmbH",
        register_court="Amtsgericht Charlottenburg",
        register_number="HRB 123456 B",
        managing_directors="Anna Muster, Jonas Keller",
        vat_id="DE123456789",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        jurisdiction="DE",
        time_zone="Europe/Berlin",
        default_language="de",
        currency="EUR",
    )
    company.full_clean()
    company.save()
    # The German business preset: three emails, a call before the final notice, the final notice by post.
    create_preset_playbook(company, "de-b2b", name="Standard", default=True)
    return company


def make_debtors(company: Company, count: int, rng: random.Random) -> list[tuple[Debtor, str]]:
    debtors: list[tuple[Debtor, str]] = []
    for n in range(count):
        latvian = rng.random() < 0.35
        consumer = rng.random() < 0.25
        if latvian:
            female = rng.random() < 0.5
            person = f"{rng.choice(LV_FIRST_F if female else LV_FIRST_M)} {rng.choice(LV_SURNAMES_F if female else LV_SURNAMES_M)}"
            name = person if consumer else f'SIA "{rng.choice(LV_FIRMS)} {n + 1}"'
            postcode, city = rng.choice(LV_CITIES)
            street = f"{rng.choice(LV_STREETS)} {rng.randint(1, 120)}"
            language, jurisdiction, country, tz = "lv", "LV", "LV", "Europe/Riga"
        else:
            surname = rng.choice(DE_SURNAMES)
            person = f"{rng.choice(DE_FIRST)} {surname}"
            name = (
                person
                if consumer
                else f"{rng.choice(DE_TRADES)} {surname} {rng.choice(['GmbH', 'KG', 'e.K.', 'GmbH & Co. KG'])}"
            )
            postcode, city = rng.choice(DE_CITIES)
            street = f"{rng.choice(DE_STREETS)} {rng.randint(1, 200)}"
            language, jurisdiction, country, tz = "de", "DE", "DE", "Europe/Berlin"
        if rng.random() < 0.05:
            language = "en"
        debtor = Debtor(
            company=company,
            number=f"K{10001 + n}",
            name=name,
            kind=DebtorKind.CONSUMER if consumer else DebtorKind.BUSINESS,
            language=language,
            jurisdiction=jurisdiction,
            time_zone=tz,
            street=street,
            postcode=postcode,
            city=city,
            country=country,
            preferred_channel=_preferred_channel(rng),
        )
        debtors.append((debtor, _habit(rng)))
    Debtor.objects.bulk_create([d for d, _ in debtors], batch_size=1000)
    contacts = []
    for debtor, _habit_name in debtors:
        if rng.random() < 0.04:
            continue  # no email address on file: the run records that it could not write
        contacts.append(
            Contact(
                debtor=debtor,
                kind=ContactKind.EMAIL,
                value=f"rechnung@{_slugify(debtor.name) or 'kunde'}-{debtor.number.lower()}.example",
                is_primary=True,
            )
        )
        if debtor.preferred_channel == "sms" or rng.random() < 0.6:
            contacts.append(
                Contact(
                    debtor=debtor,
                    kind=ContactKind.PHONE,
                    value=f"+{49 if debtor.country == 'DE' else 371} {rng.randint(1000000, 99999999)}",
                    is_primary=True,
                )
            )
    Contact.objects.bulk_create(contacts, batch_size=1000)
    return debtors


def plan_invoices(
    company: Company,
    debtors: list[tuple[Debtor, str]],
    count: int,
    start: date,
    end: date,
    rng: random.Random,
) -> tuple[list[Invoice], list[Receipt]]:
    """Invoices issued over the 150 days before ``end``, and the payments their debtors will make (some later)."""
    invoices: list[Invoice] = []
    receipts: list[Receipt] = []
    for n in range(count):
        debtor, habit = debtors[rng.randrange(len(debtors))]
        issue = end - timedelta(days=rng.randint(0, 150))
        terms = rng.choice([14, 14, 30, 30, 30])
        due = issue + timedelta(days=terms)
        amount = max(1500, int(rng.lognormvariate(11.0, 1.0)))  # cents; median about 600 EUR
        amount = min(amount, 5_000_000)
        number = f"RE-{issue.year}-{n + 1:05d}"
        invoices.append(
            Invoice(
                company=company,
                debtor=debtor,
                number=number,
                issue_date=issue,
                due_date=due,
                amount_minor=amount,
                open_minor=amount,
                currency="EUR",
                reference=number,
            )
        )
        _share, pays, (low, high), part_chance = HABITS[habit]
        if rng.random() > pays:
            continue
        paid_on = max(issue, due + timedelta(days=rng.randint(low, high)))
        if rng.random() < part_chance:
            first = amount * rng.choice([30, 40, 50]) // 100
            first_on = min(paid_on, due + timedelta(days=rng.randint(0, 10)))
            receipts.append(Receipt(debtor.pk, first, "EUR", max(issue, first_on), number, debtor.name))
            amount -= first
        receipts.append(Receipt(debtor.pk, amount, "EUR", paid_on, number, debtor.name))
    return invoices, receipts


def build_demo(
    debtor_count: int = 300,
    invoice_count: int = 3000,
    days: int = 60,
    seed: int = 2026,
    today: date | None = None,
    echo: bool = False,
) -> DemoSummary:
    """Replace the demo company and replay the last ``days`` days: payments arrive, the run goes daily."""
    with transaction.atomic():
        # the rows that protect what the company takes with it go first: the payments naming an invoice
        # (Payment.invoice) and the actions naming a playbook step (Action.playbook, Action.step)
        Action.objects.filter(company__slug=DEMO_SLUG).delete()
        Payment.objects.filter(company__slug=DEMO_SLUG).delete()
        Company.objects.filter(slug=DEMO_SLUG).delete()
    shutil.rmtree(settings.OUTBOX_DIR / DEMO_SLUG, ignore_errors=True)
    rng = random.Random(seed)
    company = make_company()
    end = today or company_today(company)
    start = end - timedelta(days=days)
    debtors = make_debtors(company, debtor_count, rng)
    invoices, receipts = plan_invoices(company, debtors, invoice_count, start, end, rng)
    invoice_ids = {}
    with transaction.atomic():
        for inv in create_invoices(company, invoices, actor="demo", business_date=end - timedelta(days=150)):
            invoice_ids[inv.number] = inv.pk
    earlier = [r for r in receipts if r.value_date < start]
    record_payments(company, earlier, actor="demo")
    summary = DemoSummary(company, len(debtors), len(invoices), start, end)
    by_day: dict[date, list[Receipt]] = {}
    for r in receipts:
        if start <= r.value_date <= end:
            by_day.setdefault(r.value_date, []).append(r)
    from mahnwerk.comms.letters_batch import print_letters

    day = start
    while day <= end:
        todays = by_day.get(day, [])
        if todays:
            record_payments(company, todays, actor="bank import")
            summary.collected_minor += sum(r.amount_minor for r in todays)
        # the demo's clerk approves each day's run: messages held for a missing interest rate go out and
        # claim interest up to the last known rate, saying so (its warnings list what is missing)
        result = run_collection(company, day, approved=True)
        summary.warnings.update(result.warnings)
        batch = print_letters(company, day)  # the day's letters go to the post that day
        if batch.path is not None:
            summary.letters_pdf = str(batch.path)
            summary.letters_printed += batch.letters
        if echo and result.actions_created:
            print(
                f"  {day.isoformat()}: {len(todays):3d} payment(s), {result.actions_created:3d} reminder(s)"
            )
        day += timedelta(days=1)
    for level in Action.objects.filter(company=company, status="active").values_list("level", flat=True):
        summary.steps[level] += 1
    from mahnwerk.comms.models import OutboundMessage

    for channel in OutboundMessage.objects.filter(company=company).values_list("channel", flat=True):
        summary.channels[channel] += 1
    # every message written: the steps' reminders, agreements' confirmations, thank-yous and statements
    summary.messages = sum(summary.channels.values())
    for kind in Task.objects.filter(company=company).values_list("kind", flat=True):
        summary.tasks[kind] += 1
    open_qs = Invoice.objects.filter(company=company, open_minor__gt=0)
    summary.open_minor = open_qs.aggregate(s=Sum("open_minor"))["s"] or 0
    summary.overdue_minor = open_qs.filter(due_date__lt=end).aggregate(s=Sum("open_minor"))["s"] or 0
    assert Payment.objects.filter(company=company).exists()
    # The audit of everything written: the careful clerk's rules, checked against the records.
    from django.utils.translation import gettext

    from mahnwerk.comms.audit import audit_messages

    audit = audit_messages(company)
    line = gettext("{count} violation(s) in {messages} message(s)").format(
        count=len(audit.violations), messages=audit.messages
    )
    if audit.violations:
        line += " (" + ", ".join(f"{rule} {n}" for rule, n in sorted(audit.by_rule.items())) + ")"
    summary.audit = line
    return summary


def demo_login(company: Company, username: str, password: str) -> None:
    """The demo's sign-in: an administrator of ``company`` (created, or its password set again)."""
    from django.contrib.auth import get_user_model

    from mahnwerk.web.models import Membership

    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first() or user_model(username=username)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    Membership.objects.update_or_create(user=user, company=company, defaults={"role": "admin"})
