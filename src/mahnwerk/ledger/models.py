"""The ledger: creditor companies, debtors, invoices, credit notes, payments and their allocation.

Money is stored as integer minor units (``*_minor``) with the ISO currency beside it.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class Jurisdiction(models.TextChoices):
    DE = "DE", _("Germany")
    LV = "LV", _("Latvia")
    EU = "EU", _("European Union (default rules)")
    US = "US", _("United States")


class Language(models.TextChoices):
    DE = "de", _("German")
    LV = "lv", _("Latvian")
    EN = "en", _("English")


class DebtorKind(models.TextChoices):
    BUSINESS = "business", _("Business")
    CONSUMER = "consumer", _("Consumer")


class DayCountChoice(models.TextChoices):
    ACT365 = "act365", _("actual/365")
    ACTACT = "actact", _("actual/actual")


class ChannelChoice(models.TextChoices):
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    SMS = "sms", _("SMS")
    CALL = "call", _("Phone call")


def validate_channels(value: str) -> None:
    unknown = [c for c in parse_channels(value, strict=False) if c not in ChannelChoice.values]
    if unknown:
        raise ValidationError(
            _("Unknown channel: %(value)s (known: email, letter, sms, call)"),
            params={"value": ", ".join(unknown)},
        )


def parse_channels(value: str, *, strict: bool = True) -> tuple[str, ...]:
    """``"email, letter"`` -> ``("email", "letter")``; ``strict`` drops unknown names."""
    names = tuple(dict.fromkeys(c.strip().lower() for c in value.replace(";", ",").split(",") if c.strip()))
    return tuple(c for c in names if c in ChannelChoice.values) if strict else names


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone: %(value)s"), params={"value": value}) from None


def validate_currency(value: str) -> None:
    from mahnwerk.core.money import MoneyError, digits

    try:
        digits(value)
    except MoneyError:
        raise ValidationError(
            _("Not an ISO 4217 currency code: %(value)s"), params={"value": value}
        ) from None


def validate_iban(value: str) -> None:
    from schwifty import IBAN
    from schwifty.exceptions import SchwiftyException

    try:
        IBAN(value)
    except SchwiftyException as exc:
        raise ValidationError(_("Invalid IBAN: %(error)s"), params={"error": str(exc)}) from None


def validate_bic(value: str) -> None:
    from schwifty import BIC
    from schwifty.exceptions import SchwiftyException

    try:
        BIC(value, allow_invalid=False)
    except SchwiftyException as exc:
        raise ValidationError(_("Invalid BIC: %(error)s"), params={"error": str(exc)}) from None


validate_registration_number = RegexValidator(
    r"^[0-9]{11}\Z",
    _("A registration number in the Latvian Register of Enterprises has 11 digits."),
    code="registration_number",
)
validate_sms_sender = RegexValidator(
    r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}\Z",
    _("An SMS sender name has at most 11 letters, digits or spaces, at least one of them a letter."),
    code="sms_sender",
)


class PostalAddress(models.Model):
    street = models.CharField(_("street"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. DE"))

    class Meta:
        abstract = True

    def has_postal_address(self) -> bool:
        return bool(self.street and self.postcode and self.city)

    def address_lines(self) -> list[str]:
        lines = [self.street, f"{self.postcode} {self.city}".strip()]
        return [line for line in lines if line]


class Company(PostalAddress):
    """The creditor: the business whose receivables are collected."""

    slug = models.SlugField(_("short name"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    vat_id = models.CharField(_("VAT ID"), max_length=20, blank=True)
    # Printed on every letter and email (§ 35a GmbHG, § 37a HGB; the Latvian registration number).
    legal_form = models.CharField(
        _("legal form"), max_length=40, blank=True, help_text=_("e.g. GmbH, UG (haftungsbeschränkt), SIA")
    )
    register_court = models.CharField(
        _("register court"), max_length=100, blank=True, help_text=_("e.g. Amtsgericht Charlottenburg")
    )
    register_number = models.CharField(
        _("commercial register number"), max_length=40, blank=True, help_text=_("e.g. HRB 123456 B")
    )
    managing_directors = models.TextField(
        _("managing directors"), blank=True, help_text=_("All of them, separated by commas.")
    )
    registration_number = models.CharField(
        _("registration number"),
        max_length=11,
        blank=True,
        validators=[validate_registration_number],
        help_text=_("Latvian Register of Enterprises (Uzņēmumu reģistrs), 11 digits."),
    )
    collections_email = models.EmailField(
        _("email for replies"),
        blank=True,
        help_text=_("Replies to collection emails go here; blank: the company's email."),
    )
    collections_phone = models.CharField(
        _("phone for questions about payments"),
        max_length=40,
        blank=True,
        help_text=_("Printed on letters and emails; blank: the company's phone."),
    )
    sms_sender = models.CharField(
        _("SMS sender name"),
        max_length=11,
        blank=True,
        validators=[validate_sms_sender],
        help_text=_(
            "Shown as the sender of text messages, up to 11 letters or digits; blank: the server's setting."
        ),
    )
    iban = models.CharField(
        _("IBAN"),
        max_length=34,
        blank=True,
        validators=[validate_iban],
        help_text=_(
            "The account your customers pay to. Blank: the company takes no transfers, and its messages "
            "carry no bank details and no payment code."
        ),
    )
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[validate_bic])
    jurisdiction = models.CharField(_("jurisdiction"), max_length=2, choices=Jurisdiction.choices)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Berlin", validators=[validate_time_zone]
    )
    default_language = models.CharField(_("default language"), max_length=2, choices=Language.choices)
    currency = models.CharField(_("currency"), max_length=3, default="EUR", validators=[validate_currency])
    claim_interest = models.BooleanField(
        _("claim default interest"),
        default=True,
        help_text=_("Statutory interest per the rule set of the jurisdiction."),
    )
    charge_fees = models.BooleanField(
        _("charge fees"), default=True, help_text=_("Flat compensation and reminder fees per the rule set.")
    )
    day_count = models.CharField(
        _("day count"), max_length=6, choices=DayCountChoice.choices, default="act365"
    )
    # The careful run: how often a debtor hears about money, and what is too little to write about.
    # Amounts are in major units of each account's currency.
    # At least 1: 0 would switch the rule off and let a debtor hear from us several times a day.
    # At most 365: a year between two messages means no collection at all (and an unchecked value such as
    # 999999999999 overflowed the run's date arithmetic).
    cadence_days = models.PositiveSmallIntegerField(
        _("days between collection messages"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("A debtor gets at most one collection message (or call) within this many days."),
    )
    min_reminder_amount = models.DecimalField(
        _("minimum overdue amount for a reminder"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        default=Decimal("5.00"),
        help_text=_("No reminder while the overdue principal of an account is below this."),
    )
    small_balance_tolerance = models.DecimalField(
        _("small-balance tolerance"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        default=Decimal("1.00"),
        help_text=_(
            "A payment that leaves no more than this open closes the item; the rest is written off "
            "(on the timeline, reversible)."
        ),
    )
    escalation_min_amount = models.DecimalField(
        _("minimum amount for a final notice or escalation"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        default=Decimal("50.00"),
        help_text=_("Final notices, calls and escalation only when the overdue principal reaches this."),
    )
    # § 288 (5) sentence 3 BGB: the flat compensation is credited against the costs of collection, reminder
    # costs included: a business debtor under German rules is charged the one or the other, never both.
    costs_claim = models.CharField(
        _("collection costs claimed from business debtors"),
        max_length=10,
        choices=[
            ("flat_rate", _("the 40 EUR flat compensation per invoice (no reminder fees on top)")),
            ("itemised", _("reminder fees at actual cost (no flat compensation)")),
        ],
        default="flat_rate",
        help_text=_("German rules: the flat compensation covers reminder costs, so it is one or the other."),
    )
    letter_cost = models.DecimalField(
        _("cost of a reminder letter"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        default=Decimal("1.50"),
        help_text=_(
            "Material and postage of one letter, charged where reminder fees are due; emails and text "
            "messages cost nothing."
        ),
    )
    # At least 1: a posted letter is never received the same day. At most 30 business days (six weeks): even
    # international post arrives sooner: a letter not there after six weeks is lost, not late.
    letter_delivery_days = models.PositiveSmallIntegerField(
        _("business days until a letter is received"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("A reminder letter counts as received this many business days after it is posted."),
    )
    statement_interval_months = models.PositiveSmallIntegerField(
        _("statement of account every (months)"),
        default=1,
        # 0: none (the field allows no negative value); at most 12: a statement less often than once a year
        # tells the customer nothing new
        validators=[MaxValueValidator(12)],
        help_text=_(
            "Business customers with open items who got no reminder in the last 28 days receive a statement of "
            "account this often (1: monthly, 3: quarterly); 0: none."
        ),
    )
    leftover_costs = models.CharField(
        _("interest and fees left after the principal is paid"),
        max_length=10,
        choices=[("statement", _("carry to the next statement")), ("write_off", _("write off"))],
        default="statement",
        help_text=_("Leftover interest and fees alone never trigger a reminder."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    def __str__(self) -> str:
        return self.name


class Salutation(models.TextChoices):
    NONE = "", _("by name")
    MR = "mr", _("Mr")
    MS = "ms", _("Ms")


class Debtor(PostalAddress):
    """A customer who owes (or may owe) the company money."""

    # (no index of its own: the unique customer number per company starts with it)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="debtors", db_index=False)
    number = models.CharField(_("customer number"), max_length=50)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=DebtorKind.choices, default=DebtorKind.BUSINESS)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=2, choices=Jurisdiction.choices)
    time_zone = models.CharField(_("time zone"), max_length=64, validators=[validate_time_zone])
    preferred_channel = models.CharField(
        _("preferred channel"),
        max_length=10,
        choices=ChannelChoice.choices,
        blank=True,
        help_text=_("Empty: the channel each step names."),
    )
    salutation = models.CharField(
        _("salutation"),
        max_length=2,
        choices=Salutation.choices,
        blank=True,
        help_text=_("Of the person (a consumer) or of the contact person (a business)."),
    )
    title = models.CharField(_("title"), max_length=40, blank=True, help_text=_("e.g. Dr."))
    family_name = models.CharField(
        _("family name"), max_length=100, blank=True, help_text=_("Empty: the last word of the name.")
    )
    contact_person = models.CharField(
        _("contact person"),
        max_length=200,
        blank=True,
        help_text=_("A business: whom letters are addressed to."),
    )
    vat_id = models.CharField(
        _("VAT ID"), max_length=20, blank=True, db_index=True, help_text=_("A business: e.g. DE123456789.")
    )
    agreed_channels = models.CharField(
        _("agreed channels"),
        max_length=40,
        blank=True,
        help_text=_(
            "Channels agreed in the contract, comma-separated (email, letter, sms, call); empty: not recorded."
        ),
        validators=[validate_channels],
    )
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    do_not_contact_reason = models.CharField(_("reason"), max_length=200, blank=True)
    address_invalid = models.BooleanField(
        _("postal address invalid"), default=False, help_text=_("Set when a letter comes back undelivered.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("debtor")
        verbose_name_plural = _("debtors")
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="debtor_number_unique_per_company")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"


class ContactKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class Contact(models.Model):
    """An email address or phone number of a debtor, with its own validity and opt-out."""

    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(_("kind"), max_length=10, choices=ContactKind.choices)
    value = models.CharField(_("value"), max_length=254)
    label = models.CharField(_("label"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    is_valid = models.BooleanField(_("valid"), default=True, help_text=_("Cleared by a hard bounce."))
    opted_out = models.BooleanField(_("opted out"), default=False)
    sms_refused = models.BooleanField(
        _("cannot receive text messages"),
        default=False,
        help_text=_("Set when the SMS provider refuses the number (a landline, say); calls still go to it."),
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [models.UniqueConstraint(fields=["debtor", "kind", "value"], name="contact_unique")]

    def __str__(self) -> str:
        return self.value


class Invoice(models.Model):
    # (no index of its own: the unique invoice number per company starts with it)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="invoices", db_index=False)
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="invoices")
    number = models.CharField(_("invoice number"), max_length=50)
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    reference = models.CharField(_("payment reference"), max_length=140, blank=True)
    open_minor = models.BigIntegerField(_("open amount (minor units)"))
    settled_on = models.DateField(_("settled on"), null=True, blank=True)
    on_hold = models.BooleanField(_("on hold"), default=False)
    hold_reason = models.CharField(_("hold reason"), max_length=200, blank=True)
    due_date_agreed = models.BooleanField(
        _("due date agreed by contract"),
        default=False,
        help_text=_("Default then begins the day after the due date without a reminder."),
    )
    received_on = models.DateField(_("received by the debtor on"), null=True, blank=True)
    consumer_notice = models.BooleanField(
        _("invoice warns of default after 30 days"),
        default=False,
        help_text=_("Needed for the 30-day rule with consumers (Germany)."),
    )
    contract_rate_percent = models.DecimalField(
        _("contractual interest rate (%)"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    default_from = models.DateField(_("first day of default interest"), null=True, blank=True)
    default_rule = models.CharField(_("default began by"), max_length=40, blank=True)
    time_barred_on = models.DateField(_("time-barred after"), null=True, blank=True)
    limitation_warned = models.BooleanField(default=False)
    time_barred_noted = models.BooleanField(default=False)  # a person was asked to decide on it
    document = models.FileField(
        _("invoice PDF"),
        upload_to="invoices/%Y/",
        blank=True,
        help_text=_("A copy is attached to reminders, so that 'never received' is no excuse."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="invoice_number_unique_per_company"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(
                condition=Q(open_minor__gte=0) & Q(open_minor__lte=models.F("amount_minor")),
                name="invoice_open_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("issue_date")), name="invoice_due_after_issue"
            ),
        ]
        indexes = [
            models.Index(
                fields=["company", "due_date"], condition=Q(open_minor__gt=0), name="invoice_open_idx"
            ),
            models.Index(fields=["company", "reference"], name="invoice_reference_idx"),
            # one debtor's (or a page of debtors') open items: without it the database would rather walk the
            # whole company's open items (invoice_open_idx) for "debtor_id IN (...) AND company_id = ..."
            models.Index(
                fields=["debtor", "company"], condition=Q(open_minor__gt=0), name="invoice_debtor_open_idx"
            ),
            # the search by (a part of) an invoice number reads the numbers and debtors from the index alone
            models.Index(fields=["company", "number", "debtor"], name="invoice_number_search_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class CreditNote(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="credit_notes")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="credit_notes")
    number = models.CharField(_("credit note number"), max_length=50)
    issue_date = models.DateField(_("issue date"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    unallocated_minor = models.BigIntegerField(_("unallocated (minor units)"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"], name="credit_note_number_unique_per_company"
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="credit_note_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.number


class Payment(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="payments")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="payments")
    value_date = models.DateField(_("value date"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    reference = models.CharField(_("reference"), max_length=140, blank=True)
    payer = models.CharField(_("payer"), max_length=200, blank=True)
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="named_payments",
        help_text=_("The invoice the payment names, if any; it is served first."),
    )
    external_id = models.CharField(_("bank transaction ID"), max_length=100, null=True, blank=True)
    unallocated_minor = models.BigIntegerField(_("unallocated (minor units)"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(
                fields=["company", "external_id"],
                condition=Q(external_id__isnull=False),
                name="payment_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.value_date} {self.amount_minor} {self.currency}"


class ChargeKind(models.TextChoices):
    FLAT_COMPENSATION = "flat_compensation", _("Flat compensation")
    REMINDER_FEE = "reminder_fee", _("Reminder fee")


class Charge(models.Model):
    """Costs booked as a claim on the debtor's account: flat compensation, reminder fees."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="charges")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="charges")
    kind = models.CharField(_("kind"), max_length=20, choices=ChargeKind.choices)
    key = models.CharField(
        max_length=80, unique=True, help_text=_("Makes booking a charge twice impossible.")
    )
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    open_minor = models.BigIntegerField(_("open amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    booked_on = models.DateField(_("booked on"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_minor__gt=0)
                & Q(open_minor__gte=0)
                & Q(open_minor__lte=models.F("amount_minor")),
                name="charge_amounts_valid",
            )
        ]


