"""Ids and numbers read from an address, a posted field or a command line argument. ``str.isdigit`` is not
enough: it takes "²" and "٣" (which ``int`` refuses or reads as another digit) and any number of digits
(which the database cannot hold: SQLite and PostgreSQL store at most 2**63 - 1).

Plain Python, shared by the web application, the REST API and the commands."""

from __future__ import annotations

import re

# At most 18 digits: every such number fits the database's 64-bit integer.
ID_PATTERN = "[0-9]{1,18}"
_ID = re.compile(rf"{ID_PATTERN}\Z")
# The largest id the database holds (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def parse_id(value: object) -> int | None:
    """A positive id from a posted, query or command line value; ``None`` for anything else (empty, signs,
    exponents, non-ASCII digits, more digits than the database holds)."""
    text = str(value if value is not None else "").strip()
    if not _ID.match(text):
        return None
    number = int(text)
    return number if number > 0 else None


def parse_count(value: object) -> int | None:
    """A whole number of at most 18 ASCII digits (zero allowed); ``None`` for anything else."""
    text = str(value if value is not None else "").strip()
    return int(text) if _ID.match(text) else None
