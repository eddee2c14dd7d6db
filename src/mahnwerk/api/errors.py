"""Errors the routers raise; :mod:`mahnwerk.api.api` turns them into responses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    loc: tuple[str | int, ...]
    msg: str


class Invalid(Exception):
    """Input that passed the schema but not the ledger's rules: 422, each error naming where it is."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in self.errors))

    def as_detail(self) -> list[dict[str, object]]:
        return [{"loc": list(e.loc), "msg": e.msg} for e in self.errors]