class Component(models.TextChoices):
    PRINCIPAL = "principal", _("Principal")
    INTEREST = "interest", _("Interest")
    COSTS = "costs", _("Costs")
    PENALTY = "penalty", _("Penalty")


class WriteOffReason(models.TextChoices):
    SMALL_BALANCE = "small_balance", _("Small balance within the tolerance")
    LEFTOVER = "leftover", _("Interest and fees left after the principal was paid")


class WriteOff(models.Model):
    """An amount the creditor gives up on one component of an invoice's claim.

    It reaches the invoice as :class:`Allocation` rows (like a payment, but never counted as money
    received), so interest, claims, statements and the run see the item closed. Reversible: the
    reversal removes the allocations and restores the open amounts.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="write_offs")
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="write_offs")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="write_offs")
    component = models.CharField(_("component"), max_length=10, choices=Component.choices)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, validators=[validate_currency])
    business_date = models.DateField(_("business date"))
    reason = models.CharField(_("reason"), max_length=20, choices=WriteOffReason.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_on = models.DateField(_("reversed on"), null=True, blank=True)
    reversed_by = models.CharField(_("reversed by"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="write_off_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.component} {self.amount_minor} {self.currency}"


class Allocation(models.Model):
    """A part of a payment, credit note or write-off applied to one component of an invoice's claim."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="allocations")
    component = models.CharField(
        _("component"), max_length=10, choices=Component.choices, default="principal"
    )
    charge = models.ForeignKey(
        Charge, on_delete=models.CASCADE, null=True, blank=True, related_name="allocations"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, null=True, blank=True, related_name="allocations"
    )
    credit_note = models.ForeignKey(
        CreditNote, on_delete=models.CASCADE, null=True, blank=True, related_name="allocations"
    )
    write_off = models.ForeignKey(
        WriteOff, on_delete=models.CASCADE, null=True, blank=True, related_name="allocations"
    )
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    value_date = models.DateField(_("value date"))

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=(Q(payment__isnull=False) & Q(credit_note__isnull=True) & Q(write_off__isnull=True))
                | (Q(payment__isnull=True) & Q(credit_note__isnull=False) & Q(write_off__isnull=True))
                | (Q(payment__isnull=True) & Q(credit_note__isnull=True) & Q(write_off__isnull=False)),
                name="allocation_one_source",
            ),
        ]


