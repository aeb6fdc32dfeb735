"""The result of a successful verification: exactly what the holder may release, and to whom."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Grant"]


@dataclass(frozen=True)
class Grant:
    """A checked permission to release ``items`` of ``customer_id``'s data to ``recipient`` now.

    ``consent_id`` is the CID of the user's credential (what the provision record cites);
    ``user`` is the DID that signed the consent, ``recipient`` the data user that presented it.
    """

    recipient: str
    user: str
    customer_id: str
    items: tuple[str, ...]
    purpose: str
    consent_id: str
    presentation_id: bytes
    verified_at: int
    consent_expires_at: int

    def to_json(self) -> dict[str, Any]:
        """A JSON view for the HTTP API and the records."""
        return {
            "recipient": self.recipient,
            "user": self.user,
            "customer_id": self.customer_id,
            "items": list(self.items),
            "purpose": self.purpose,
            "consent_id": self.consent_id,
            "presentation_id": self.presentation_id.hex(),
            "verified_at": self.verified_at,
            "consent_expires_at": self.consent_expires_at,
        }
