"""Setting up: one's own company with its first playbooks, its users, and the web application's first start.

One service function per use case, shared by the command line (``mahnwerk company``, ``mahnwerk user``) and
the web application: :func:`create_company`, :func:`update_company`, :func:`add_member`, :func:`remove_member`
and :func:`first_start`. Every input is checked before anything is written; what is wrong is raised as a
:class:`SetupError` naming each field, and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext

from mahnwerk.collection.models import Playbook
from mahnwerk.collection.presets import PresetError, create_preset_playbook, default_preset_key, get_preset
from mahnwerk.core.rulesets import EEA_COUNTRIES
from mahnwerk.ledger.models import Company, Jurisdiction, Language
from mahnwerk.web.models import Membership, Role

# What a company's owner sets on create and update; the collection settings (cadence, minimums, costs)
# have sensible defaults and are changed on the settings page.
COMPANY_FIELDS = (
    "name",
    "country",
    "currency",
    "email",
    "phone",
    "collections_email",
    "collections_phone",
    "sms_sender",
    "iban",
    "bic",
    "default_language",
    "time_zone",
    "jurisdiction",
    "street",
    "postcode",
    "city",
    "legal_form",
    "register_court",
    "register_number",
    "managing_directors",
    "registration_number",
    "vat_id",
    "statement_interval_months",
)
ALL_FIELDS = "__all__"
# Codes in the CLDR territory list that are no country (regions, unions, test codes).
NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"})
# ISO 4217 codes that are no money a customer pays in.
NOT_MONEY = frozenset(
    {
        *("XXX", "XTS"),  # no currency, testing
        *("XAU", "XAG", "XPT", "XPD"),  # gold, silver, platinum, palladium
        *("XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA"),  # units of account
        *("XFO", "XFU", "XRE"),  # the old gold and UIC francs, RINET funds
    }
)
LANGUAGE_OF_COUNTRY = {"DE": "de", "AT": "de", "CH": "de", "LI": "de", "LV": "lv"}
TIME_ZONE_OF_COUNTRY = {"US": "America/New_York", "DE": "Europe/Berlin"}
SLUG_MAX = 50


class SetupError(Exception):
    """Input that cannot be used: ``errors`` maps each field (or ``__all__``) to what is wrong with it."""

    def __init__(self, errors: Mapping[str, Iterable[str]]) -> None:
        self.errors = {name: [str(m) for m in messages] for name, messages in errors.items()}
        super().__init__(self.line())

    def line(self, label: Callable[[str], str] | None = None) -> str:
        """Everything that is wrong in one line, each field named (by ``label`` if given)."""
        parts = []
        for name, messages in self.errors.items():
            text = " ".join(messages)
            parts.append(text if name == ALL_FIELDS else f"{label(name) if label else name}: {text}")
        return "; ".join(parts)


def _error(field: str, message: str) -> SetupError:
    return SetupError({field: [message]})


# -- countries and what follows from them -----------------------------------------------------------------


def country_codes() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes (from CLDR via Babel)."""
    from babel import Locale

    codes = (code for code in Locale("en").territories if isinstance(code, str))
    return frozenset(code for code in codes if len(code) == 2 and code.isalpha()) - NOT_COUNTRIES


def country_choices(language: str) -> list[tuple[str, str]]:
    """(code, name) of every country, named and sorted in ``language``."""
    from babel import Locale, UnknownLocaleError

    try:
        names = Locale.parse(language or "en").territories
    except (ValueError, UnknownLocaleError):
        names = Locale("en").territories
    return sorted(((c, names.get(c, c)) for c in country_codes()), key=lambda pair: pair[1].casefold())


def jurisdiction_for(country: str) -> str | None:
    """The rule set a company in ``country`` follows: its own where there is one, the EU rules in another
    EU/EEA country, None elsewhere (the owner chooses)."""
    if country in Jurisdiction.values and country != Jurisdiction.EU:
        return country
    return Jurisdiction.EU.value if country in EEA_COUNTRIES else None


