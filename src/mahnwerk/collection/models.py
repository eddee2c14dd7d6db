"""Collection: playbooks and their steps, cases, runs and the actions a run decides."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mahnwerk.core.playbook import Anchor, Channel, PlaybookSpec, StepSpec, Tone
from mahnwerk.ledger.models import ChannelChoice, Company, Debtor, Invoice


class ToneChoice(models.TextChoices):
    FRIENDLY = "friendly", _("Friendly")
    FIRM = "firm", _("Firm")
    FORMAL = "formal", _("Formal")


class AnchorChoice(models.TextChoices):
    DUE = "due", _("days from the due date")
    PREVIOUS = "previous", _("days after the previous step")


class Playbook(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="playbooks")
    name = models.CharField(_("name"), max_length=100)
    is_default = models.BooleanField(_("company default"), default=False)
    approval_required = models.BooleanField(
        _("approval before sending"),
        default=False,
        help_text=_("The daily run leaves this playbook's steps for a person to review and approve."),
    )
    min_days_between = models.PositiveSmallIntegerField(
        _("minimum days between steps"),
        default=7,
        help_text=_("An item never receives two steps closer together than this."),
    )

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="playbook_name_unique"),
            models.UniqueConstraint(
                fields=["company"], condition=Q(is_default=True), name="one_default_playbook"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def spec(self, steps: list[Step] | None = None) -> PlaybookSpec:
        rows = steps if steps is not None else list(self.steps.all())
        return PlaybookSpec(
            self.pk, tuple(s.spec() for s in sorted(rows, key=lambda s: s.level)), self.min_days_between
        )


class Step(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    level = models.PositiveSmallIntegerField(_("level"))
    name = models.CharField(_("name"), max_length=100)
    offset_days = models.SmallIntegerField(_("offset (days)"), help_text=_("Negative: before the due date."))
    anchor = models.CharField(
        _("counted from"), max_length=10, choices=AnchorChoice.choices, default=AnchorChoice.DUE
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=ChannelChoice.choices, default=ChannelChoice.EMAIL
    )
    tone = models.CharField(_("tone"), max_length=10, choices=ToneChoice.choices, default=ToneChoice.FRIENDLY)
    template = models.CharField(_("template"), max_length=50)
    deadline_days = models.PositiveSmallIntegerField(
        _("new deadline (days)"), default=0, help_text=_("0: no new deadline, the due date stands.")
    )
    incentive = models.CharField(
        _("offer"),
        max_length=20,
        blank=True,
        choices=[
            ("waive_fees", _("fees waived")),
            ("waive_interest", _("interest waived")),
            ("discount", _("discount")),
        ],
        help_text=_("An incentive this step offers if the items are paid in full by the offer's deadline."),
    )
    min_amount = models.DecimalField(
        _("minimum overdue amount"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        null=True,
        blank=True,
        help_text=_(
            "The step is taken only when the account's overdue principal reaches this. Empty: the "
            "company's minimum for a final notice (formal steps and calls) or for a reminder."
        ),
    )
    incentive_days = models.PositiveSmallIntegerField(_("offer valid for (days)"), default=0)
    incentive_discount_percent = models.PositiveSmallIntegerField(_("discount (%)"), default=0)

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["playbook", "level"]
        constraints = [models.UniqueConstraint(fields=["playbook", "level"], name="step_level_unique")]

    def __str__(self) -> str:
        return f"{self.level}. {self.name}"

    def spec(self) -> StepSpec:
        return StepSpec(
            level=self.level,
            offset_days=self.offset_days,
            anchor=Anchor(self.anchor),
            channel=Channel(self.channel),
            tone=Tone(self.tone),
            deadline_days=self.deadline_days,
            template=self.template,
            step_id=self.pk,
            min_amount=self.min_amount,
        )


class Case(models.Model):
    """Collection settings and state of one debtor: its own playbook, a hold."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.OneToOneField(Debtor, on_delete=models.CASCADE, related_name="case")
    playbook = models.ForeignKey(
        Playbook, on_delete=models.PROTECT, null=True, blank=True, help_text=_("Empty: the company default.")
    )
    on_hold = models.BooleanField(_("on hold"), default=False)
    hold_reason = models.CharField(_("hold reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Run(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="runs")
    as_of = models.DateField(_("business date"))
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        indexes = [models.Index(fields=["company", "as_of"], name="run_company_date_idx")]


class ActionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")


class Action(models.Model):
    """What a run decided for one debtor on one business date. Never created twice (``key``)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="actions")
    as_of = models.DateField(_("business date"))
    key = models.CharField(max_length=64, db_index=True)
    run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions")
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="+")
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(_("level"))
    channel = models.CharField(_("channel"), max_length=10, choices=ChannelChoice.choices)
    tone = models.CharField(_("tone"), max_length=10, choices=ToneChoice.choices)
    deadline = models.DateField(_("new deadline"), null=True, blank=True)
    status = models.CharField(max_length=10, choices=ActionStatus.choices, default=ActionStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        constraints = [
            # The deterministic key (debtor and business date): at most one live action per debtor and day.
            models.UniqueConstraint(
                fields=["key"], condition=Q(status="active"), name="one_active_action_per_key"
            )
        ]

    @staticmethod
    def make_key(debtor_id: int, as_of: object) -> str:
        return f"{debtor_id}:{as_of}"


class ActionItem(models.Model):
    """One invoice covered by an action, with the step it reached and its open amount then."""

    # (neither has an index of its own: one_item_per_action starts with the action, action_item_invoice_idx
    # with the invoice)
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="items", db_index=False)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="action_items", db_index=False
    )
    level = models.PositiveSmallIntegerField(_("level"))
    open_minor = models.BigIntegerField(_("open amount (minor units)"))
    status = models.CharField(max_length=10, choices=ActionStatus.choices, default=ActionStatus.ACTIVE)

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        constraints = [
            # An item is named once per message; an item that joins the account's message is recorded at
            # the account's step, so levels may repeat for an item (they never repeat within a message).
            models.UniqueConstraint(fields=["action", "invoice"], name="one_item_per_action")
        ]
        indexes = [models.Index(fields=["invoice", "status"], name="action_item_invoice_idx")]


class TaskKind(models.TextChoices):
    CALL = "call", _("Phone call")
    ADDRESS_RESEARCH = "address_research", _("Find a way to reach the debtor")
    REVIEW = "review", _("Review a reply")
    TIME_BARRED = "time_barred", _("Decide on a time-barred claim")
    # the deadlines that follow a court application (escalation.court)
    COURT_OBJECTION = "court_objection", _("Court: check whether the debtor objected")
    COURT_ENFORCEMENT = "court_enforcement", _("Court: apply for the enforcement order")
    COURT_APPLICATION = "court_application", _("Court: file the application if still unpaid")


COURT_TASK_KINDS = (TaskKind.COURT_OBJECTION, TaskKind.COURT_ENFORCEMENT, TaskKind.COURT_APPLICATION)


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NOT_REACHED = "not_reached", _("Not reached")
    PROMISED = "promised", _("Promised to pay")
    DISPUTED = "disputed", _("Disputed")
    REFUSED = "refused", _("Refused to pay")


class Task(models.Model):
    """Work for a person: a call the playbook asks for, finding a debtor nobody can reach, a reply to read."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="tasks")
    action = models.ForeignKey(Action, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_on = models.DateField(_("due on"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=CallOutcome.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    promised_on = models.DateField(_("promised payment date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [models.Index(fields=["company", "status", "due_on"], name="task_open_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["debtor", "kind"],
                condition=Q(status="open", kind="address_research"),
                name="one_open_address_research_per_debtor",
            ),
            models.UniqueConstraint(
                fields=["debtor", "kind"],
                condition=Q(status="open", kind="time_barred"),
                name="one_open_time_barred_task_per_debtor",
            ),
            models.UniqueConstraint(
                fields=["debtor", "kind"],
                condition=Q(
                    status="open", kind__in=["court_objection", "court_enforcement", "court_application"]
                ),
                name="one_open_court_task_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.debtor}"


# Agreements and disputes live in their own module; importing them here registers them with the app.
from mahnwerk.collection.agreements_models import (  # noqa: E402, F401
    AgreementPolicy,
    Dispute,
    Incentive,
    Instalment,
    InstalmentPlan,
    Promise,
    Settlement,
)
