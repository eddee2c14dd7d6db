"""Import direction between the apps: the messages (``comms``) never import the web application — also not
inside a function. The link to the debtor's page comes from :mod:`mahnwerk.links`, which both use."""

from __future__ import annotations

import ast
from pathlib import Path

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
    sample = PACKAGE / "comms" / "dispatch.py"
    names = {name for _line, name in imported_modules(sample)}
    assert "mahnwerk.links" in names  # imported inside a function
    assert offenders("web", "mahnwerk.links") != []  # the web application does import it


def test_comms_never_imports_the_web_application() -> None:
    assert offenders("comms", "mahnwerk.web") == []


def test_the_link_module_imports_no_app() -> None:
    names = [name for _line, name in imported_modules(PACKAGE / "links.py")]
    assert [n for n in names if n.startswith("mahnwerk.")] == []