class TimelineEventQuerySet(models.QuerySet["TimelineEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("the timeline is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("the timeline is append-only")


class TimelineEvent(models.Model):
    """Append-only record of everything that happened with a debtor: who, when, what, why."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    # (no index of its own: timeline_debtor_idx starts with it)
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="timeline", db_index=False)
    at = models.DateTimeField(_("at"), db_default=Now())
    business_date = models.DateField(_("business date"))
    kind = models.CharField(_("kind"), max_length=40)
    actor = models.CharField(_("actor"), max_length=100, default="system")
    note = models.CharField(_("note"), max_length=500, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    objects = TimelineEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        indexes = [models.Index(fields=["debtor", "at"], name="timeline_debtor_idx")]
        ordering = ["business_date", "id"]

    def __str__(self) -> str:
        from mahnwerk.ledger.timeline import describe

        return describe(self)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("the timeline is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("the timeline is append-only")


# --- bank statements ------------------------------------------------------------------------------------


class BankAccount(models.Model):
    """An account of the company that payments arrive on; ``Company.iban`` stays the main one (printed on
    messages) and is registered here by itself on the first statement for it."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="bank_accounts")
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, validators=[validate_iban])
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[validate_bic])
    blz = models.CharField(_("bank code (BLZ)"), max_length=11, blank=True)
    account_number = models.CharField(_("account number"), max_length=34, blank=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "iban"], condition=~Q(iban=""), name="bank_account_iban_unique"
            ),
            models.UniqueConstraint(
                fields=["company", "blz", "account_number"],
                condition=~Q(account_number=""),
                name="bank_account_number_unique",
            ),
            models.CheckConstraint(
                condition=~Q(iban="") | ~Q(account_number=""), name="bank_account_identified"
            ),
        ]

    def __str__(self) -> str:
        label = self.iban or f"{self.blz}/{self.account_number}"
        return f"{self.name} ({label})" if self.name else label


