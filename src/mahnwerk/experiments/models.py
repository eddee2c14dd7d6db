"""Experiments that compare playbooks on randomly assigned debtors, and the per-company switch of channel
learning."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.models import Playbook
from mahnwerk.ledger.models import Company, Debtor


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RUNNING = "running", _("Running")
    STOPPED = "stopped", _("Stopped")


class Experiment(models.Model):
    """Playbook variants (timing, tone, channel, incentive) compared on debtors assigned at random, stratified
    by segment. Each arm is a playbook; the first arm is the control."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    arms = models.JSONField(_("arms"), default=list, help_text=_("Playbook ids; the first is the control."))
    segments = models.JSONField(
        _("segments"), default=list, blank=True, help_text=_("Segment keys it covers; empty: every segment.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT
    )
    seed = models.BigIntegerField(_("random seed"), default=0)
    started_on = models.DateField(_("started on"), null=True, blank=True)
    stopped_on = models.DateField(_("stopped on"), null=True, blank=True)
    promoted = models.ForeignKey(
        Playbook,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("promoted"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("experiment")
        verbose_name_plural = _("experiments")
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="experiment_name_unique")]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """One debtor in one experiment: its arm (a playbook), its segment and what it owed when assigned."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="+")
    arm = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="+", verbose_name=_("arm"))
    segment = models.CharField(_("segment"), max_length=40, blank=True)
    assigned_on = models.DateField(_("assigned on"))
    open_minor = models.BigIntegerField(_("open when assigned (minor units)"), default=0)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(fields=["experiment", "debtor"], name="assignment_debtor_unique")
        ]
        indexes = [models.Index(fields=["debtor"], name="assignment_debtor_idx")]

    def __str__(self) -> str:
        return f"{self.experiment_id}:{self.debtor_id}"


class ChannelLearning(models.Model):
    """Whether the run chooses channels by what each customer answered (no row: on, 7 days)."""

    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(_("choose channels by the customer's response"), default=True)
    window_days = models.PositiveSmallIntegerField(_("days a payment counts as a response"), default=7)

    class Meta:
        verbose_name = _("channel learning")
        verbose_name_plural = _("channel learning")

    def __str__(self) -> str:
        return f"{self.company_id}: {'on' if self.enabled else 'off'}"
