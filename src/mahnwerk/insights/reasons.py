"""Storing :class:`~mahnwerk.core.behaviour.Reason` objects as JSON and rendering them later.

A reason is kept as its English message id and parameters, so it is rendered in the reader's language
when shown (``render_reason(data, gettext)``), not in the language of the run that computed it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mahnwerk.core.behaviour import Reason


def reason_to_json(reason: Reason) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in reason.params.items():
        if isinstance(value, Reason):
            params[key] = {"reason": reason_to_json(value)}
        elif isinstance(value, (str, int, float, bool)) or value is None:
            params[key] = value
        else:
            params[key] = str(value)
    return {"message": reason.message, "params": params, "translated": list(reason.translated_params)}


def reason_from_json(data: Mapping[str, Any]) -> Reason:
    params = {
        key: reason_from_json(value["reason"]) if isinstance(value, dict) and "reason" in value else value
        for key, value in dict(data.get("params") or {}).items()
    }
    return Reason(str(data["message"]), params, tuple(data.get("translated") or ()))


def render_reason(data: Mapping[str, Any] | None, translate: Callable[[str], str]) -> str:
    """The stored reason in the active language; "" when there is none."""
    if not data:
        return ""
    return reason_from_json(data).render(translate)
