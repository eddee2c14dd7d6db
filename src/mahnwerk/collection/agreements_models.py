"""Agreements and disputes: promises to pay, instalment plans, settlements, incentives, disputes.

Each agreement covers some of a debtor's invoices and has a deadline and a Plan B. The state
arithmetic is in :mod:`mahnwerk.core.agreements`; :mod:`mahnwerk.collection.agreements` is the
one writer. Imported at the bottom of :mod:`mahnwerk.collection.models`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mahnwerk.core.agreements import CostsMode, PlanPolicy
from mahnwerk.ledger.models import Company, CreditNote, Debtor, Invoice


class CostsModeChoice(models.TextChoices):
    FIRST = CostsMode.FIRST.value, _("settled with the first payment")
    FOLD = CostsMode.FOLD.value, _("folded into the instalments")


class AgreementPolicy(models.Model):
    """A company's rules for agreements. Debtor segments may bring their own limits later."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="agreement_policy")
    max_instalments = models.PositiveSmallIntegerField(_("maximum instalments"), default=6)
    min_down_payment_percent = models.PositiveSmallIntegerField(_("minimum down payment (%)"), default=10)
    max_duration_days = models.PositiveSmallIntegerField(_("maximum duration (days)"), default=180)
    promise_grace_days = models.PositiveSmallIntegerField(_("grace period for promises (days)"), default=3)
    plan_grace_days = models.PositiveSmallIntegerField(_("grace period for instalments (days)"), default=5)
    notice_days_before = models.PositiveSmallIntegerField(
        _("instalment notice (days before)"), default=3, help_text=_("0: no notice before the due date.")
    )
    overdue_days_after = models.PositiveSmallIntegerField(_("instalment reminder (days after)"), default=1)
    confirm_days = models.PositiveSmallIntegerField(_("days to confirm a plan"), default=14)
    costs_mode = models.CharField(
        _("interest and fees in a plan"),
        max_length=10,
        choices=CostsModeChoice.choices,
        default=CostsModeChoice.FIRST,
    )
    breach_deadline_days = models.PositiveSmallIntegerField(
        _("deadline after a broken plan (days)"), default=7
    )
    dispute_deadline_days = models.PositiveSmallIntegerField(
        _("deadline after a rejected dispute (days)"), default=10
    )
    promise_max_days = models.PositiveSmallIntegerField(
        _("furthest date ahead for agreements (days)"),
        default=90,
        help_text=_(
            "A promised date, a plan's first payment and the deadline of a settlement or an offer are at "
            "most this many days ahead."
        ),
    )
    plan_max_months = models.PositiveSmallIntegerField(
        _("longest instalment plan (months)"),
        default=36,
        help_text=_("The last instalment falls due at most this many months after the first payment."),
    )

    class Meta:
        verbose_name = _("agreement policy")
        verbose_name_plural = _("agreement policies")

    def plan_policy(self) -> PlanPolicy:
        return PlanPolicy(self.max_instalments, self.min_down_payment_percent, self.max_duration_days)


class Source(models.TextChoices):
    CLERK = "clerk", _("recorded by a clerk")
    DEBTOR = "debtor", _("by the debtor")


class PromiseStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    KEPT = "kept", _("Kept")
    PARTLY_KEPT = "partly_kept", _("Partly kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class Promise(models.Model):
    """A promise to pay an amount by a date for some invoices. Reminders pause until the date plus grace."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="promises")
    invoices = models.ManyToManyField(Invoice, related_name="promises")
    made_on = models.DateField(_("made on"))
    promised_date = models.DateField(_("promised date"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    grace_days = models.PositiveSmallIntegerField(_("grace period (days)"))
    fallback_level = models.PositiveSmallIntegerField(
        _("fallback step"), default=0, help_text=_("0: the next step of the playbook.")
    )
    status = models.CharField(max_length=12, choices=PromiseStatus.choices, default=PromiseStatus.PENDING)
    paid_minor = models.BigIntegerField(_("paid in time (minor units)"), default=0)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLERK)
    actor = models.CharField(_("recorded by"), max_length=100, default="system")
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="promise_amount_positive")
        ]
        indexes = [models.Index(fields=["company", "status"], name="promise_status_idx")]


class PlanStatusChoice(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    BREACHED = "breached", _("Breached")
    EXPIRED = "expired", _("Not confirmed in time")
    CANCELLED = "cancelled", _("Cancelled")


class InstalmentPlan(models.Model):
    """A repayment plan: an optional down payment and instalments, each with its own due date."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="instalment_plans")
    invoices = models.ManyToManyField(Invoice, related_name="instalment_plans")
    proposed_on = models.DateField(_("proposed on"))
    confirm_by = models.DateField(_("confirm by"))
    principal_minor = models.BigIntegerField(_("principal (minor units)"))
    costs_minor = models.BigIntegerField(_("interest and fees (minor units)"), default=0)
    costs_mode = models.CharField(
        max_length=10, choices=CostsModeChoice.choices, default=CostsModeChoice.FIRST
    )
    currency = models.CharField(_("currency"), max_length=3)
    down_payment_minor = models.BigIntegerField(_("down payment (minor units)"), default=0)
    count = models.PositiveSmallIntegerField(_("number of instalments"))
    interval_days = models.PositiveSmallIntegerField(_("interval (days)"), default=0)
    interval_months = models.PositiveSmallIntegerField(_("interval (months)"), default=0)
    grace_days = models.PositiveSmallIntegerField(_("grace period (days)"))
    resume_level = models.PositiveSmallIntegerField(
        _("resume at step"),
        default=0,
        help_text=_("Plan B: the step the playbook resumes at after a breach (0: the next step)."),
    )
    needs_approval = models.BooleanField(_("needs approval"), default=False)
    violations = models.CharField(_("outside the limits"), max_length=200, blank=True)
    approved_by = models.CharField(_("approved by"), max_length=100, blank=True)
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=PlanStatusChoice.choices, default=PlanStatusChoice.PROPOSED
    )
    confirmed_on = models.DateField(_("confirmed on"), null=True, blank=True)
    confirmed_by = models.CharField(_("confirmed by"), max_length=100, blank=True)
    paid_minor = models.BigIntegerField(_("paid (minor units)"), default=0)
    breached_on = models.DateField(_("breached on"), null=True, blank=True)
    resume_after = models.DateField(
        _("Plan B deadline"),
        null=True,
        blank=True,
        help_text=_("After a breach: the playbook resumes after it."),
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLERK)
    actor = models.CharField(_("proposed by"), max_length=100, default="system")
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("instalment plan")
        verbose_name_plural = _("instalment plans")
        indexes = [models.Index(fields=["company", "status"], name="plan_status_idx")]

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.costs_minor


