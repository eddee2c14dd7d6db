#!/usr/bin/env python3
"""Translation catalogues without GNU gettext at run time.

    python scripts/i18n.py compile   # .po -> .mo for every language (Babel, pure Python)
    python scripts/i18n.py check     # fail if a de/lv message is untranslated, fuzzy, or the .mo is stale

Extracting new strings needs GNU gettext (developers): `make messages`.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parent.parent / "src" / "mahnwerk" / "locale"


def catalogues() -> list[tuple[Path, Path]]:
    return [(po, po.with_suffix(".mo")) for po in sorted(LOCALE.glob("*/LC_MESSAGES/django.po"))]


def compile_all() -> None:
    for po, mo in catalogues():
        with po.open("rb") as fh:
            catalog = read_po(fh)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        if not mo.exists() or mo.read_bytes() != buffer.getvalue():
            mo.write_bytes(buffer.getvalue())
            print(f"compiled {mo.relative_to(LOCALE)}")


def _text(value: str | bytes | None) -> str | None:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _key(value: object) -> object:
    """A message id or string as something comparable and hashable (plural forms are lists or tuples)."""
    return tuple(value) if isinstance(value, list | tuple) else value


def check() -> int:
    problems = []
    if not catalogues():
        problems.append("no catalogues found")
    for po, mo in catalogues():
        with po.open("rb") as fh:
            catalog = read_po(fh)
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                problems.append(f"{po.relative_to(LOCALE)}: untranslated or fuzzy: {message.id!r}")
        if not mo.exists():
            problems.append(f"{mo.relative_to(LOCALE)} is missing: run scripts/i18n.py compile")
            continue
        with mo.open("rb") as fh:
            compiled = read_mo(fh)
        wanted = {(m.context, _key(m.id)): _key(m.string) for m in catalog if m.id and not m.fuzzy}
        have = {(_text(m.context), _key(m.id)): _key(m.string) for m in compiled if m.id}
        if wanted != have:
            problems.append(f"{mo.relative_to(LOCALE)} is stale: run scripts/i18n.py compile")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"translations: {len(catalogues())} catalogue(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "compile":
        compile_all()
        sys.exit(0)
    sys.exit(check())
