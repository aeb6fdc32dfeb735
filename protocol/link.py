"""LinkProof: the user proves control of a DID to a data holder that gave them a one-time code.

The holder hands its customer a short code (at a branch, in online banking); the wallet signs
the code with the user's DID key for that holder as audience; the holder checks the signature,
the code and the time, and ties the DID to the customer record.  Thereafter a credential
issued by that DID is recognised as that customer's consent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._model import SignedModel, check_did, check_int, check_text, check_times, claim
from .enums import Claim, Typ

__all__ = ["MAX_LINK_CODE", "LinkProof"]

#: How long a signed link proof is accepted after it was made (seconds).
LINK_WINDOW = 300
#: The longest one-time code a link proof carries (characters).
MAX_LINK_CODE = 64


@dataclass(frozen=True)
class LinkProof(SignedModel):
    """A user's signature over a holder's one-time link code (``typ`` application/vnd.copyme.link+cwt)."""

    TYP = Typ.LINK
    signer_claim = "user"

    user: str
    holder: str
    code: str
    issued_at: int
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.user, "user")
        check_did(self.holder, "holder")
        check_text(self.code, "code", MAX_LINK_CODE)
        check_int(self.issued_at, "issued_at", 0, 2**40)

    def check_validity(self, now: int | None = None) -> None:
        """Raise ``expired`` or ``not_yet_valid`` outside ``LINK_WINDOW`` of ``iat``."""
        check_times(self.issued_at, None, self.issued_at + LINK_WINDOW, now, 60)

    def to_claims(self) -> dict[Any, Any]:
        return {Claim.ISS: self.user, Claim.AUD: self.holder, Claim.IAT: self.issued_at, "code": self.code}

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> LinkProof:
        return cls(
            user=claim(claims, Claim.ISS, str, "iss"),
            holder=claim(claims, Claim.AUD, str, "aud"),
            code=claim(claims, "code", str, "code"),
            issued_at=claim(claims, Claim.IAT, int, "iat"),
        )