class BankStatement(models.Model):
    """One statement (camt ``Stmt``/``Rpt``/``Ntfctn`` or an MT940 ``:20:`` block) of one imported file."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statements")
    statement_id = models.CharField(_("statement id"), max_length=140)
    format = models.CharField(_("format"), max_length=20)
    from_date = models.DateField(_("from"), null=True, blank=True)
    to_date = models.DateField(_("to"), null=True, blank=True)
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    file_hash = models.CharField(_("file hash (SHA-256)"), max_length=64)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.CharField(_("imported by"), max_length=100, default="system")

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "statement_id", "file_hash"], name="bank_statement_unique_per_file"
            )
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} ({self.from_date} - {self.to_date})"


class EntryStatus(models.TextChoices):
    MATCHED = "matched", _("matched")
    REVIEW = "review", _("to review")
    PARKED = "parked", _("parked")
    IGNORED = "ignored", _("ignored")
    REVERSED = "reversed", _("reversed")


class StatementEntry(models.Model):
    """One booking of a statement (one transaction of a batch), normalised, with what became of it."""

    # (neither has an index of its own: statement_entry_iban_idx starts with the company, the unique key per
    # account with the account)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="entries", db_index=False)
    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="entries")
    key = models.CharField(_("idempotency key"), max_length=100)
    position = models.CharField(_("position"), max_length=20)
    booking_date = models.DateField(_("booking date"), null=True, blank=True)
    value_date = models.DateField(_("value date"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    credit = models.BooleanField(_("credit"))
    reversal = models.BooleanField(_("reversal"), default=False)
    return_reason = models.CharField(_("return reason"), max_length=35, blank=True)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=140, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=140, blank=True)
    mandate_id = models.CharField(_("mandate id"), max_length=140, blank=True)
    counterparty_name = models.CharField(_("counterparty"), max_length=200, blank=True)
    counterparty_iban = models.CharField(_("counterparty IBAN"), max_length=34, blank=True)
    counterparty_bic = models.CharField(_("counterparty BIC"), max_length=11, blank=True)
    remittance = models.TextField(_("remittance information"), blank=True)
    creditor_reference = models.CharField(_("creditor reference"), max_length=140, blank=True)
    bank_code = models.CharField(_("bank transaction code"), max_length=100, blank=True)
    additional_info = models.TextField(_("additional information"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=EntryStatus.choices)
    debtor = models.ForeignKey(
        Debtor, on_delete=models.SET_NULL, null=True, blank=True, related_name="statement_entries"
    )
    payments = models.ManyToManyField(Payment, blank=True, related_name="statement_entries")
    reverses = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reversed_by"
    )
    candidates = models.JSONField(_("candidates"), default=list, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    decided_by = models.CharField(_("decided by"), max_length=100, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("statement entry")
        verbose_name_plural = _("statement entries")
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="statement_entry_key_unique"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="statement_entry_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["company", "status"], name="statement_entry_status_idx"),
            models.Index(fields=["company", "end_to_end_id"], name="statement_entry_e2e_idx"),
            models.Index(fields=["company", "counterparty_iban"], name="statement_entry_iban_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.value_date} {self.amount_minor} {self.currency} {self.status}"


class PaymentReversal(models.Model):
    """A payment the bank took back (a returned direct debit, a recalled transfer): its allocations are gone,
    the items it paid are open again; the payment row stays for the record."""

    payment = models.OneToOneField(Payment, on_delete=models.CASCADE, related_name="reversal")
    entry = models.ForeignKey(
        StatementEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="payment_reversals"
    )
    reversed_on = models.DateField(_("reversed on"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    actor = models.CharField(_("actor"), max_length=100, default="system")
    reopened = models.JSONField(_("reopened"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment reversal")
        verbose_name_plural = _("payment reversals")
