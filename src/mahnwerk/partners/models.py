"""Collection agencies and lawyers, the accounts handed over to them, what they report back and what the
creditor reports to them (payments that still reach it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import Company, Debtor, Payment


class PartnerKind(models.TextChoices):
    AGENCY = "agency", _("Collection agency")
    LAWYER = "lawyer", _("Lawyer")


class ExchangeFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON"


class Partner(models.Model):
    """A collection agency or a lawyer the company hands accounts to; it reports back with its own token."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=PartnerKind.choices)
    fee_percent = models.DecimalField(
        _("fee (percent of the amount collected)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    email = models.EmailField(_("email"), blank=True)
    format = models.CharField(
        _("exchange format"), max_length=4, choices=ExchangeFormat.choices, default=ExchangeFormat.CSV
    )
    # an inactive partner gets no new handovers and is left out of the advice; its open handovers and its
    # token stay, so it can still report on them
    active = models.BooleanField(_("active"), default=True)
    api_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="partner_name_unique")]

    def __str__(self) -> str:
        return self.name


class PartnerEventKind(models.TextChoices):
    CREATED = "created", _("Added")
    CHANGED = "changed", _("Changed")
    TOKEN_ISSUED = "token_issued", _("New token issued")


class PartnerEvent(models.Model):
    """The partner's history: added, its terms changed (each field's old and new value), a new token issued.
    Append-only, like the debtors' timeline."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.CharField(_("actor"), max_length=100, default="system")
    kind = models.CharField(_("kind"), max_length=14, choices=PartnerEventKind.choices)
    changes = models.JSONField(default=dict, blank=True)  # field -> [old, new], as text

    class Meta:
        verbose_name = _("partner history entry")
        verbose_name_plural = _("partner history")
        ordering = ["at", "id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("the partner's history is append-only")
        super().save(*args, **kwargs)


class HandoverStatus(models.TextChoices):
    OPEN = "open", _("With the partner")
    RECALLED = "recalled", _("Recalled")
    CLOSED = "closed", _("Closed")


class PartnerStatus(models.TextChoices):
    CONTACTED = "contacted", _("Debtor contacted")
    PROMISE = "promise", _("Promise to pay")
    INSTALMENTS = "instalments", _("Instalments agreed")
    COLLECTED = "collected", _("Amount collected")
    CLOSED = "closed", _("Closed")
    UNCOLLECTABLE = "uncollectable", _("Uncollectable")


class Handover(models.Model):
    """An account handed to a partner: the dossier's total of that day, and what came of it."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="handovers")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="handovers")
    handed_over_on = models.DateField(_("handed over on"))
    total_minor = models.BigIntegerField(_("total handed over (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    invoice_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=HandoverStatus.choices, default=HandoverStatus.OPEN
    )
    partner_status = models.CharField(
        _("last status from the partner"), max_length=14, choices=PartnerStatus.choices, blank=True
    )
    collected_minor = models.BigIntegerField(_("collected by the partner (minor units)"), default=0)
    fee_minor = models.BigIntegerField(_("partner's fee (minor units)"), default=0)
    received_minor = models.BigIntegerField(_("received from the partner (minor units)"), default=0)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(_("reason"), max_length=500, blank=True)
    dossier = models.CharField(_("dossier"), max_length=200, blank=True)
    hold_before = models.CharField(max_length=200, blank=True)  # a hold the case had before, put back after
    actor = models.CharField(_("handed over by"), max_length=100, default="system")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        constraints = [
            models.UniqueConstraint(
                fields=["debtor"], condition=Q(status="open"), name="one_open_handover_per_debtor"
            )
        ]

    def __str__(self) -> str:
        return f"{self.debtor} → {self.partner}"


class StatusReport(models.Model):
    """One status the partner reported for a handover (from a file or the API)."""

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="statuses")
    status = models.CharField(_("status"), max_length=14, choices=PartnerStatus.choices)
    reported_on = models.DateField(_("date"))
    collected_minor = models.BigIntegerField(_("amount collected (minor units)"), default=0)
    fee_minor = models.BigIntegerField(_("fee (minor units)"), default=0)
    note = models.CharField(_("note"), max_length=500, blank=True)
    source = models.CharField(max_length=10, default="file")
    key = models.CharField(max_length=64)  # the row's content: a file imported twice books once
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("partner status")
        verbose_name_plural = _("partner statuses")
        constraints = [models.UniqueConstraint(fields=["handover", "key"], name="status_report_once")]


class PaymentNotice(models.Model):
    """A payment that reached the creditor directly after the handover: the partner must be told."""

    handover = models.ForeignKey(Handover, on_delete=models.CASCADE, related_name="payment_notices")
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="+")
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    value_date = models.DateField(_("value date"))
    reported_at = models.DateTimeField(_("reported to the partner"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment notice")
        verbose_name_plural = _("payment notices")
        constraints = [models.UniqueConstraint(fields=["handover", "payment"], name="payment_notice_once")]
