"""``makemessages`` (xgettext) reads an f-string as one string: a ``_("...")`` inside its braces never reaches
the catalogue, so the text stays English in every language. Texts are written ``_("... {x} ...").format(x=...)``
or translated before the f-string."""

from __future__ import annotations

import ast
from pathlib import Path

import mahnwerk

PACKAGE = Path(mahnwerk.__file__).parent
GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "gettext_noop",
}

# Files others are changing at the moment; their f-strings are rewritten there (see the pending list below).
PENDING = {
    "escalation/management/commands/escalate.py",
    "experiments/management/commands/experiment.py",
}


def gettext_in_fstrings(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.JoinedStr):
            continue
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Name)
                and inner.func.id in GETTEXT
                and inner.args
                and isinstance(inner.args[0], ast.Constant)
            ):
                lines.append(inner.lineno)
    return lines


def test_no_literal_message_id_is_translated_inside_an_f_string() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts and path.relative_to(PACKAGE).as_posix() not in PENDING
        for line in gettext_in_fstrings(path)
    ]
    assert found == []
