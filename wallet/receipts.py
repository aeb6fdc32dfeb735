"""Usage receipts: every time the wallet learns that data moved under one of its consents.

The wallet cannot see data move by itself; a receipt comes from outside (a data holder's
provision record, a data user's notice, the local API ``POST /api/receipts``).  Receipts are
kept per consent and shown with it, so the user can *see* use, not only permission.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from protocol import InvalidArgument, clock

__all__ = ["Receipt", "parse_receipt"]

_MAX_TEXT = 500


@dataclass(frozen=True)
class Receipt:
    """One recorded use: when, by whom, which items, for which purpose, and who told us."""

    consent_id: str
    at: int
    items: tuple[str, ...]
    recipient: str | None = None
    purpose: str | None = None
    source: str = "manual"
    detail: dict[str, Any] | None = None
    seq: int | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Receipt:
        """Build from a ``receipts`` row (items and detail are stored as JSON text)."""
        return cls(row["consent_id"], row["at"], tuple(json.loads(row["items"])), row["recipient"],
                   row["purpose"], row["source"], json.loads(row["detail"]) if row["detail"] else None,
                   row["seq"])

    def to_json(self) -> dict[str, Any]:
        """Every field, as ``receipts --json`` and the API show it."""
        return asdict(self)


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise InvalidArgument(f"{name} must be text of at most {_MAX_TEXT} characters", field=name)
    return value


def parse_receipt(data: Any, *, now: int | None = None) -> Receipt:
    """A receipt from a JSON object (a provision record, or the local API's body).

    Accepts ``consent_id`` (required), ``items`` (list of ids), ``at`` (Unix time, default now),
    ``recipient``, ``purpose``, ``source``; any other members are kept as ``detail``.
    """
    if not isinstance(data, dict):
        raise InvalidArgument("a receipt is a JSON object", field="receipt")
    consent_id = _text(data.get("consent_id"), "consent_id")
    if not consent_id:
        raise InvalidArgument("a receipt names its consent_id", field="consent_id")
    items = data.get("items", [])
    if not isinstance(items, list) or not all(isinstance(i, str) and len(i) <= 48 for i in items) or len(items) > 32:
        raise InvalidArgument("items must be a list of item ids", field="items")
    at = data.get("at", clock.now(now))
    if type(at) is not int or not 0 <= at < 2**40:
        raise InvalidArgument("at must be a Unix time", field="at")
    known = {"consent_id", "items", "at", "recipient", "purpose", "source"}
    extra = {k: v for k, v in data.items() if k not in known}
    if len(json.dumps(extra, default=str)) > 4000:
        raise InvalidArgument("the receipt's extra detail is too large", field="detail")
    return Receipt(consent_id, at, tuple(items), _text(data.get("recipient"), "recipient"),
                   _text(data.get("purpose"), "purpose"), _text(data.get("source"), "source") or "manual",
                   extra or None)