def time_zone_for(country: str) -> str:
    from babel.core import get_global

    if country in TIME_ZONE_OF_COUNTRY:
        return TIME_ZONE_OF_COUNTRY[country]
    zones = get_global("territory_zones").get(country) or []
    return str(zones[0]) if zones else str(settings.TIME_ZONE)


def language_for(country: str) -> str:
    return LANGUAGE_OF_COUNTRY.get(country, Language.EN.value)


def unique_slug(name: str) -> str:
    """A free short name made from ``name`` (acme-gmbh, acme-gmbh-2, ...)."""
    base = slugify(name)[: SLUG_MAX - 4].strip("-") or "company"
    if base.isdigit():
        base = f"company-{base}"
    slug, n = base, 1
    while Company.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


# -- companies --------------------------------------------------------------------------------------------


def _clean_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Trimmed values of the known fields (None: not given); codes upper case, IBAN without spaces."""
    unknown = set(values) - set(COMPANY_FIELDS)
    if unknown:
        raise ValueError(f"not a company field: {', '.join(sorted(unknown))}")
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        text = str(value).strip()
        if key in ("country", "currency", "jurisdiction", "bic"):
            text = text.upper()
        elif key == "iban":
            text = re.sub(r"\s+", "", text).upper()
        elif key == "default_language":
            text = text.lower()
        cleaned[key] = text
    return cleaned


def _check_country(cleaned: dict[str, Any], errors: dict[str, list[str]]) -> None:
    country = cleaned.get("country")
    if country is not None and country and country not in country_codes():
        errors.setdefault("country", []).append(
            gettext("Unknown country code: {value} (ISO 3166, e.g. DE, LV).").format(value=country)
        )


def _check_currency(cleaned: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """The company's currency: an ISO 4217 code of money its customers pay in (not XXX, XAU, XDR, ...)."""
    from mahnwerk.core.tabular import iso_currencies

    code = cleaned.get("currency")
    if not code:
        return  # empty: the model says it is required
    if code in NOT_MONEY:
        errors.setdefault("currency", []).append(
            gettext(
                "{code} is no currency invoices are paid in (ISO 4217 keeps it for tests, precious metals or "
                "units of account): give the currency of your invoices, e.g. EUR."
            ).format(code=code)
        )
    elif len(code) != 3 or code not in iso_currencies():
        errors.setdefault("currency", []).append(
            gettext("Unknown currency code: {code} (ISO 4217, e.g. EUR).").format(code=code)
        )


def _full_clean(company: Company, errors: dict[str, list[str]], exclude: Iterable[str] = ()) -> None:
    try:
        company.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)


def _check_slug(slug: str, errors: dict[str, list[str]]) -> None:
    if slug.isdigit():
        errors.setdefault("slug", []).append(
            gettext("A short name must not be only digits (numbers name companies by id).")
        )
    elif Company.objects.filter(slug=slug).exists():
        errors.setdefault("slug", []).append(
            gettext("The short name '{slug}' is taken by another company.").format(slug=slug)
        )


def _check_presets(presets: Iterable[str], errors: dict[str, list[str]]) -> list[str]:
    keys = []
    for key in presets:
        try:
            get_preset(key)
        except PresetError as exc:
            errors.setdefault("preset", []).append(str(exc))
        else:
            if key not in keys:
                keys.append(key)
    return keys


