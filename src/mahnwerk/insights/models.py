"""Customer insights stored per company: editable segment rules, rating thresholds, the latest
behaviour profile and segment of each debtor, and the latest payment prediction of each open invoice.

The figures are computed by :mod:`mahnwerk.core.behaviour` and :mod:`mahnwerk.core.prediction`
(``insights.services``); these tables keep the result so that lists can filter and sort by it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mahnwerk.core.behaviour import (
    RatingThresholds,
    RuleError,
    SegmentPolicy,
    SegmentRule,
    parse_condition,
    validate_rules,
)
from mahnwerk.insights.reasons import render_reason
from mahnwerk.ledger.models import Company, Debtor, Invoice


class SegmentRuleRow(models.Model):
    """One segment of a company, in order: the first rule whose condition holds decides.

    A company without rows uses :data:`mahnwerk.core.behaviour.DEFAULT_SEGMENT_RULES`.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="segment_rules")
    order = models.PositiveSmallIntegerField(_("order"))
    key = models.SlugField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    condition = models.TextField(
        _("condition"),
        blank=True,
        help_text=_(
            "For example: rating == D or oldest_overdue_days > 60. Empty: everyone not matched before "
            "(the last segment must be empty)."
        ),
    )
    playbook = models.CharField(
        _("playbook"), max_length=100, help_text=_("Name of the playbook used for this segment.")
    )
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"))
    credit_limit_minor = models.BigIntegerField(
        _("credit limit (minor units)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Empty: no limit suggested."),
    )
    max_instalments = models.PositiveSmallIntegerField(_("maximum instalments"))
    min_down_payment_percent = models.PositiveSmallIntegerField(
        _("minimum down payment (%)"), validators=[MaxValueValidator(100)]
    )
    max_plan_days = models.PositiveSmallIntegerField(_("maximum plan duration (days)"))
    thank_you_messages = models.BooleanField(_("send thank-you messages"), default=False)
    # What may be agreed beyond the plan limits (empty: by the minimum down payment, as the shipped segments)
    settlement_floor_percent = models.PositiveSmallIntegerField(
        _("settlement floor (%)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("The least share of what is open a settlement may accept. Empty: by the down payment."),
    )
    extension_days = models.PositiveSmallIntegerField(
        _("one-click extension (days)"),
        null=True,
        blank=True,
        help_text=_(
            "Days the customer may move the payment on its page; 0: none. Empty: by the down payment."
        ),
    )
    promise_max_days = models.PositiveSmallIntegerField(
        _("furthest payment date (days ahead)"),
        null=True,
        blank=True,
        help_text=_("Empty: by the down payment, never beyond the company's limit."),
    )
    offers = models.JSONField(
        _("offers allowed"),
        null=True,
        blank=True,
        help_text=_(
            "Incentives a step or a clerk may offer (discount, waive_fees, waive_interest, ...). "
            "Empty: by the down payment."
        ),
    )
    deadline_days = models.PositiveSmallIntegerField(
        _("longest reminder deadline (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(7)],
        help_text=_(
            "Shorter step deadlines for this segment, never below 7 days. Empty: by the down payment."
        ),
    )

    class Meta:
        verbose_name = _("segment rule")
        verbose_name_plural = _("segment rules")
        ordering = ["company", "order"]
        constraints = [
            models.UniqueConstraint(fields=["company", "key"], name="segment_key_unique"),
            models.UniqueConstraint(fields=["company", "order"], name="segment_order_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.label}"

    def rule(self) -> SegmentRule:
        return SegmentRule(
            self.key,
            self.label,
            self.condition,
            SegmentPolicy(
                self.playbook,
                self.payment_terms_days,
                self.credit_limit_minor,
                self.max_instalments,
                self.min_down_payment_percent,
                self.max_plan_days,
                self.thank_you_messages,
                self.settlement_floor_percent,
                self.extension_days,
                self.promise_max_days,
                tuple(self.offers) if self.offers is not None else None,
                self.deadline_days,
            ),
        )

    def clean(self) -> None:
        try:
            parse_condition(self.condition)
        except RuleError as exc:
            raise ValidationError(
                {
                    "condition": gettext(
                        "The condition cannot be read at character {position}: {error}"
                    ).format(position=exc.position + 1, error=exc)
                }
            ) from None
        try:
            self.rule()
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if self.company_id is None:
            return
        others = [r for r in SegmentRuleRow.objects.filter(company_id=self.company_id) if r.pk != self.pk]
        rules = sorted([*others, self], key=lambda r: r.order)
        try:
            validate_rules([r.rule() for r in rules])
        except ValueError as exc:
            raise ValidationError(
                gettext("The segments do not fit together: {error}").format(error=exc)
            ) from None


class RatingSettings(models.Model):
    """Thresholds of the payer rating A-D (amount-weighted average delay in days, inclusive)."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="rating_settings")
    a_max = models.FloatField(_("A up to (days)"), default=5)
    b_max = models.FloatField(_("B up to (days)"), default=15)
    c_max = models.FloatField(_("C up to (days)"), default=30)
    min_invoices = models.PositiveSmallIntegerField(
        _("minimum invoices"), default=1, help_text=_("Paid or overdue invoices needed before a rating.")
    )

    class Meta:
        verbose_name = _("rating settings")
        verbose_name_plural = _("rating settings")

    def thresholds(self) -> RatingThresholds:
        return RatingThresholds(self.a_max, self.b_max, self.c_max, self.min_invoices)

    def clean(self) -> None:
        try:
            self.thresholds()
        except ValueError:
            raise ValidationError(
                gettext("The limits must rise from A to C and cannot be negative.")
            ) from None


class RatingChoice(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class DebtorInsight(models.Model):
    """The latest payment behaviour, rating and segment of one debtor (as of ``as_of``)."""

    debtor = models.OneToOneField(Debtor, on_delete=models.CASCADE, related_name="insight")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("as of"))
    rating = models.CharField(_("rating"), max_length=1, choices=RatingChoice.choices, blank=True)
    segment = models.CharField(_("segment"), max_length=40)
    segment_label = models.CharField(_("segment name"), max_length=100)
    weighted_days_late = models.FloatField(_("amount-weighted days late"), null=True)
    on_time_share = models.FloatField(_("share paid on time"), null=True)
    overdue_minor = models.BigIntegerField(_("overdue (minor units)"), default=0)
    oldest_overdue_days = models.IntegerField(_("oldest overdue (days)"), default=0)
    trend_days_late = models.FloatField(_("trend (days late)"), null=True)
    profile = models.JSONField(_("profile"), default=dict)
    reason = models.JSONField(_("reason"), default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("debtor insight")
        verbose_name_plural = _("debtor insights")
        indexes = [
            models.Index(fields=["company", "segment"], name="insight_segment_idx"),
            models.Index(fields=["company", "rating"], name="insight_rating_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.debtor_id}: {self.segment} {self.rating}"

    def reason_text(self) -> str:
        """The reason for the segment in the active language."""
        return render_reason(self.reason, gettext)


class InvoicePrediction(models.Model):
    """The latest prediction for one open invoice: probability of late payment and expected days late."""

    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="prediction")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("as of"))
    open_minor = models.BigIntegerField(_("open amount (minor units)"))
    p_late = models.FloatField(
        _("probability of late payment"), null=True, help_text=_("Empty: no payment history at all.")
    )
    expected_days_late = models.FloatField(_("expected days late"), null=True)
    already_overdue = models.BooleanField(_("already overdue"), default=False)
    reasons = models.JSONField(_("reasons"), default=list)
    notice = models.JSONField(_("notice"), null=True, blank=True)
    model_version = models.CharField(_("model"), max_length=100)

    class Meta:
        verbose_name = _("invoice prediction")
        verbose_name_plural = _("invoice predictions")
        indexes = [models.Index(fields=["company", "as_of"], name="prediction_company_idx")]

    def reason_texts(self) -> list[str]:
        return [render_reason(r, gettext) for r in self.reasons]

    def notice_text(self) -> str:
        return render_reason(self.notice, gettext)

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id,
            "as_of": self.as_of.isoformat(),
            "open_minor": self.open_minor,
            "p_late": self.p_late,
            "expected_days_late": self.expected_days_late,
            "already_overdue": self.already_overdue,
            "reasons": self.reason_texts(),
            "notice": self.notice_text() or None,
            "model": self.model_version,
        }