class Instalment(models.Model):
    plan = models.ForeignKey(InstalmentPlan, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField(_("number"), help_text=_("0: the down payment."))
    due_date = models.DateField(_("due date"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    paid_minor = models.BigIntegerField(_("paid (minor units)"), default=0)
    notice_sent_on = models.DateField(_("notice sent on"), null=True, blank=True)
    overdue_sent_on = models.DateField(_("reminder sent on"), null=True, blank=True)

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="instalment_number_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="instalment_amount_positive"),
        ]


class OfferStatus(models.TextChoices):
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Paid in time and applied")
    LAPSED = "lapsed", _("Lapsed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Settlement(models.Model):
    """A reduced amount accepted if paid by a date; the rest is then written off with a credit note."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="settlements")
    invoices = models.ManyToManyField(Invoice, related_name="settlements")
    offered_on = models.DateField(_("offered on"))
    deadline = models.DateField(_("pay by"))
    amount_minor = models.BigIntegerField(_("settlement amount (minor units)"))
    open_at_offer_minor = models.BigIntegerField(_("open when offered (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OFFERED)
    paid_minor = models.BigIntegerField(_("paid in time (minor units)"), default=0)
    written_off_minor = models.BigIntegerField(_("written off (minor units)"), default=0)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    actor = models.CharField(_("offered by"), max_length=100, default="system")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0) & Q(amount_minor__lte=models.F("open_at_offer_minor")),
                name="settlement_amount_within_open",
            )
        ]
        indexes = [models.Index(fields=["company", "status"], name="settlement_status_idx")]


class IncentiveKind(models.TextChoices):
    WAIVE_FEES = "waive_fees", _("fees waived")
    WAIVE_INTEREST = "waive_interest", _("interest waived")
    DISCOUNT = "discount", _("discount")


class Incentive(models.Model):
    """A time-limited offer: paid in full by the deadline, the fees or interest are waived or a discount given."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="incentives")
    invoices = models.ManyToManyField(Invoice, related_name="incentives")
    kind = models.CharField(_("kind"), max_length=16, choices=IncentiveKind.choices)
    discount_minor = models.BigIntegerField(_("discount (minor units)"), default=0)
    offered_on = models.DateField(_("offered on"))
    deadline = models.DateField(_("pay by"))
    open_at_offer_minor = models.BigIntegerField(_("open when offered (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OFFERED)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    actor = models.CharField(_("offered by"), max_length=100, default="system")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("incentive")
        verbose_name_plural = _("incentives")
        indexes = [models.Index(fields=["company", "status"], name="incentive_status_idx")]

    @property
    def required_minor(self) -> int:
        """What must come in by the deadline for the offer to apply."""
        return self.open_at_offer_minor - self.discount_minor


class DisputeReason(models.TextChoices):
    # small issues
    WRONG_INVOICE = "wrong_invoice", _("Wrong invoice")
    PAYMENT_METHOD = "payment_method", _("Payment method")
    MISSING_DATA = "missing_data", _("Missing data")
    # big issues
    NOT_SATISFACTORY = "not_satisfactory", _("Goods or service not satisfactory")
    CANNOT_PAY = "cannot_pay", _("Cannot pay now")
    OTHER = "other", _("Other")


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CORRECTED = "corrected", _("Corrected")
    REJECTED = "rejected", _("Rejected")
    PARTLY = "partly", _("Partly corrected")


class Dispute(models.Model):
    """An objection to an invoice or a part of it. The item is on hold while the dispute is open."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="disputes")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="disputes")
    amount_minor = models.BigIntegerField(
        _("disputed amount (minor units)"), null=True, blank=True, help_text=_("Empty: the whole item.")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=DisputeReason.choices)
    notes = models.TextField(_("notes"), blank=True)
    opened_on = models.DateField(_("opened on"))
    status = models.CharField(max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True, help_text=_("Told to the debtor."))
    resume_on = models.DateField(
        _("new deadline"), null=True, blank=True, help_text=_("Reminders resume after this day.")
    )
    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLERK)
    actor = models.CharField(_("opened by"), max_length=100, default="system")
    resolved_by = models.CharField(_("resolved by"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__isnull=True) | Q(amount_minor__gt=0), name="dispute_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(status="open"), name="one_open_dispute_per_invoice"
            ),
        ]
        indexes = [models.Index(fields=["company", "status"], name="dispute_status_idx")]