def validate_new_company(
    slug: str, values: Mapping[str, Any], presets: Iterable[str] = ()
) -> tuple[Company, list[str]]:
    """The company ``values`` describe, checked but not saved, and the preset keys to create; raises
    :class:`SetupError`. Country-dependent fields left empty follow from the country."""
    cleaned = _clean_values(values)
    errors: dict[str, list[str]] = {}
    _check_slug(slug, errors)
    _check_country(cleaned, errors)
    country = cleaned.get("country", "")
    cleaned.setdefault("currency", "EUR")
    _check_currency(cleaned, errors)
    if country and "country" not in errors:
        if not cleaned.get("jurisdiction"):
            found = jurisdiction_for(country)
            if found is None:
                errors.setdefault("jurisdiction", []).append(
                    gettext(
                        "There are no rules for claims in {country}: choose the jurisdiction (DE, LV, EU or US)."
                    ).format(country=country)
                )
            else:
                cleaned["jurisdiction"] = found
        if not cleaned.get("time_zone"):
            cleaned["time_zone"] = time_zone_for(country)
        if not cleaned.get("default_language"):
            cleaned["default_language"] = language_for(country)
    company = Company(slug=slug, **cleaned)
    # what follows from the country is not also reported missing when the country is what is wrong (nor a
    # currency refused above named twice)
    derived = ("jurisdiction", "time_zone", "default_language")
    exclude = [f for f in derived if f in errors or not cleaned.get(f)]
    _full_clean(company, errors, [*exclude, "currency"] if "currency" in errors else exclude)
    keys = _check_presets(presets, errors)
    if not errors and not keys:
        default = default_preset_key(company.jurisdiction)
        keys = [default] if default else []
    if errors:
        raise SetupError(errors)
    return company, keys


def _add_playbooks(company: Company, keys: list[str]) -> list[Playbook]:
    """The presets as playbooks; the first becomes the default where the company has none yet (with no
    preset at all, the shipped default playbook)."""
    from mahnwerk.collection.services import ensure_default_playbook

    has_default = Playbook.objects.filter(company=company, is_default=True).exists()
    created = []
    for key in keys:
        created.append(create_preset_playbook(company, key, default=not has_default))
        has_default = True
    if not has_default:
        created.append(ensure_default_playbook(company))
    return created


def create_company(slug: str, presets: Iterable[str] = (), **values: Any) -> Company:
    """Create a company with its playbooks: the given presets (the first one is the default), else the
    business preset of its jurisdiction, else the shipped default. All or nothing."""
    company, keys = validate_new_company(slug.strip(), values, presets)
    try:
        with transaction.atomic():
            company.save()
            _add_playbooks(company, keys)
    except IntegrityError:  # another process took the short name meanwhile
        raise _error(
            "slug", gettext("The short name '{slug}' is taken by another company.").format(slug=slug)
        ) from None
    return company


def update_company(company: Company, presets: Iterable[str] = (), **values: Any) -> Company:
    """Change the given fields (None: unchanged) and add the given presets as further playbooks."""
    cleaned = _clean_values(values)
    errors: dict[str, list[str]] = {}
    _check_country(cleaned, errors)
    _check_currency(cleaned, errors)
    for key, value in cleaned.items():
        setattr(company, key, value)
    _full_clean(company, errors, ["currency"] if "currency" in errors else [])
    keys = _check_presets(presets, errors)
    existing = set(Playbook.objects.filter(company=company).values_list("name", flat=True))
    for key in keys:
        label = str(get_preset(key).label)
        if label in existing:
            errors.setdefault("preset", []).append(
                gettext("{company} already has a playbook named '{name}'").format(
                    company=company.slug, name=label
                )
            )
    if errors:
        company.refresh_from_db()
        raise SetupError(errors)
    with transaction.atomic():
        company.save()
        _add_playbooks(company, keys)
    return company


def company_summary(company: Company) -> dict[str, Any]:
    """The company as the command line shows it (``--json``): its fields, playbooks and members."""
    data: dict[str, Any] = {"id": company.pk, "slug": company.slug}
    data.update({name: getattr(company, name) for name in COMPANY_FIELDS})
    data["playbooks"] = [
        {"id": p.pk, "name": p.name, "default": p.is_default, "steps": p.steps.count()}
        for p in Playbook.objects.filter(company=company).order_by("-is_default", "name")
    ]
    data["members"] = [
        {"user": m.user.get_username(), "role": m.role}
        for m in Membership.objects.filter(company=company).select_related("user").order_by("user__username")
    ]
    return data


