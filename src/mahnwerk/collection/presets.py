"""Playbook presets: ready-made dunning sequences for German and Latvian business and consumer customers.

One function, :func:`create_preset_playbook`, writes a preset as a company's playbook; the command line
(``mahnwerk company create --preset``), the web application's first start and the demo use it.

What the presets encode (see the rule sets in ``core/data/rulesets``; the run applies the rest by itself):

- Germany, business customers: a reminder after the due date puts the debtor in default (after its deadline,
  if it sets one); the 40 EUR flat compensation applies. Three emails, a phone call, then the final notice
  by letter.
- Every step comes at least three days after the deadline the previous one gave (the run holds a step until
  that deadline has passed anyway; the days after it leave time for a transfer made on the last day).
- Germany, consumers: longer deadlines (14 days) and no call; the final notice goes by letter. Reminder fees
  are actual costs only (a letter's material and postage, an email nothing).
- Latvia, business customers: commercial transactions, the 40 EUR compensation; emails, then the final
  notice by letter.
- Latvia, consumers (Debt Recovery Law): the first notice after the due date is written — an email or a
  letter, never a text message or a call — and gives 21 days, the time the debtor has to object; the run
  waits that time (and a letter's 7 days to arrive) before the next step. Contact hours, Sundays and public
  holidays are the rule set's and the run keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mahnwerk.collection.models import Playbook, Step
from mahnwerk.core.playbook import Anchor, Channel, PlaybookError, StepSpec, Tone, validate_steps
from mahnwerk.ledger.models import Company

# Step names as the presets name them. A step's name is the playbook's data, edited like any name a user gives
# and shown and exported as it is: the preset writes it in the company's language when it creates the playbook.
PRE_DUE = _("Friendly note before due")
REMINDER = _("Payment reminder")
SECOND = _("Second reminder")
CALL = _("Phone call")
FINAL = _("Final notice")


class PresetError(ValueError):
    """A preset that does not exist or cannot be added to the company; the message is one line."""


@dataclass(frozen=True, slots=True)
class PresetStep:
    name: str | Promise  # translated into the company's language when the playbook is created
    spec: StepSpec


@dataclass(frozen=True, slots=True)
class Preset:
    key: str
    label: str | Promise
    description: str | Promise
    jurisdiction: str
    debtor_kind: str
    steps: tuple[PresetStep, ...]
    min_days_between: int = 7


def _step(
    name: str | Promise,
    level: int,
    offset: int,
    anchor: Anchor,
    channel: Channel,
    tone: Tone,
    deadline: int,
    template: str,
) -> PresetStep:
    return PresetStep(name, StepSpec(level, offset, anchor, channel, tone, deadline, template))


DUE, PREVIOUS = Anchor.DUE, Anchor.PREVIOUS
EMAIL, LETTER, PHONE = Channel.EMAIL, Channel.LETTER, Channel.CALL
FRIENDLY, FIRM, FORMAL = Tone.FRIENDLY, Tone.FIRM, Tone.FORMAL

PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "de-b2b",
            _("Germany, business customers"),
            _(
                "A note 3 days before the due date, a reminder 7 days after it with 10 days to pay, then a "
                "second reminder, a phone call and the final notice by letter with 7 days each; every step "
                "waits until the previous deadline has passed."
            ),
            "DE",
            "business",
            (
                _step(PRE_DUE, 1, -3, DUE, EMAIL, FRIENDLY, 0, "pre_due"),
                _step(REMINDER, 2, 7, DUE, EMAIL, FRIENDLY, 10, "reminder"),
                _step(SECOND, 3, 14, PREVIOUS, EMAIL, FIRM, 7, "firm_reminder"),
                _step(CALL, 4, 10, PREVIOUS, PHONE, FIRM, 7, "firm_reminder"),
                _step(FINAL, 5, 10, PREVIOUS, LETTER, FORMAL, 7, "final_notice"),
            ),
        ),
        Preset(
            "de-b2c",
            _("Germany, consumers"),
            _(
                "A note 3 days before the due date, a reminder 7 days after it, a second reminder and the final "
                "notice by letter, each with 14 days to pay and 17 days after the previous one; no phone calls."
            ),
            "DE",
            "consumer",
            (
                _step(PRE_DUE, 1, -3, DUE, EMAIL, FRIENDLY, 0, "pre_due"),
                _step(REMINDER, 2, 7, DUE, EMAIL, FRIENDLY, 14, "reminder"),
                _step(SECOND, 3, 17, PREVIOUS, EMAIL, FIRM, 14, "firm_reminder"),
                _step(FINAL, 4, 17, PREVIOUS, LETTER, FORMAL, 14, "final_notice"),
            ),
        ),
        Preset(
            "lv-b2b",
            _("Latvia, business customers"),
            _(
                "A note 3 days before the due date, a reminder 5 days after it, a second reminder and the final "
                "notice by letter; deadlines of 10 days."
            ),
            "LV",
            "business",
            (
                _step(PRE_DUE, 1, -3, DUE, EMAIL, FRIENDLY, 0, "pre_due"),
                _step(REMINDER, 2, 5, DUE, EMAIL, FRIENDLY, 10, "reminder"),
                _step(SECOND, 3, 14, PREVIOUS, EMAIL, FIRM, 10, "firm_reminder"),
                _step(FINAL, 4, 14, PREVIOUS, LETTER, FORMAL, 10, "final_notice"),
            ),
        ),
        Preset(
            "lv-b2c",
            _("Latvia, consumers"),
            _(
                "A note 3 days before the due date; the first written notice 7 days after it gives 21 days, the "
                "time to object; then a second reminder and the final notice by letter. No text messages or "
                "calls."
            ),
            "LV",
            "consumer",
            (
                _step(PRE_DUE, 1, -3, DUE, EMAIL, FRIENDLY, 0, "pre_due"),
                _step(REMINDER, 2, 7, DUE, EMAIL, FRIENDLY, 21, "reminder"),
                _step(SECOND, 3, 24, PREVIOUS, EMAIL, FIRM, 14, "firm_reminder"),
                _step(FINAL, 4, 17, PREVIOUS, LETTER, FORMAL, 14, "final_notice"),
            ),
        ),
    )
}


def preset_choices() -> list[tuple[str, str | Promise]]:
    """(key, label) of every preset, for forms and help texts."""
    return [(p.key, p.label) for p in PRESETS.values()]


def get_preset(key: str) -> Preset:
    try:
        return PRESETS[key]
    except KeyError:
        raise PresetError(
            gettext("unknown playbook preset '{key}': choose one of {choices}").format(
                key=key, choices=", ".join(PRESETS)
            )
        ) from None


def default_preset_key(jurisdiction: str) -> str | None:
    """The business preset of the company's jurisdiction; None where there is none (the shipped default)."""
    key = f"{jurisdiction.lower()}-b2b"
    return key if key in PRESETS else None


