"""A year of collection, simulated day by day: the proving ground of the audit.

``simulate`` builds a company with business and consumer debtors in Germany and Latvia (German, Latvian and
English speakers; some without an email address, so letters go out; some preferring SMS), issues invoices
through the period and replays it one business date at a time, through the same service functions a real
installation uses: invoices (``ledger.services.create_invoices``), bank payments
(``ledger.services.record_payments``: exact, partial, over, late, a few cents short, and payments that arrive
while the run is between its decision and its write), agreements and disputes
(``collection.agreements``: promises kept and broken, instalment plans kept and breached, disputes corrected
and rejected, settlement and incentive offers), call outcomes, hard bounces (``comms.inbound``), the daily
run (``collection.services.run_collection``) and the daily print batch of letters.

Deterministic for a seed (the database ids aside). ``mahnwerk.comms.audit.audit_messages`` is then
asked whether any message broke the careful clerk's rules.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from django.db.models import Sum

from mahnwerk.collection import agreements
from mahnwerk.collection import services as run_module
from mahnwerk.collection.agreements import AgreementError
from mahnwerk.collection.agreements_models import (
    Dispute,
    DisputeStatus,
    Incentive,
    InstalmentPlan,
    PlanStatusChoice,
    Promise,
    Settlement,
)
from mahnwerk.collection.models import Task, TaskKind, TaskStatus
from mahnwerk.collection.services import run_collection
from mahnwerk.comms.models import MessageStatus, OutboundMessage
from mahnwerk.ledger.models import Company, Contact, ContactKind, Debtor, DebtorKind, Invoice
from mahnwerk.ledger.services import Receipt, create_invoices, record_payments

START = date(2025, 6, 2)  # a Monday; the packaged rate tables cover the year that follows

# Every kind of event the simulation is meant to exercise (``SimulationResult.events`` counts them).
EVENT_KINDS = (
    "invoice_issued",
    "payment_exact",
    "payment_partial",
    "payment_over",
    "payment_late",
    "payment_short",
    "payment_during_run",
    "promise_recorded",
    "promise_kept",
    "promise_broken",
    "plan_proposed",
    "plan_confirmed",
    "plan_completed",
    "plan_breached",
    "dispute_opened",
    "dispute_corrected",
    "dispute_rejected",
    "settlement_offered",
    "incentive_offered",
    "call_done",
    "hard_bounce",
    "letter_printed",
    "sms_sent",
    "email_sent",
)

FIRST = {
    "de": ["Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Laura", "Paul"],
    "lv": ["Jānis", "Līga", "Andris", "Ilze", "Māris", "Kristīne", "Edgars", "Inese"],
}
LAST = {
    "de": ["Müller", "Schmidt", "Fischer", "Weber", "Wagner", "Becker", "Hoffmann", "Schäfer"],
    "lv": ["Bērziņš", "Kalniņa", "Ozoliņš", "Jansone", "Liepiņš", "Krūmiņa", "Balodis", "Zariņa"],
}
CITIES = {
    "DE": [("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("04109", "Leipzig")],
    "LV": [("LV-1050", "Rīga"), ("LV-3001", "Jelgava"), ("LV-3401", "Liepāja")],
}
STREETS = {"DE": ["Hauptstraße", "Gartenweg", "Lindenallee"], "LV": ["Brīvības iela", "Krasta iela"]}

# How a debtor pays: (share, probability an invoice is paid at all, days late when paid)
HABITS = {
    "punctual": (0.40, 1.0, (-6, 1)),
    "slow": (0.30, 0.98, (3, 30)),
    "late": (0.20, 0.92, (20, 75)),
    "bad": (0.10, 0.45, (45, 160)),
}


@dataclass
class SimulationResult:
    company: Company
    start: date
    end: date
    debtors: int
    invoices: int = 0
    runs: int = 0
    seconds: float = 0.0
    events: Counter[str] = field(default_factory=Counter)
    outcomes: dict[str, int] = field(default_factory=dict)  # what the database says at the end

    def missing_kinds(self) -> list[str]:
        return [kind for kind in EVENT_KINDS if not self.events[kind]]


@dataclass
class _Debtor:
    debtor: Debtor
    habit: str


@dataclass
class _Plan:
    """What a debtor will pay: receipts by day (the simulation changes them as agreements are made)."""

    receipts: dict[date, list[tuple[Receipt, str]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, day: date, receipt: Receipt, kind: str) -> None:
        self.receipts[day].append((receipt, kind))

    def drop(self, invoice_ids: set[int], after: date) -> None:
        """Forget the payments planned for these invoices after ``after`` (an agreement replaces them)."""
        for day in [d for d in self.receipts if d > after]:
            self.receipts[day] = [(r, k) for r, k in self.receipts[day] if r.invoice_id not in invoice_ids]


class Simulation:
    def __init__(
        self,
        debtors: int,
        days: int,
        seed: int,
        start: date,
        slug: str,
        *,
        print_letters: bool = True,
        render_pdfs: bool = True,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.days = days
        self.start = start
        self.end = start + timedelta(days=days - 1)
        self.slug = slug
        self.print = print_letters
        self.render_pdfs = render_pdfs
        self.echo = echo
        self.plan = _Plan()
        self.later: dict[date, list[Callable[[date], None]]] = defaultdict(list)
        self.invoice_no = 0
        self.company = self._company()
        self.debtors = self._debtors(debtors)
        self.result = SimulationResult(self.company, start, self.end, len(self.debtors))

    # --- set-up ---------------------------------------------------------------------------------------

    def _company(self) -> Company:
        from mahnwerk.demo import make_company

        if Company.objects.filter(slug=self.slug).exists():
            raise ValueError(f"a company {self.slug!r} exists already: simulate into a fresh database")
        company = make_company(self.slug)
        company.name = "Simulated Werkzeughandel GmbH"
        company.save(update_fields=["name"])
        agreements.policy_for(company)
        return company

    def _debtors(self, count: int) -> list[_Debtor]:
        rng = self.rng
        made: list[_Debtor] = []
        for n in range(count):
            country = "LV" if rng.random() < 0.35 else "DE"
            language = {"LV": "lv", "DE": "de"}[country] if rng.random() > 0.1 else "en"
            consumer = rng.random() < 0.3
            names = "lv" if country == "LV" else "de"
            person = f"{rng.choice(FIRST[names])} {rng.choice(LAST[names])}"
            postcode, city = rng.choice(CITIES[country])
            roll = rng.random()
            preferred = "sms" if roll < 0.06 else "letter" if roll < 0.12 else ""
            made.append(
                _Debtor(
                    Debtor(
                        company=self.company,
                        number=f"S{20001 + n}",
                        name=person if consumer else f"{person} {'SIA' if country == 'LV' else 'GmbH'}",
                        kind=DebtorKind.CONSUMER if consumer else DebtorKind.BUSINESS,
                        language=language,
                        jurisdiction=country,
                        time_zone="Europe/Riga" if country == "LV" else "Europe/Berlin",
                        street=f"{rng.choice(STREETS[country])} {rng.randint(1, 99)}",
                        postcode=postcode,
                        city=city,
                        country=country,
                        preferred_channel=preferred,
                    ),
                    self._habit(),
                )
            )
        Debtor.objects.bulk_create([d.debtor for d in made], batch_size=1000)
        contacts = []
        for d in made:
            if self.rng.random() >= 0.12:  # the others have no email address: letters
                contacts.append(
                    Contact(
                        debtor=d.debtor,
                        kind=ContactKind.EMAIL,
                        value=f"ap@{d.debtor.number.lower()}.example",
                        is_primary=True,
                    )
                )
            if d.debtor.preferred_channel == "sms" or self.rng.random() < 0.4:
                prefix = "+371 2" if d.debtor.country == "LV" else "+49 151 "
                contacts.append(
                    Contact(
                        debtor=d.debtor,
                        kind=ContactKind.PHONE,
                        value=f"{prefix}{self.rng.randint(1000000, 9999999)}",
                        is_primary=True,
                    )
                )
        Contact.objects.bulk_create(contacts, batch_size=1000)
        return made

    def _habit(self) -> str:
        roll, acc = self.rng.random(), 0.0
        for name, (share, *_rest) in HABITS.items():
            acc += share
            if roll < acc:
                return name
        return "punctual"

    # --- invoices and their payments --------------------------------------------------------------------

    def _issue(self, day: date, backlog: bool = False) -> None:
        """Today's invoices (each debtor about one a month), with the payments their debtors will make."""
        rng = self.rng
        new: list[tuple[Invoice, _Debtor]] = []
        for d in self.debtors:
            if rng.random() >= (0.5 if backlog else 1 / 30):
                continue
            issue = day - timedelta(days=rng.randint(10, 70)) if backlog else day
            self.invoice_no += 1
            number = f"SIM-{self.invoice_no:06d}"
            amount = min(max(900, int(rng.lognormvariate(10.4, 1.0))), 3_000_000)
            if rng.random() < 0.05:
                amount = rng.randint(150, 600)  # a small invoice: below the minimums once partly paid
            terms = rng.choice([14, 14, 30])
            new.append(
                (
                    Invoice(
                        company=self.company,
                        debtor=d.debtor,
                        number=number,
                        issue_date=issue,
                        due_date=issue + timedelta(days=terms),
                        amount_minor=amount,
                        open_minor=amount,
                        currency="EUR",
                        reference=number,
                    ),
                    d,
                )
            )
        if not new:
            return
        created = create_invoices(
            self.company, [inv for inv, _ in new], actor="simulation", business_date=day
        )
        self.result.events["invoice_issued"] += len(created)
        self.result.invoices += len(created)
        for inv, (_unused, d) in zip(created, new, strict=True):
            self._fate(inv, d, day)

    def _fate(self, inv: Invoice, d: _Debtor, today: date) -> None:
        """Plan the payments of a new invoice according to its debtor's habit."""
        rng = self.rng
        _share, pays, (low, high) = HABITS[d.habit]
        if rng.random() > pays:
            return  # never paid (unless an agreement changes that)
        paid_on = max(today, inv.due_date + timedelta(days=rng.randint(low, high)))
        late = paid_on > inv.due_date
        roll = rng.random()

        def receipt(amount: int, on: date, kind: str) -> None:
            self.plan.add(
                on,
                Receipt(d.debtor.pk, amount, "EUR", on, inv.number, d.debtor.name, invoice_id=inv.pk),
                kind,
            )

        if roll < 0.15:
            first = inv.amount_minor * rng.choice([30, 50, 70]) // 100
            first_on = max(today, min(paid_on, inv.due_date + timedelta(days=rng.randint(-3, 12))))
            receipt(first, first_on, "payment_partial")
            if rng.random() < 0.7:
                receipt(inv.amount_minor - first, max(paid_on, first_on), "payment_late")
        elif roll < 0.22:
            receipt(inv.amount_minor - rng.randint(1, 95), paid_on, "payment_short")  # cents short
        elif roll < 0.27:
            receipt(inv.amount_minor + rng.choice([500, 1000, 2500]), paid_on, "payment_over")
        else:
            receipt(inv.amount_minor, paid_on, "payment_late" if late else "payment_exact")

    def _bank(self, day: date) -> None:
        todays = self.plan.receipts.pop(day, [])
        if not todays:
            return
        # a late payment may arrive with a value date a day or two earlier (the bank statement comes late)
        receipts = [
            replace(r, value_date=max(self.start, day - timedelta(days=self.rng.choice([0, 0, 1, 2]))))
            if kind == "payment_late"
            else r
            for r, kind in todays
        ]
        record_payments(self.company, receipts, actor="bank import")
        for _r, kind in todays:
            self.result.events[kind] += 1

    # --- during the run ---------------------------------------------------------------------------------

    def _pay_during_run(self, ctx: Any, chunk: Sequence[Any]) -> None:
        """Between the run's decision and its write: a debtor of the chunk pays one of its items."""
        if not chunk or self.rng.random() >= 0.35:
            return
        decision = self.rng.choice(list(chunk))
        if not decision.items:
            return
        item = self.rng.choice(list(decision.items))
        inv = Invoice.objects.filter(pk=item.invoice_id).values_list("open_minor", "number").first()
        if inv is None or inv[0] <= 0:
            return
        amount = inv[0] if self.rng.random() < 0.6 else max(1, inv[0] // 2)
        record_payments(
            self.company,
            [Receipt(decision.debtor_id, amount, "EUR", ctx.as_of, inv[1], invoice_id=item.invoice_id)],
            actor="bank import",
        )
        self.result.events["payment_during_run"] += 1
        if amount == inv[0]:
            self.plan.drop({item.invoice_id}, ctx.as_of)

    @contextmanager
    def _hook(self) -> Iterator[None]:
        """Pay while the run is between decision and write: the run's hook if it has one, else a wrapper
        around its chunk writer (the way the crash tests replace it)."""
        if hasattr(run_module, "after_decide"):
            saved = run_module.after_decide
            run_module.after_decide = self._pay_during_run
            try:
                yield
            finally:
                run_module.after_decide = saved
            return
        real = run_module.write_chunk

        def write(ctx: Any, chunk: Sequence[Any]) -> tuple[int, int, int]:
            self._pay_during_run(ctx, chunk)
            return real(ctx, chunk)

        run_module.write_chunk = write
        try:
            yield
        finally:
            run_module.write_chunk = real

    @contextmanager
    def _pdfs(self) -> Iterator[None]:
        """Without ``render_pdfs``: letters (printed, or attached to an email like a plan's written agreement)
        are rendered as HTML only and stored as a stub PDF, and reminders by email go without a PDF letter
        (Pango's layout is the slowest part of a year by far)."""
        if self.render_pdfs:
            yield
            return
        from django.test import override_settings

        from mahnwerk.comms import letters

        real = letters.render_print_batch, letters.render_letter_pdf

        def batch(contexts: Sequence[Any], **kwargs: Any) -> bytes:
            keep = kwargs.get("keep")
            for index, ctx in enumerate(contexts):
                letters.render_letter_html(ctx)
                if keep is not None:
                    keep(index, STUB_PDF)
            return STUB_PDF

        def single(ctx: Any) -> bytes:
            letters.render_letter_html(ctx)
            return STUB_PDF

        letters.render_print_batch, letters.render_letter_pdf = batch, single
        try:
            with override_settings(EMAIL_PDF="none"):
                yield
        finally:
            letters.render_print_batch, letters.render_letter_pdf = real

    # --- agreements, disputes, calls ---------------------------------------------------------------------

    def _overdue(self, day: date, limit: int) -> dict[int, list[Invoice]]:
        rows = Invoice.objects.filter(
            company=self.company, open_minor__gt=500, due_date__lt=day - timedelta(days=5), on_hold=False
        ).order_by("debtor_id", "due_date", "id")
        found: dict[int, list[Invoice]] = defaultdict(list)
        for inv in rows:
            found[inv.debtor_id].append(inv)
        ids = sorted(found)
        self.rng.shuffle(ids)
        return {pk: found[pk] for pk in ids[:limit]}

    def _agree(self, day: date) -> None:
        rng = self.rng
        scale = max(1, len(self.debtors) // 60)
        candidates = self._overdue(day, 6 * scale)
        debtors = {d.debtor.pk: d.debtor for d in self.debtors}
        for debtor_id, items in candidates.items():
            debtor = debtors[debtor_id]
            roll = rng.random()
            try:
                if roll < 0.04:
                    self._promise(day, debtor, items)
                elif roll < 0.06:
                    self._plan(day, debtor, items)
                elif roll < 0.08:
                    self._dispute(day, items[0])
                elif roll < 0.09:
                    self._settlement(day, debtor, items)
                elif roll < 0.10:
                    self._incentive(day, debtor, items)
            except AgreementError:
                continue  # already covered by another agreement: the next debtor

    def _promise(self, day: date, debtor: Debtor, items: list[Invoice]) -> None:
        promised = day + timedelta(days=self.rng.randint(3, 14))
        promise = agreements.record_promise(
            self.company, debtor, items, promised, actor="simulation", as_of=day
        )
        self.result.events["promise_recorded"] += 1
        ids = {inv.pk for inv in items}
        if self.rng.random() < 0.6:
            self.plan.drop(ids, day)
            on = promised - timedelta(days=self.rng.randint(0, 2))
            self.plan.add(
                max(on, day + timedelta(days=1)),
                Receipt(
                    debtor.pk,
                    promise.amount_minor,
                    "EUR",
                    max(on, day + timedelta(days=1)),
                    items[0].number,
                    invoice_id=items[0].pk,
                ),
                "promise_kept",
            )
        else:
            self.result.events["promise_broken"] += 1

    def _plan(self, day: date, debtor: Debtor, items: list[Invoice]) -> None:
        plan = agreements.propose_plan(
            self.company, debtor, items, 3, interval_days=14, actor="simulation", as_of=day
        )
        self.result.events["plan_proposed"] += 1
        if plan.approved_on is None:
            agreements.approve_plan(self.company, plan, actor="simulation", as_of=day)
        keep = self.rng.random() < 0.6
        ids = {inv.pk for inv in items}
        self.plan.drop(ids, day)

        def confirm(on: date) -> None:
            current = InstalmentPlan.objects.get(pk=plan.pk)
            if current.status != PlanStatusChoice.PROPOSED:
                return
            try:
                agreements.confirm_plan(self.company, current, as_of=on)
            except AgreementError:
                return
            self.result.events["plan_confirmed"] += 1
            for n, inst in enumerate(current.instalments.order_by("number")):
                if not keep and n >= 1:
                    break  # stops paying after the first payment: breached
                pay_on = max(on + timedelta(days=1), inst.due_date - timedelta(days=self.rng.randint(0, 2)))
                self.plan.add(
                    pay_on,
                    Receipt(
                        debtor.pk, inst.amount_minor, "EUR", pay_on, items[0].number, invoice_id=items[0].pk
                    ),
                    "payment_exact",
                )

        self.later[day + timedelta(days=self.rng.randint(1, 5))].append(confirm)

    def _dispute(self, day: date, invoice: Invoice) -> None:
        dispute = agreements.open_dispute(
            self.company, invoice, "wrong_invoice", notes="simulated", actor="simulation", as_of=day
        )
        self.result.events["dispute_opened"] += 1
        corrected = self.rng.random() < 0.5
        if corrected:
            self.plan.drop({invoice.pk}, day)

        def resolve(on: date) -> None:
            current = Dispute.objects.get(pk=dispute.pk)
            if current.status != DisputeStatus.OPEN:
                return
            outcome = "corrected" if corrected else "rejected"
            agreements.resolve_dispute(
                self.company, current, outcome, resolution="checked", actor="simulation", as_of=on
            )
            self.result.events[f"dispute_{outcome}"] += 1

        self.later[day + timedelta(days=self.rng.randint(4, 20))].append(resolve)

    def _settlement(self, day: date, debtor: Debtor, items: list[Invoice]) -> None:
        total = sum(inv.open_minor for inv in items)
        deadline = day + timedelta(days=14)
        offer = agreements.offer_settlement(
            self.company, debtor, items, total * 8 // 10, deadline, reason="hardship", as_of=day
        )
        self.result.events["settlement_offered"] += 1
        if self.rng.random() < 0.5:
            self.plan.drop({inv.pk for inv in items}, day)
            on = day + timedelta(days=self.rng.randint(2, 12))
            self.plan.add(
                on,
                Receipt(debtor.pk, offer.amount_minor, "EUR", on, items[0].number, invoice_id=items[0].pk),
                "payment_exact",
            )

    def _incentive(self, day: date, debtor: Debtor, items: list[Invoice]) -> None:
        deadline = day + timedelta(days=10)
        agreements.offer_incentive(self.company, debtor, items, "waive_fees", deadline, as_of=day)
        self.result.events["incentive_offered"] += 1

    def _calls(self, day: date) -> None:
        """The collector works through the call tasks due: some reached, some not, some promise."""
        from mahnwerk.collection.calls import CallError, record_call_outcome

        for task in Task.objects.filter(
            company=self.company, kind=TaskKind.CALL, status=TaskStatus.OPEN, due_on__lte=day
        ).select_related("company", "debtor", "action"):
            outcome = self.rng.choice(["reached", "not_reached", "refused", "promised"])
            try:
                record_call_outcome(
                    task,
                    outcome,
                    promised_on=day + timedelta(days=7) if outcome == "promised" else None,
                    actor="simulation",
                    as_of=day,
                )
            except (CallError, AgreementError):
                continue
            self.result.events["call_done"] += 1

    # --- after the run ------------------------------------------------------------------------------------

    def _bounces(self, day: date) -> None:
        """A few of today's emails come back: unknown user."""
        from mahnwerk.comms.inbound import process_inbound

        sent = list(
            OutboundMessage.objects.filter(
                company=self.company,
                channel="email",
                status=MessageStatus.SENT,
                action__isnull=False,
                business_date=day,
            ).values_list("message_id", "recipient")
        )
        for message_id, recipient in sent:
            if self.rng.random() >= 0.02:
                continue
            result = process_inbound(_dsn(message_id, recipient))
            if result.kind == "hard_bounce":
                self.result.events["hard_bounce"] += 1

    def _letters(self, day: date) -> None:
        if not self.print:
            return
        from mahnwerk.comms.letters_batch import print_letters

        batch = print_letters(self.company, day)
        self.result.events["letter_printed"] += batch.letters

    # --- the year --------------------------------------------------------------------------------------

    def run(self) -> SimulationResult:
        started = time.perf_counter()
        self._issue(self.start, backlog=True)
        chunk = max(25, len(self.debtors) // 5)
        with self._hook(), self._pdfs():
            for offset in range(self.days):
                day = self.start + timedelta(days=offset)
                if offset:
                    self._issue(day)
                self._bank(day)
                for action in self.later.pop(day, []):
                    try:
                        action(day)
                    except AgreementError:
                        continue
                self._agree(day)
                self._calls(day)
                outcome = run_collection(self.company, day, send=True, chunk_size=chunk)
                self.result.runs += 1
                self._letters(day)
                self._bounces(day)
                if self.echo:
                    self.echo(
                        f"{day.isoformat()}: {outcome.actions_created} action(s), "
                        f"{outcome.messages_queued} message(s), {outcome.agreement_messages} agreement message(s)"
                    )
        self.result.seconds = time.perf_counter() - started
        self._outcomes()
        return self.result

    def _outcomes(self) -> None:
        company = self.company
        events = self.result.events
        statuses = Counter(Promise.objects.filter(company=company).values_list("status", flat=True))
        events["promise_kept"] = statuses["kept"]
        events["promise_broken"] = statuses["broken"] + statuses["partly_kept"]
        plans = Counter(InstalmentPlan.objects.filter(company=company).values_list("status", flat=True))
        events["plan_completed"] = plans["completed"]
        events["plan_breached"] = plans["breached"]
        channels = Counter(
            OutboundMessage.objects.filter(company=company, status=MessageStatus.SENT).values_list(
                "channel", flat=True
            )
        )
        events["sms_sent"] = channels["sms"]
        events["email_sent"] = channels["email"]
        self.result.outcomes = {
            "messages": OutboundMessage.objects.filter(company=company).exclude(status="cancelled").count(),
            "cancelled": OutboundMessage.objects.filter(company=company, status="cancelled").count(),
            "settlements": Settlement.objects.filter(company=company).count(),
            "incentives": Incentive.objects.filter(company=company).count(),
            "open_minor": Invoice.objects.filter(company=company).aggregate(s=Sum("open_minor"))["s"] or 0,
        }


STUB_PDF = b"%PDF-1.4\n% letter rendered as HTML only (simulation without PDFs)\n%%EOF\n"


def _dsn(message_id: str, recipient: str) -> bytes:
    """A delivery status notification: the message could not be delivered (5.1.1 user unknown)."""
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: noreply@localhost\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\r\n\r\n'
        "--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n"
        "--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--BOUNDARY\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\nTo: {recipient}\r\n\r\n"
        "--BOUNDARY--\r\n"
    ).encode()


def simulate(
    debtors: int = 150,
    days: int = 120,
    seed: int = 7,
    start: date = START,
    slug: str = "sim",
    *,
    print_letters: bool = True,
    render_pdfs: bool = True,
    echo: Callable[[str], None] | None = None,
) -> SimulationResult:
    """Build the company ``slug`` (there must be none of that name) and replay ``days`` days from ``start``.

    ``print_letters``: run the daily print batch; ``render_pdfs``: render letters and PDF attachments for
    real (without: HTML only, much faster)."""
    return Simulation(
        debtors, days, seed, start, slug, print_letters=print_letters, render_pdfs=render_pdfs, echo=echo
    ).run()
