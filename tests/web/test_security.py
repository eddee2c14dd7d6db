"""The web application's protections: sign-in throttling, the Content-Security-Policy, the HTTPS setting
(secure cookies, HSTS, redirect; ``check --deploy`` clean), the users page refusing another company's user,
and the early refusal of oversized request bodies."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from mahnwerk.web.models import Membership
from mahnwerk.web.portal import links

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
NOW = "2026-11-20 10:00 +0000"


def sign_in(client: Client, username: str, password: str, address: str = "203.0.113.7") -> Any:
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


# -- sign-in throttling ----------------------------------------------------------------------------------


@pytest.fixture
def erin(company: Any, make_member: Callable[..., Any]) -> Any:
    return make_member("erin", company, "collector")


def test_wrong_passwords_lock_the_user_name_out_even_for_the_right_password(erin: Any) -> None:
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    with time_machine.travel(NOW, tick=False):
        for _attempt in range(limit - 1):
            response = sign_in(client, "erin", "wrong-password")
            assert response.status_code == 200
            assert "The user name or password is wrong." in response.content.decode()
        locked = sign_in(client, "erin", "wrong-password")
        assert locked.status_code == 429
        text = locked.content.decode()
        assert "Too many failed sign-ins" in text and "15 minutes" in text
        assert 'value="erin"' in text  # the sign-in page again, with the name kept

        refused = sign_in(client, "erin", PASSWORD)
        assert refused.status_code == 429
        assert "_auth_user_id" not in client.session

    # another address is not affected; the locked-out one may sign in again after the cooldown
    assert sign_in(Client(), "erin", PASSWORD, address="198.51.100.9").status_code == 302
    with time_machine.travel(NOW, tick=False) as traveller:
        traveller.shift(timedelta(minutes=16))
        accepted = sign_in(client, "erin", PASSWORD)
        assert accepted.status_code == 302 and accepted["Location"] == "/"
        assert client.session["_auth_user_id"] == str(erin.pk)


def test_a_successful_sign_in_resets_the_count(erin: Any) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    with time_machine.travel(NOW, tick=False):
        for _attempt in range(limit - 1):
            sign_in(Client(), "erin", "wrong-password")
        assert sign_in(Client(), "erin", PASSWORD).status_code == 302
        for _attempt in range(limit - 1):
            assert sign_in(Client(), "erin", "wrong-password").status_code == 200
        assert sign_in(Client(), "erin", PASSWORD).status_code == 302


def test_the_lockout_message_is_translated(erin: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    with time_machine.travel(NOW, tick=False):
        for _attempt in range(settings.AXES_FAILURE_LIMIT):
            response = sign_in(client, "erin", "wrong-password")
    assert response.status_code == 429
    assert '<html lang="de">' in response.content.decode()
    assert 'data-testid="lockout"' in response.content.decode()


def test_behind_a_proxy_the_forwarded_address_counts(erin: Any, settings: Any) -> None:
    settings.PROXY_COUNT = 1
    proxy = "10.0.0.2"
    with time_machine.travel(NOW, tick=False):
        for attempt in range(settings.AXES_FAILURE_LIMIT):
            # the attacker's own X-Forwarded-For entries are ignored: the proxy appends the real address
            response = Client().post(
                LOGIN,
                {"username": "erin", "password": "wrong-password"},
                REMOTE_ADDR=proxy,
                HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}, 203.0.113.66",
            )
        assert response.status_code == 429
        other = Client().post(
            LOGIN,
            {"username": "erin", "password": PASSWORD},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR="192.0.2.5",
        )
        assert other.status_code == 302  # another client behind the same proxy is not locked out


def test_client_address(rf: Any, settings: Any) -> None:
    from mahnwerk.web.throttle import client_address

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.66")
    assert client_address(request) == "10.0.0.2"
    settings.PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.66"
    settings.PROXY_COUNT = 2
    assert client_address(request) == "1.1.1.1"
    settings.PROXY_COUNT = 3
    assert client_address(request) == "10.0.0.2"  # fewer entries than proxies: not behind them after all


# -- Content-Security-Policy -----------------------------------------------------------------------------


def directives(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def hash_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def inline_handlers(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'\son[a-z]+="([^"]*)"', page)]


def test_pages_carry_a_strict_policy(alice: Client) -> None:
    policy = directives(alice.get("/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'" and "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["img-src"] == ["'self'", "data:"]  # the GiroCode is a data: URI
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"] and policy["base-uri"] == ["'none'"]


def test_the_portal_and_the_sign_in_page_carry_the_policy(
    client: Client, make_debtor: Callable[..., Any], make_invoice: Callable[..., Any]
) -> None:
    debtor = make_debtor(name="Bäckerei Müller", number="K0001")
    make_invoice(debtor, "R-100", "1000.00", "2026-10-01")
    with time_machine.travel(NOW, tick=False):
        portal = client.get(links.portal_path(debtor))
    assert portal.status_code == 200
    assert directives(portal)["default-src"] == ["'self'"]
    assert "Content-Security-Policy" in client.get(LOGIN)


@pytest.mark.parametrize("language", ["en", "de", "lv"])
def test_every_inline_handler_of_the_pages_is_allowed_by_its_hash(
    alice: Client, company: Any, language: str
) -> None:
    """The language switch (every page) and the question before a template is reset (an edited template)."""
    alice.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    template = "/templates/email/reminder/friendly/de/"
    saved = alice.post(
        template, {"subject": "Offene Posten: {{ numbers }}", "body": "Hallo {{ debtor.name }}"}
    )
    assert saved.status_code == 302
    response = alice.get(template)
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    handlers = inline_handlers(page)
    assert len(handlers) == 2, handlers
    allowed = directives(response)["script-src"]
    assert "'unsafe-hashes'" in allowed
    for handler in handlers:
        assert hash_source(handler) in allowed, handler


# -- MAHNWERK_HTTPS ----------------------------------------------------------------------------------------

PRODUCTION = {
    "MAHNWERK_HTTPS": "1",
    "MAHNWERK_SECRET_KEY": "k7Q2-vN9xR4tLp8sWm3Zb6Yc1Hd5Jf0Ga2Ue7Ik9Oq4Tr8Ey3Wn6Bv1Xz5Ml0Ps_Ja",
    "MAHNWERK_DEBUG": "false",
    "MAHNWERK_ALLOWED_HOSTS": "mahnwerk.example.com",
    "MAHNWERK_CSRF_TRUSTED_ORIGINS": "https://mahnwerk.example.com",
    "MAHNWERK_BASE_URL": "https://mahnwerk.example.com",
}
HTTPS_SETTINGS = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_PROXY_SSL_HEADER",
]


def production_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MAHNWERK_")}
    return environ | {"MAHNWERK_DATA_DIR": str(tmp_path)} | PRODUCTION | extra


def settings_in(environ: dict[str, str]) -> dict[str, Any]:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {HTTPS_SETTINGS!r}}}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=environ | {"DJANGO_SETTINGS_MODULE": "mahnwerk.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    values: dict[str, Any] = json.loads(proc.stdout)
    return values


def test_the_https_setting_turns_on_secure_cookies_hsts_and_the_redirect(tmp_path: Path) -> None:
    values = settings_in(production_environment(tmp_path))
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    off = settings_in(production_environment(tmp_path, MAHNWERK_HTTPS="0"))
    assert off["SESSION_COOKIE_SECURE"] is False and off["SECURE_HSTS_SECONDS"] == 0


def test_with_https_the_cookies_are_secure_and_hsts_is_sent(tmp_path: Path, erin: Any, settings: Any) -> None:
    for name, value in settings_in(production_environment(tmp_path)).items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    client = Client()
    plain = client.get(LOGIN)
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/accounts/login/"
    assert client.get("/healthz").status_code == 200  # load balancers probe over plain HTTP

    behind_proxy = {"HTTP_X_FORWARDED_PROTO": "https"}
    page = client.get(LOGIN, **behind_proxy)
    assert page.status_code == 200
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert page.cookies["csrftoken"]["secure"] is True
    signed_in = client.post(
        LOGIN,
        {"username": "erin", "password": PASSWORD, "csrfmiddlewaretoken": page.cookies["csrftoken"].value},
        **behind_proxy,  # type: ignore[arg-type]
    )
    assert signed_in.status_code == 302
    assert signed_in.cookies["sessionid"]["secure"] is True


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mahnwerk", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_environment(tmp_path),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues" in proc.stdout
    assert "WARNING" not in proc.stdout + proc.stderr


def test_a_bad_https_value_stops_start_up(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mahnwerk", "check"],
        env=production_environment(tmp_path, MAHNWERK_HTTPS="sometimes"),
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "MAHNWERK_HTTPS" in proc.stderr


# -- the users page ----------------------------------------------------------------------------------------


def test_an_admin_cannot_attach_another_companys_user(
    alice: Client, other_company: Any, make_member: Callable[..., Any]
) -> None:
    dave = make_member("dave", other_company, "collector")
    for password in ("", "new-secret-password-1"):
        response = alice.post("/users/", {"username": "dave", "password": password, "role": "admin"})
        assert response.status_code == 200
        assert "This user name is taken" in response.content.decode()
    assert list(Membership.objects.filter(user=dave).values_list("company__slug", flat=True)) == ["baltic"]
    dave.refresh_from_db()
    assert dave.check_password(PASSWORD)  # the password was not touched either


def test_a_user_without_any_company_cannot_be_attached(alice: Client) -> None:
    root = get_user_model().objects.create_superuser("root", password=PASSWORD)
    response = alice.post("/users/", {"username": "root", "password": "", "role": "viewer"})
    assert "This user name is taken" in response.content.decode()
    assert not Membership.objects.filter(user=root).exists()


def test_an_admin_adds_new_users_and_members_of_their_own_companies(
    alice: Client, company: Any, other_company: Any, make_member: Callable[..., Any]
) -> None:
    alice_user = get_user_model().objects.get(username="alice")
    Membership.objects.create(user=alice_user, company=other_company, role="admin")
    make_member("dave", other_company, "collector")  # Baltic's user; alice administers Baltic too
    response = alice.post("/users/", {"username": "dave", "password": "", "role": "viewer"})
    assert response.status_code == 302
    assert Membership.objects.get(user__username="dave", company=company).role == "viewer"

    new = alice.post("/users/", {"username": "frank", "password": "a-long-new-password", "role": "collector"})
    assert new.status_code == 302
    frank = get_user_model().objects.get(username="frank")
    assert frank.check_password("a-long-new-password")
    assert Membership.objects.get(user=frank).company == company

    changed = alice.post("/users/", {"username": "frank", "password": "", "role": "viewer"})
    assert changed.status_code == 302 and Membership.objects.get(user=frank).role == "viewer"


def test_a_new_users_password_is_checked(alice: Client) -> None:
    response = alice.post("/users/", {"username": "gina", "password": "password", "role": "viewer"})
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="gina").exists()


# -- request size ------------------------------------------------------------------------------------------


class Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def huge_request(client: Client, path: str, **headers: str) -> Any:
    size = 300 * 1024 * 1024
    return client.generic(
        "POST",
        path,
        b"",
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(size),
        **{"wsgi.input": Unreadable()},  # type: ignore[arg-type]
        **headers,  # type: ignore[arg-type]
    )


def test_a_huge_body_is_refused_before_it_is_read(alice: Client, company: Any) -> None:
    response = huge_request(alice, "/payments/review/")
    assert response.status_code == 413
    text = response.content.decode()
    assert "The request is too large: at most 20 MB can be sent at once." in text
    assert "Content-Security-Policy" in response


def test_the_api_gets_the_refusal_as_json(client: Client) -> None:
    response = huge_request(client, "/api/v1/invoices", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 413
    assert set(response.json()) == {"detail"}


def test_a_body_within_the_limit_passes(alice: Client, settings: Any) -> None:
    settings.MAX_REQUEST_BYTES = 1024
    assert alice.post("/users/", {"username": "x" * 100, "password": "", "role": "viewer"}).status_code == 200
    assert alice.post("/users/", {"username": "x" * 2000, "role": "viewer"}).status_code == 413
