"""Outgoing messages: rendered in the run's transaction, sent after commit (the outbox)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.models import Action
from mahnwerk.ledger.models import ChannelChoice, Company, Debtor


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    BOUNCED = "bounced", _("Bounced")
    RETURNED = "returned", _("Returned by the post")


class Purpose(models.TextChoices):
    """Why a message goes out: collection messages count against the cadence; courtesy messages
    (confirmations, receipts, thank-yous) do not, but no collection message goes out on their day."""

    COLLECTION = "collection", _("Collection")
    COURTESY = "courtesy", _("Confirmation or thanks")
    OFFER = "offer", _("Offer")


# What an agreement message is, by the last part of its key (``promise.7.thanks`` -> ``thanks``).
_KEY_PURPOSES = {
    "breach": Purpose.COLLECTION,  # a broken plan's Plan B: pay everything by a date
    "offer": Purpose.OFFER,
}


def purpose_for_key(key: str) -> str:
    """The purpose of an agreement message from its key: Plan B notices collect, offers offer, and the rest
    (confirmations, thanks, instalment notices, answers to a dispute) are courtesy."""
    return str(_KEY_PURPOSES.get(key.rsplit(".", 1)[-1], Purpose.COURTESY))


class OutboundMessage(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    # (no index of its own: message_debtor_day_idx starts with it)
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="messages", db_index=False)
    action = models.OneToOneField(
        Action, on_delete=models.CASCADE, null=True, blank=True, related_name="message"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=ChannelChoice.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=2)
    subject = models.CharField(_("subject"), max_length=250)
    body_text = models.TextField(_("text"))
    # Written by the run with its figures only; the outbox renders subject and text before anyone reads them
    # (``comms.compose.render_pending``).
    render_pending = models.BooleanField(_("not rendered yet"), default=False)
    payload = models.JSONField(
        _("data"),
        default=dict,
        blank=True,
        help_text=_("Items, totals, deadline and payment data, for the HTML part, the QR code and letters."),
    )
    not_before = models.DateTimeField(
        _("not before"), null=True, blank=True, help_text=_("Deferred to the next moment contact is allowed.")
    )
    business_date = models.DateField(_("business date"), null=True, blank=True)
    purpose = models.CharField(
        _("purpose"), max_length=12, choices=Purpose.choices, default=Purpose.COLLECTION
    )
    document = models.CharField(_("document"), max_length=300, blank=True)
    provider_id = models.CharField(_("provider reference"), max_length=100, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=250, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claim = models.CharField(max_length=32, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The sender's lease: extended while it works; once it has run out, the next sender takes the message.
    claimed_until = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        _("next attempt"),
        null=True,
        blank=True,
        help_text=_("After a temporary delivery failure: not tried again before this moment."),
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        indexes = [
            models.Index(fields=["status", "company"], name="message_status_idx"),
            models.Index(fields=["debtor", "business_date"], name="message_debtor_day_idx"),
            models.Index(fields=["status", "channel", "next_attempt_at"], name="message_due_idx"),
            models.Index(fields=["id"], condition=models.Q(render_pending=True), name="message_render_idx"),
        ]

    def __str__(self) -> str:
        return self.subject


from mahnwerk.comms.template_models import MessageTemplate  # noqa: E402, F401  (the app owns the model)