# -- users ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberResult:
    """What :func:`add_member` did: ``previous_role`` is the role the user had in the company before (None if
    the user was no member of it), ``email_changed`` whether an existing user's email address was replaced."""

    membership: Membership
    user_created: bool
    has_password: bool
    previous_role: str | None = None
    email_changed: bool = False


def _check_user(
    username: str, role: str, email: str, password: str | None, errors: dict[str, list[str]]
) -> None:
    user_model = get_user_model()
    if not username:
        errors.setdefault("username", []).append(gettext("A user needs a name."))
    else:
        field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        try:
            field.clean(username, None)  # type: ignore[union-attr]
        except ValidationError as exc:
            errors.setdefault("username", []).extend(exc.messages)
    if role not in Role.values:
        errors.setdefault("role", []).append(
            gettext("Unknown role '{role}': choose one of {choices}.").format(
                role=role, choices=", ".join(Role.values)
            )
        )
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            errors.setdefault("email", []).extend(exc.messages)
    if password is not None:
        existing = user_model.objects.filter(username=username).first()
        try:
            validate_password(password, existing or user_model(username=username))
        except ValidationError as exc:
            errors.setdefault("password", []).extend(exc.messages)


def keep_an_admin(memberships: Iterable[Membership], field: str = ALL_FIELDS) -> None:
    """Refuse to take ``memberships`` away — delete them, or take their administrator role, or move them to
    another company, or deactivate their user — when that would leave a company without an administrator
    who can sign in (an inactive user's membership does not count): raises :class:`SetupError` at ``field``
    naming each such company and its administrators. ``memberships`` are as stored (their current role and
    company). Every administrator row of each company concerned is locked until the transaction ends, so
    that two removals at once cannot both see the other as the remaining admin."""
    leaving: dict[int, list[Membership]] = {}
    for membership in memberships:
        if membership.role == Role.ADMIN:
            leaving.setdefault(membership.company_id, []).append(membership)
    messages = []
    for company_id, going in sorted(leaving.items()):
        admins = Membership.objects.select_for_update(of=("self",)).filter(
            company_id=company_id, role=Role.ADMIN, user__is_active=True
        )
        if set(admins.order_by("pk").values_list("pk", flat=True)) - {m.pk for m in going}:
            continue
        company = going[0].company
        names = sorted({m.user.get_username() for m in going})
        if len(names) == 1:
            message = gettext(
                "{user} is the only administrator of {company}: make another user an administrator first."
            ).format(user=names[0], company=company.slug)
        else:
            message = gettext(
                "{users} are the only administrators of {company}: make another user an administrator first."
            ).format(users=", ".join(names), company=company.slug)
        messages.append(message)
    if messages:
        raise SetupError({field: messages})


def add_member(
    username: str,
    company: Company,
    role: str,
    *,
    email: str = "",
    password: str | None = None,
    added_by: Any = None,
) -> MemberResult:
    """Make ``username`` a member of ``company`` in ``role``: a new user is created (without a password
    none can sign in until one is set), an existing one gets the role (and the email address, if given; the
    result tells the role it had before). An existing user's password is never replaced here — that is
    refused (``mahnwerk changepassword`` changes it), so that a name typed twice cannot lock anyone out.

    The only administrator of a company cannot be made collector or viewer: a company always keeps one
    administrator who can manage its users.

    ``added_by`` (an administrator on the users page) may add a new user, or an existing user only if that
    user already belongs to a company ``added_by`` administers; such a user's password and email are left
    alone. No one can take over another company's user by typing its name."""
    username, email = username.strip(), email.strip()
    user_model = get_user_model()
    exists = bool(username) and user_model.objects.filter(username=username).exists()
    if added_by is not None and exists:
        if not _shares_a_company(username, added_by):
            raise _error("username", gettext("This user name is taken. Choose another name for a new user."))
        email, password = "", None
    errors: dict[str, list[str]] = {}
    _check_user(username, role, email, password, errors)
    if exists and password is not None:
        errors.setdefault("password", []).append(
            gettext(
                "User {user} exists already and keeps its password: change it with "
                "'mahnwerk changepassword {user}'."
            ).format(user=username)
        )
    if errors:
        raise SetupError(errors)
    with transaction.atomic():
        user: Any = user_model.objects.filter(username=username).first()
        created = user is None
        email_changed = False
        if user is None:
            user = user_model.objects.create_user(username=username, email=email, password=password)
            current = None
        else:
            current = Membership.objects.select_for_update().filter(user=user, company=company).first()
            if current is not None and role != Role.ADMIN:
                keep_an_admin([current], "role")
            if email and email != user.email:
                user.email = email
                email_changed = True
                user.save(update_fields=["email"])
        previous_role = current.role if current is not None else None
        membership, _new = Membership.objects.update_or_create(
            user=user, company=company, defaults={"role": role}
        )
    return MemberResult(membership, created, user.has_usable_password(), previous_role, email_changed)


