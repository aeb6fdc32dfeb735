"""DidLink and DidPossession: linking one more of a customer's DIDs at a data holder.

A wallet uses a distinct DID per relationship (data holder x data user).  The holder must still
know that a consent signed by a new relationship DID is its customer's, so the wallet sends the
holder, directly (never through the data user), a proof signed by **both** DIDs:

- a :class:`DidPossession` signed by the **new** DID (``iss``), addressed to the holder and naming
  the DID already linked there (``by``) — the new key agrees to be linked to that customer;
- wrapped in a :class:`DidLink` signed by the **already linked** DID (``iss``), naming the new
  DID (``did``) and carrying the possession proof (``pop``) — the customer vouches for it.

Both carry the same random ``cti`` and the holder's DID as audience, so a proof can be used once
and only at the holder it was made for.  With ``replace`` set, the signer's DID is unlinked once
the new one is linked (key compromise response): the holder then refuses the old DID with
``key_replaced``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._model import SignedModel, check_bytes, check_did, check_int, check_times, claim, optional
from .enums import Claim, Typ
from .errors import BadSignature, InvalidArgument

__all__ = ["DID_LINK_WINDOW", "DidLink", "DidPossession"]

#: How long a signed DidLink is accepted after it was made (seconds), as for a LinkProof.
DID_LINK_WINDOW = 300


@dataclass(frozen=True)
class DidPossession(SignedModel):
    """The new DID's half of a :class:`DidLink` (``typ`` application/vnd.copyme.did-pop+cwt)."""

    TYP = Typ.DID_POSSESSION
    signer_claim = "did"

    did: str
    holder: str
    linked: str
    issued_at: int
    link_id: bytes
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.did, "did")
        check_did(self.holder, "holder")
        check_did(self.linked, "linked")
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_bytes(self.link_id, "link_id", 16)
        if self.did == self.linked:
            raise InvalidArgument("a DID cannot vouch for itself", field="linked")

    def to_claims(self) -> dict[Any, Any]:
        return {Claim.ISS: self.did, Claim.AUD: self.holder, Claim.IAT: self.issued_at, Claim.CTI: self.link_id,
                "by": self.linked}

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> DidPossession:
        return cls(
            did=claim(claims, Claim.ISS, str, "iss"),
            holder=claim(claims, Claim.AUD, str, "aud"),
            issued_at=claim(claims, Claim.IAT, int, "iat"),
            link_id=claim(claims, Claim.CTI, bytes, "cti"),
            linked=claim(claims, "by", str, "by"),
        )


@dataclass(frozen=True)
class DidLink(SignedModel):
    """An already-linked DID vouching for a new DID of the same customer at one holder
    (``typ`` application/vnd.copyme.did-link+cwt).  Build it with :meth:`make`."""

    TYP = Typ.DID_LINK
    signer_claim = "linked"

    linked: str
    holder: str
    did: str
    issued_at: int
    link_id: bytes
    possession: bytes
    replace: bool = False
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.linked, "linked")
        check_did(self.holder, "holder")
        check_did(self.did, "did")
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_bytes(self.link_id, "link_id", 16)
        if not isinstance(self.possession, bytes) or not self.possession:
            raise InvalidArgument("possession must be the new DID's signed DidPossession", field="possession")
        if type(self.replace) is not bool:
            raise InvalidArgument("replace must be true or false", field="replace")
        if self.did == self.linked:
            raise InvalidArgument("a DID cannot vouch for itself", field="did")

    @classmethod
    def make(cls, *, linked: Any, new: Any, holder: str, issued_at: int, link_id: bytes,
             replace: bool = False) -> bytes:
        """The signed proof: ``new`` (a KeyPair) signs its possession, ``linked`` (a KeyPair) signs the link."""
        possession = DidPossession(did=new.did, holder=holder, linked=linked.did, issued_at=issued_at,
                                   link_id=link_id).sign(new)
        return cls(linked=linked.did, holder=holder, did=new.did, issued_at=issued_at, link_id=link_id,
                   possession=possession, replace=replace).sign(linked)

    def check_validity(self, now: int | None = None) -> None:
        """Raise ``expired`` or ``not_yet_valid`` outside ``DID_LINK_WINDOW`` of ``iat`` (60 s leeway)."""
        check_times(self.issued_at, None, self.issued_at + DID_LINK_WINDOW, now, 60)

    def check_possession(self) -> DidPossession:
        """Verify the inner proof: signed by ``did``, for the same holder, link id and vouching DID.

        Raises the decode codes of the inner object, or ``bad_signature`` when it is a valid
        proof of something else (another DID, holder, link id or voucher).
        """
        inner = DidPossession.decode(self.possession)
        if (inner.did, inner.holder, inner.linked, inner.link_id) != (self.did, self.holder, self.linked, self.link_id):
            raise BadSignature("the new DID did not sign this link (its proof names another DID, holder or link)")
        return inner

    def to_claims(self) -> dict[Any, Any]:
        claims: dict[Any, Any] = {Claim.ISS: self.linked, Claim.AUD: self.holder, Claim.IAT: self.issued_at,
                                  Claim.CTI: self.link_id, "did": self.did, "pop": self.possession}
        if self.replace:
            claims["replace"] = True
        return claims

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> DidLink:
        return cls(
            linked=claim(claims, Claim.ISS, str, "iss"),
            holder=claim(claims, Claim.AUD, str, "aud"),
            issued_at=claim(claims, Claim.IAT, int, "iat"),
            link_id=claim(claims, Claim.CTI, bytes, "cti"),
            did=claim(claims, "did", str, "did"),
            possession=claim(claims, "pop", bytes, "pop"),
            replace=optional(claims, "replace", bool, "replace") or False,
        )