@transaction.atomic
def create_preset_playbook(
    company: Company, key: str, *, name: str | None = None, default: bool = False
) -> Playbook:
    """Write the preset ``key`` as a playbook of ``company`` (named after the preset unless ``name`` is
    given), its steps named in the company's language. ``default``: it becomes the company's default
    playbook, the one every debtor without a playbook of its own follows."""
    preset = get_preset(key)
    specs = [s.spec for s in preset.steps]
    try:
        validate_steps(specs)
    except PlaybookError as exc:  # pragma: no cover - the presets are checked by the tests
        raise PresetError(str(exc)) from None
    title = name or str(preset.label)
    if Playbook.objects.filter(company=company, name=title).exists():
        raise PresetError(
            gettext("{company} already has a playbook named '{name}'").format(
                company=company.slug, name=title
            )
        )
    with translation.override(company.default_language or None):
        names = [str(s.name) for s in preset.steps]
    if default:
        Playbook.objects.filter(company=company, is_default=True).update(is_default=False)
    playbook = Playbook.objects.create(
        company=company, name=title, is_default=default, min_days_between=preset.min_days_between
    )
    Step.objects.bulk_create(
        Step(
            playbook=playbook,
            level=s.spec.level,
            name=step_name,
            offset_days=s.spec.offset_days,
            anchor=s.spec.anchor.value,
            channel=s.spec.channel.value,
            tone=s.spec.tone.value,
            template=s.spec.template,
            deadline_days=s.spec.deadline_days,
        )
        for s, step_name in zip(preset.steps, names, strict=True)
    )
    return playbook
