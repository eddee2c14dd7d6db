"""Webhooks of a company and the log of their deliveries."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import Company, TimelineEvent


class Webhook(models.Model):
    """An endpoint of the company that receives the events it subscribes to, signed with its secret.

    ``cursor``: the timeline is read after this event id on each pass. It moves up to the ``horizon``
    (the newest event id seen at ``horizon_at``) once that is old enough for every transaction that took
    an id below it to have committed; the events after the cursor are looked at again meanwhile, and the
    unique (webhook, event) delivery makes that harmless.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200)
    events = models.JSONField(
        _("events"), default=list, help_text=_("Public event names, e.g. payment.recorded.")
    )
    active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=200, blank=True)
    cursor = models.BigIntegerField(default=0)
    horizon_id = models.BigIntegerField(default=0)
    horizon_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class WebhookDelivery(models.Model):
    """One event for one webhook: created once, POSTed until a 2xx answer or the last retry."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(TimelineEvent, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event"], name="one_delivery_per_webhook_event")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.event_id} -> {self.webhook_id} ({self.status})"
