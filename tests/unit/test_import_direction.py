"""Import direction between the apps: the messages (``comms``) never import the web application — also not
inside a function. The link to the debtor's page comes from :mod:`mahnwerk.links`, which both use. ``comms``
may read ``collection``; ``collection`` never imports ``comms`` (it asks the messages through
:mod:`mahnwerk.collection.ports`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mahnwerk

PACKAGE = Path(mahnwerk.__file__).parent


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module an ``import`` or ``from ... import`` in the file names (absolute, relative resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.append((node.lineno, base))
            # ``from mahnwerk import web`` names the package in the imported names
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def offenders(app: str, forbidden: str) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in sorted((PACKAGE / app).rglob("*.py"))
        for line, name in imported_modules(path)
        if name == forbidden or name.startswith(forbidden + ".")
    ]


def test_the_scan_finds_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    sample = PACKAGE / "comms" / "compose.py"
    names = {name for _line, name in imported_modules(sample)}
    assert "mahnwerk.links" in names  # imported inside a function
    assert offenders("web", "mahnwerk.links") != []  # the web application does import it


def test_comms_never_imports_the_web_application() -> None:
    assert offenders("comms", "mahnwerk.web") == []


def test_the_link_module_imports_no_app() -> None:
    names = [name for _line, name in imported_modules(PACKAGE / "links.py")]
    assert [n for n in names if n.startswith("mahnwerk.")] == []


DOMAIN_APPS = ("api", "work", "collection", "comms", "ledger")


def test_the_domain_apps_and_the_api_never_import_the_web_application() -> None:
    """The API, the work queue and the domain apps share services and figures that live in the domain apps;
    of ``mahnwerk.web`` they may name only the membership model (users' roles live there)."""
    found = [
        offence
        for app in DOMAIN_APPS
        for offence in offenders(app, "mahnwerk.web")
        if not offence.endswith(": mahnwerk.web.models") and ": mahnwerk.web.models." not in offence
    ]
    assert found == []


def test_the_scan_sees_the_web_services_imported_as_a_module() -> None:
    # ``from mahnwerk.web import services`` (how the work queue once read the figures) counts as the module
    assert any(
        offence.endswith(": mahnwerk.web.services") for offence in offenders("web", "mahnwerk.web.services")
    )


def test_collection_never_imports_the_web_application() -> None:
    # the roles the services check live in mahnwerk.roles; the demo's sign-in in mahnwerk.demo
    assert offenders("collection", "mahnwerk.web") == []


def test_collection_never_imports_comms() -> None:
    # the run decides and writes; the outbox renders and delivers: collection asks comms through its port
    assert offenders("collection", "mahnwerk.comms") == []


def test_the_port_is_the_comms_implementation() -> None:
    from django.apps import apps

    assert apps.ready  # pytest-django set Django up: the apps' ready() hooks have run
    from mahnwerk.collection.ports import messaging
    from mahnwerk.comms.messaging import CommsMessaging

    assert isinstance(messaging(), CommsMessaging)


def test_without_a_registered_implementation_the_port_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from mahnwerk.collection import ports

    monkeypatch.setattr(ports, "_messaging", None)
    with pytest.raises(RuntimeError, match=r"mahnwerk\.comms"):
        ports.messaging()
