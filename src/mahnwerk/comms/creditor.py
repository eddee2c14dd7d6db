"""The creditor as every message names it: its legal details, where questions and replies go, the senders.

A German company's business letters state its legal form, seat, register court and number and all managing
directors (§ 35a GmbHG, § 37a HGB); a Latvian company's its registration number. The labels are in the
active language (callers render inside ``translation.override``); names and numbers are printed as entered.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from django.utils.translation import npgettext, pgettext

from mahnwerk.ledger.models import Company


def managing_directors(company: Company) -> list[str]:
    return [name.strip() for name in company.managing_directors.split(",") if name.strip()]


def legal_name(company: Company) -> str:
    """The name with the legal form, unless the name already shows it ("Muster GmbH", 'SIA "Koks"'): after
    the name, in Latvia before it, the name in quotes (SIA "Baltijas Koks")."""
    name, form = company.name.strip(), company.legal_form.strip()
    folded = name.casefold()
    if not form or folded.endswith(form.casefold()) or folded.startswith(form.casefold()):
        return name
    if "LV" in (company.country, company.jurisdiction):
        return f'{form} "{name}"'
    return f"{name} {form}"


def legal_parts(company: Company, *, with_name: bool = True) -> list[str]:
    """The legal details, one part each: with a commercial register entry the name (with the legal form),
    seat, register court and number, managing directors (without one, the name only where the legal form
    had to be added to it); then the registration number and the VAT ID.

    ``with_name`` False leaves the name out when it is the company's name as printed elsewhere (a letter's
    footer); a name the legal form was added to stays.
    """
    parts: list[str] = []
    directors = managing_directors(company)
    register = " ".join(p for p in (company.register_court.strip(), company.register_number.strip()) if p)
    name = legal_name(company)
    if register or directors:
        if with_name or name != company.name.strip():
            parts.append(name)
        if company.city:
            parts.append(pgettext("creditor", "Registered office {city}").format(city=company.city))
        if register:
            parts.append(register)
        if directors:
            parts.append(
                npgettext(
                    "creditor", "Managing director: {names}", "Managing directors: {names}", len(directors)
                ).format(names=", ".join(directors))
            )
    elif name != company.name.strip():  # no register entry given, but a legal form the name does not show
        parts.append(name)
    if company.registration_number:
        parts.append(pgettext("creditor", "Reg. No. {number}").format(number=company.registration_number))
    if company.vat_id:
        parts.append(pgettext("creditor", "VAT ID {vat_id}").format(vat_id=company.vat_id))
    return parts


def legal_line(company: Company) -> str:
    """The legal details on one line, parts separated by " · "."""
    return " · ".join(legal_parts(company))


def contact_email(company: Company) -> str:
    """Where replies and questions about payments go: the collections address, else the company's."""
    return company.collections_email or company.email


def contact_phone(company: Company) -> str:
    return company.collections_phone or company.phone


def signature(company: Company) -> str:
    """The ``{{ signature }}`` block of an email: name, address, email and phone for questions, one per line,
    then the legal details on one line."""
    lines = [company.name, *company.address_lines(), contact_email(company), contact_phone(company)]
    return "\n".join([line for line in lines if line] + [legal_line(company)]).strip()


def from_header(company: Company) -> str:
    """The ``From`` of an email: the company's name and address, else the configured sender
    (``MAHNWERK_EMAIL_FROM``)."""
    address = company.email or company.collections_email
    if not address:
        return str(settings.DEFAULT_FROM_EMAIL)
    return _mailbox(company.name, address)


def reply_to(company: Company) -> list[str]:
    """The ``Reply-To`` of an email: the company's address for replies (none if it has no address)."""
    address = contact_email(company)
    return [_mailbox(company.name, address)] if address else []


def _mailbox(name: str, address: str) -> str:
    """``"Name" <address>``, the name quoted where it needs to be (a comma, a quote)."""
    return str(Address(display_name=name, addr_spec=address))


def is_configured_sender(header: str) -> bool:
    """Whether ``header`` names the configured sender's address (then no ``Sender`` header is needed)."""
    return parseaddr(header)[1].casefold() == parseaddr(str(settings.DEFAULT_FROM_EMAIL))[1].casefold()


def sms_sender(company: Company) -> str:
    """The sender of a text message: the company's sender name, else ``MAHNWERK_SMS_SENDER``."""
    return company.sms_sender or str(settings.SMS_SENDER)
