"""Message templates edited by the user; the shipped files are the defaults (``comms.templates_store``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mahnwerk.ledger.models import Company, Language


class TemplateKind(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Letter")


class TemplateTone(models.TextChoices):
    FRIENDLY = "friendly", _("Friendly")
    FIRM = "firm", _("Firm")
    FORMAL = "formal", _("Formal")
    ANY = "any", _("Any tone")


class MessageTemplate(models.Model):
    """A company's own version of one message template; it wins over the shipped file."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("template"), max_length=50)
    tone = models.CharField(_("tone"), max_length=10, choices=TemplateTone.choices)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=TemplateKind.choices)
    subject = models.CharField(_("subject"), max_length=250, blank=True)
    body = models.TextField(_("text"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name", "tone", "language", "kind"], name="message_template_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}.{self.tone}.{self.language}"
