"""Typed readers for settings from environment variables.

Every reader raises ``ImproperlyConfiguredEnv`` naming the variable when its value is bad, so a
misconfigured installation stops at start-up instead of misbehaving later. ``NAME_FILE`` variants
are read for secrets (the file's content, stripped, is the value).
"""

from __future__ import annotations

import os
import zoneinfo
from pathlib import Path


class ImproperlyConfiguredEnv(Exception):
    """A setting read from the environment has a bad value."""


def raw(name: str, default: str | None = None) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfiguredEnv(f"{name}_FILE: cannot read {file_name!r}: {exc}") from exc
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value


def string(name: str, default: str) -> str:
    value = raw(name, default)
    assert value is not None
    return value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfiguredEnv(f"{name}: expected a boolean (true/false/1/0/yes/no), got {value!r}")


def integer(name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
    value = raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfiguredEnv(f"{name}: expected an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfiguredEnv(f"{name}: must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfiguredEnv(f"{name}: must be <= {maximum}, got {number}")
    return number


def choice(name: str, default: str, choices: set[str]) -> str:
    value = string(name, default)
    if value not in choices:
        raise ImproperlyConfiguredEnv(f"{name}: expected one of {sorted(choices)}, got {value!r}")
    return value


def time_zone(name: str, default: str) -> str:
    value = string(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfiguredEnv(f"{name}: unknown time zone {value!r}") from None
    return value


def directory(name: str, default: str) -> Path:
    path = Path(string(name, default)).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfiguredEnv(f"{name}: cannot create directory {str(path)!r}: {exc}") from exc
    if not os.access(path, os.W_OK):
        raise ImproperlyConfiguredEnv(f"{name}: directory {str(path)!r} is not writable")
    return path


def database_url(name: str, default: str) -> dict[str, object]:
    import dj_database_url

    value = string(name, default)
    try:
        config = dj_database_url.parse(value, conn_max_age=60)
    except Exception as exc:  # dj_database_url raises several kinds
        raise ImproperlyConfiguredEnv(f"{name}: cannot parse database URL: {exc}") from exc
    engine = str(config.get("ENGINE", ""))
    if engine not in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}:
        raise ImproperlyConfiguredEnv(f"{name}: only sqlite:// and postgres:// URLs are supported, got {engine!r}")
    return dict(config)