@transaction.atomic
def remove_member(company: Company, membership_id: int, *, removed_by: Any = None) -> Membership:
    """End a user's membership of ``company`` (the user stays, with any other company's membership).
    Refused for one's own membership (``removed_by``) and for the company's only administrator. Raises
    :class:`Membership.DoesNotExist` if ``company`` has no such membership."""
    membership = (
        Membership.objects.select_for_update().select_related("user").get(company=company, pk=membership_id)
    )
    if removed_by is not None and membership.user_id == removed_by.pk:
        raise _error(ALL_FIELDS, gettext("You cannot remove yourself."))
    keep_an_admin([membership])
    membership.delete()
    return membership


def _shares_a_company(username: str, admin: Any) -> bool:
    """Whether the user ``username`` is a member of a company in which ``admin`` is an administrator."""
    administered = Membership.objects.filter(user=admin, role=Role.ADMIN).values("company_id")
    return Membership.objects.filter(user__username=username, company_id__in=administered).exists()


def member_rows(company: Company | None = None) -> list[dict[str, Any]]:
    """Every user with their memberships (of ``company`` only, if given)."""
    memberships = Membership.objects.select_related("user", "company").order_by(
        "user__username", "company__slug"
    )
    if company is not None:
        memberships = memberships.filter(company=company)
    return [
        {
            "user": m.user.get_username(),
            "email": getattr(m.user, "email", ""),
            "company": m.company.slug,
            "role": m.role,
            "can_sign_in": m.user.has_usable_password() and m.user.is_active,
        }
        for m in memberships
    ]


# -- the web application's first start -------------------------------------------------------------------


def first_start_open() -> bool:
    """Whether the installation is still to be set up: no company has an administrator, and there is no
    company or no user at all. Once set up, the first start can never be used again — not to add a
    company, not to add an administrator to a company that exists."""
    if Membership.objects.filter(role=Role.ADMIN).exists():
        return False
    return not Company.objects.exists() or not get_user_model().objects.exists()


@transaction.atomic
def first_start(
    username: str, password: str, preset: str | None, *, user_email: str = "", **values: Any
) -> tuple[Company, Any]:
    """Set up the installation: the company (``values``, its short name made from its name) with the
    ``preset`` playbook as its default, and its first administrator (returned with the company). Refused
    once set up; all or nothing."""
    if not first_start_open():
        raise _error(ALL_FIELDS, gettext("Mahnwerk is already set up: sign in."))
    username, user_email = username.strip(), user_email.strip()
    errors: dict[str, list[str]] = {}
    _check_user(username, Role.ADMIN, user_email, password, errors)
    if username and get_user_model().objects.filter(username=username).exists():
        errors.setdefault("username", []).append(gettext("This user name is taken."))
    slug = unique_slug(str(values.get("name") or ""))
    try:
        company, keys = validate_new_company(slug, values, [preset] if preset else [])
    except SetupError as exc:
        for name, messages in exc.errors.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise SetupError(errors)
    company.save()
    _add_playbooks(company, keys)
    result = add_member(username, company, Role.ADMIN, email=user_email, password=password)
    return company, result.membership.user
