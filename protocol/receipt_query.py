"""ReceiptQuery: a wallet asks a data holder for its usage receipts, signed with a linked DID.

The holder answers only for the customer that the query's signer DID is linked to, so the
signature is the authentication.  A query is addressed to one holder (``aud``), lives at most
:data:`MAX_LIFETIME` seconds (``iat`` .. ``exp``), and its ``cti`` is good once: a copied or
replayed query, or one meant for another holder, gets nothing.  ``after`` is the sequence number
of the newest receipt the wallet already holds (0 for none).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import clock
from ._model import SignedModel, check_bytes, check_did, check_int, check_times, claim
from .enums import Claim, Typ
from .errors import InvalidArgument
from .receipt import MAX_SEQ

__all__ = ["MAX_LIFETIME", "QUERY_LEEWAY", "ReceiptQuery"]

#: The longest a receipt query may be valid (``exp`` - ``iat``, seconds).
MAX_LIFETIME = 300
#: Clock skew a holder tolerates on ``iat`` and ``exp`` (seconds).
QUERY_LEEWAY = 60


@dataclass(frozen=True)
class ReceiptQuery(SignedModel):
    """A signed, single-use ask for receipts (``typ`` application/vnd.copyme.receipt-query+cwt)."""

    TYP: ClassVar[Typ] = Typ.RECEIPT_QUERY
    signer_claim: ClassVar[str] = "user"

    user: str
    holder: str
    issued_at: int
    expires_at: int
    query_id: bytes
    after: int = 0
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.user, "user")
        check_did(self.holder, "holder")
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_int(self.expires_at, "expires_at", 0, 2**40)
        if not self.issued_at < self.expires_at <= self.issued_at + MAX_LIFETIME:
            raise InvalidArgument(f"a receipt query lives 1 to {MAX_LIFETIME} seconds", field="expires_at")
        check_bytes(self.query_id, "query_id", 16)
        check_int(self.after, "after", 0, MAX_SEQ)

    @classmethod
    def create(cls, *, user: str, holder: str, after: int = 0, lifetime: int = 120,
               now: int | None = None, query_id: bytes | None = None) -> ReceiptQuery:
        """A query with a fresh random id, issued ``now``, valid for ``lifetime`` seconds."""
        current = clock.now(now)
        return cls(user=user, holder=holder, issued_at=current, expires_at=current + lifetime,
                   query_id=query_id if query_id is not None else secrets.token_bytes(16), after=after)

    def check_validity(self, now: int | None = None) -> None:
        """Raise ``not_yet_valid`` or ``expired`` outside ``iat`` .. ``exp`` (with :data:`QUERY_LEEWAY`)."""
        check_times(self.issued_at, None, self.expires_at, now, QUERY_LEEWAY)

    def to_claims(self) -> dict[Any, Any]:
        return {
            Claim.ISS: self.user,
            Claim.AUD: self.holder,
            Claim.EXP: self.expires_at,
            Claim.IAT: self.issued_at,
            Claim.CTI: self.query_id,
            "after": self.after,
        }

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> ReceiptQuery:
        return cls(
            user=claim(claims, Claim.ISS, str, "iss"),
            holder=claim(claims, Claim.AUD, str, "aud"),
            issued_at=claim(claims, Claim.IAT, int, "iat"),
            expires_at=claim(claims, Claim.EXP, int, "exp"),
            query_id=claim(claims, Claim.CTI, bytes, "cti"),
            after=claim(claims, "after", int, "after"),
        )
