"""Decline: the wallet tells a data user that the user said no, without saying who.

A declined request used to end in silence; the data user could not tell a "no" from a lost
link.  The wallet now POSTs a signed Decline to the request's callback.  It names the request
by CID and nothing else: no items, no reason, no user DID.  It is signed with a fresh one-time
key (``iss`` is that key's ``did:key``), so the data user learns that *its* request was
answered "no" and can check that the message is intact, but cannot tie it to any consent,
customer or other decline.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import clock
from ._model import SignedModel, check_bytes, check_did, check_int, check_times, claim
from .cid import cid_bytes, cid_text
from .enums import Claim, Typ
from .errors import InvalidArgument
from .keys import KeyPair

__all__ = ["DECLINE_WINDOW", "Decline"]

#: How long after its ``iat`` a data user accepts a Decline (seconds).
DECLINE_WINDOW = 600


@dataclass(frozen=True)
class Decline(SignedModel):
    """A signed "no" to one consent request (``typ`` application/vnd.copyme.decline+cwt)."""

    TYP = Typ.DECLINE
    signer_claim = "signer"

    signer: str
    requester: str
    request: bytes
    issued_at: int
    decline_id: bytes
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.signer, "signer")
        check_did(self.requester, "requester")
        check_bytes(self.request, "request", 36)
        if not self.request.startswith(b"\x01\x51\x12\x20"):
            raise InvalidArgument("request must be a CIDv1 (cbor, sha2-256)", field="request")
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_bytes(self.decline_id, "decline_id", 16)

    @classmethod
    def create(cls, request: Any, *, now: int | None = None, key: KeyPair | None = None,
               decline_id: bytes | None = None) -> tuple[Decline, KeyPair]:
        """A Decline of a decoded consent ``request``, and the one-time key to sign it with."""
        if not getattr(request, "raw", b""):
            raise InvalidArgument("the request must be a decoded, signed request", field="request")
        one_time = key or KeyPair.generate()
        decline = cls(signer=one_time.did, requester=request.requester, request=cid_bytes(request.raw),
                      issued_at=clock.now(now), decline_id=decline_id or secrets.token_bytes(16))
        return decline, one_time

    @property
    def request_cid(self) -> str:
        """The text CID of the declined request."""
        return cid_text(self.request)

    def check_validity(self, now: int | None = None) -> None:
        """Raise ``expired`` or ``not_yet_valid`` outside ``DECLINE_WINDOW`` of ``iat``."""
        check_times(self.issued_at, None, self.issued_at + DECLINE_WINDOW, now, 60)

    def to_claims(self) -> dict[Any, Any]:
        return {Claim.ISS: self.signer, Claim.AUD: self.requester, Claim.IAT: self.issued_at,
                Claim.CTI: self.decline_id, "req": self.request}

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> Decline:
        return cls(
            signer=claim(claims, Claim.ISS, str, "iss"),
            requester=claim(claims, Claim.AUD, str, "aud"),
            request=claim(claims, "req", bytes, "req"),
            issued_at=claim(claims, Claim.IAT, int, "iat"),
            decline_id=claim(claims, Claim.CTI, bytes, "cti"),
        )
