"""UsageReceipt: the data holder's signed word that data was released, or refused, under a consent.

A holder signs one receipt for every presentation it can attribute to one of its customers (both
signatures verified, the credential's issuer linked): the consent, the data user who asked, the
items and purpose, the time, the outcome and, for a refusal, its reason code.  Receipts of one
customer form a chain: ``seq`` counts 1, 2, 3 ... and ``prev`` is the binary CID of the previous
receipt's signed bytes, so a wallet that holds receipt *n* notices a missing receipt (a gap in
``seq``) and a rewritten one (``prev`` no longer matches) - :meth:`UsageReceipt.check_follows`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._model import SignedModel, check_bytes, check_did, check_int, check_unique, claim, optional, text_list
from .cid import cid_bytes, cid_text
from .enums import Claim, Typ
from .errors import ChainBroken, ChainGap, InvalidArgument
from .request import MAX_ITEMS
from .vocab import check_item_id, check_purpose_term

__all__ = ["MAX_SEQ", "OUTCOMES", "REASON_CODE", "UsageReceipt"]

#: The two outcomes a receipt can state.
OUTCOMES = ("released", "refused")
#: How a reason code is spelled (section 6 of the spec).
REASON_CODE = re.compile(r"^[a-z][a-z_]{0,47}$")
#: The largest sequence number (2^53 - 1, so that JSON readers keep it exact).
MAX_SEQ = 2**53 - 1
_CID_SIZE = 36


@dataclass(frozen=True)
class UsageReceipt(SignedModel):
    """One release or refusal under a consent (``typ`` application/vnd.copyme.receipt+cwt).

    ``consent`` and ``prev`` are binary CIDs (36 bytes); :attr:`consent_id` and :attr:`prev_id`
    give them as text.  ``prev`` is ``None`` exactly for ``seq`` 1.
    """

    TYP: ClassVar[Typ] = Typ.RECEIPT
    signer_claim: ClassVar[str] = "holder"

    holder: str
    user: str
    consent: bytes
    presenter: str
    items: tuple[str, ...]
    purpose: str
    outcome: str
    issued_at: int
    seq: int
    prev: bytes | None = None
    reason: str | None = None
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.holder, "holder")
        check_did(self.user, "user")
        check_bytes(self.consent, "consent", _CID_SIZE)
        check_did(self.presenter, "presenter")
        check_unique(self.items, "items", MAX_ITEMS)
        for item in self.items:
            check_item_id(item)
        check_purpose_term(self.purpose, "purpose")
        if self.outcome not in OUTCOMES:
            raise InvalidArgument("outcome must be 'released' or 'refused'", field="outcome")
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_int(self.seq, "seq", 1, MAX_SEQ)
        if (self.seq == 1) != (self.prev is None):
            raise InvalidArgument("prev is absent exactly on the first receipt (seq 1)", field="prev")
        if self.prev is not None:
            check_bytes(self.prev, "prev", _CID_SIZE)
        if self.outcome == "refused":
            if not isinstance(self.reason, str) or not REASON_CODE.match(self.reason):
                raise InvalidArgument("a refusal names its reason code", field="reason")
        elif self.reason is not None:
            raise InvalidArgument("a release has no reason code", field="reason")

    @property
    def consent_id(self) -> str:
        """The consent's id (text CID), as the wallet stores it."""
        return cid_text(self.consent)

    @property
    def prev_id(self) -> str | None:
        """The previous receipt's id (text CID), ``None`` for the first."""
        return None if self.prev is None else cid_text(self.prev)

    def check_follows(self, prev_seq: int, prev_raw: bytes | None) -> None:
        """Raise unless this receipt comes right after the receipt ``prev_raw`` numbered ``prev_seq``.

        ``prev_seq`` 0 with ``prev_raw`` ``None`` means "no receipt yet".  A jump in ``seq`` is
        ``chain_gap``; the right ``seq`` with a ``prev`` that is not the hash of ``prev_raw`` (or a
        ``seq`` at or below one already held) is ``chain_broken``: some receipt was rewritten.
        """
        if self.seq > prev_seq + 1:
            raise ChainGap(f"receipt {self.seq} follows receipt {prev_seq}: "
                           f"{self.seq - prev_seq - 1} receipt(s) missing")
        if self.seq <= prev_seq:
            raise ChainBroken(f"receipt {self.seq} arrived again after receipt {prev_seq}")
        expected = None if prev_raw is None else cid_bytes(prev_raw)
        if self.prev != expected:
            raise ChainBroken(f"receipt {self.seq} does not name receipt {prev_seq} as its predecessor")

    def to_claims(self) -> dict[Any, Any]:
        claims: dict[Any, Any] = {
            Claim.ISS: self.holder,
            Claim.SUB: self.user,
            Claim.IAT: self.issued_at,
            "seq": self.seq,
            "consent": self.consent,
            "presenter": self.presenter,
            "items": list(self.items),
            "purpose": self.purpose,
            "outcome": self.outcome,
        }
        if self.prev is not None:
            claims["prev"] = self.prev
        if self.reason is not None:
            claims["reason"] = self.reason
        return claims

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> UsageReceipt:
        return cls(
            holder=claim(claims, Claim.ISS, str, "iss"),
            user=claim(claims, Claim.SUB, str, "sub"),
            issued_at=claim(claims, Claim.IAT, int, "iat"),
            seq=claim(claims, "seq", int, "seq"),
            prev=optional(claims, "prev", bytes, "prev"),
            consent=claim(claims, "consent", bytes, "consent"),
            presenter=claim(claims, "presenter", str, "presenter"),
            items=text_list(claims, "items", "items"),
            purpose=claim(claims, "purpose", str, "purpose"),
            outcome=claim(claims, "outcome", str, "outcome"),
            reason=optional(claims, "reason", str, "reason"),
        )
