"""People for the web tests (one company each unless said otherwise):

- alice: admin of Acme (company A)
- bob: collector of Acme
- carol: viewer of Acme
- dave: collector of Baltic (company B), who must never see anything of Acme
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.test import Client

PASSWORD = "correct-horse-battery"
# A Friday; the business date is 20 November 2026 in Berlin and in Riga.
FRIDAY = "2026-11-20 10:00 +0000"


@pytest.fixture
def frozen(request: pytest.FixtureRequest) -> Iterator[None]:
    """The clock stands still at the test module's ``NOW`` (else at ``FRIDAY``); use with ``usefixtures``."""
    with time_machine.travel(getattr(request.module, "NOW", FRIDAY), tick=False):
        yield


@pytest.fixture
def other_company(db: None) -> Any:
    from mahnwerk.collection.services import ensure_default_playbook
    from mahnwerk.ledger.models import Company

    c = Company.objects.create(
        slug="baltic",
        name="Baltic Trade SIA",
        iban="LV80BANK0000435195001",
        jurisdiction="LV",
        time_zone="Europe/Riga",
        default_language="lv",
        currency="EUR",
    )
    ensure_default_playbook(c)
    return c


@pytest.fixture
def make_member(db: None) -> Callable[..., Any]:
    from django.contrib.auth import get_user_model

    from mahnwerk.web.models import Membership

    def make(username: str, company: Any, role: str) -> Any:
        user = get_user_model().objects.create_user(username=username, password=PASSWORD)
        Membership.objects.create(user=user, company=company, role=role)
        return user

    return make


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice(company: Any, make_member: Callable[..., Any]) -> Client:
    return _client(make_member("alice", company, "admin"))


@pytest.fixture
def bob(company: Any, make_member: Callable[..., Any]) -> Client:
    return _client(make_member("bob", company, "collector"))


@pytest.fixture
def carol(company: Any, make_member: Callable[..., Any]) -> Client:
    return _client(make_member("carol", company, "viewer"))


@pytest.fixture
def dave(other_company: Any, make_member: Callable[..., Any]) -> Client:
    return _client(make_member("dave", other_company, "collector"))


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Company-wide figures are cached per ledger version; ids repeat between tests, so start empty."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def file_storage(settings: Any, tmp_path: Any) -> Any:
    """Stored files (invoice copies) and printed letters in this test's own folder; returns the files folder."""
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files"},
        }
    }
    settings.DOCUMENTS_DIR = tmp_path / "documents"
    return tmp_path / "files"
