"""Presentation: the data user's signed request to a data holder to release data now.

It wraps the user's credential with the items and the one purpose wanted now, the holder as
audience, the time, and a unique id (or the holder's nonce).  It is signed with the data user's
own key, so a stolen credential is worthless to anyone but its subject, and the holder's replay
cache makes every presentation single-use.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import clock
from ._model import SignedModel, check_bytes, check_did, check_int, check_unique, claim, matches, optional, text_list
from .enums import Claim, Typ
from .errors import ClockSkew, InvalidArgument, UnknownKey
from .keys import public_key_from_did
from .request import MAX_ITEMS
from .vocab import ITEM_ID, PURPOSE_TERM, check_item_id, check_purpose_term

__all__ = ["Presentation"]

#: How far a presentation's ``iat`` may be from the holder's clock (seconds).
WINDOW = 120

# Read on every request: plain ints, as in protocol/credential.py (an IntEnum dict key is slow).
_ISS, _AUD, _IAT, _CTI = map(int, (Claim.ISS, Claim.AUD, Claim.IAT, Claim.CTI))


@dataclass(frozen=True)
class Presentation(SignedModel):
    """A data user's request for data under a consent (``typ`` application/vnd.copyme.presentation+cwt)."""

    TYP = Typ.PRESENTATION
    signer_claim = "presenter"

    presenter: str
    audience: str
    credential: bytes
    items: tuple[str, ...]
    purpose: str
    issued_at: int
    presentation_id: bytes
    nonce: bytes | None = None
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.presenter, "presenter")
        check_did(self.audience, "audience")
        if not isinstance(self.credential, bytes) or not 0 < len(self.credential) <= 16384:
            raise InvalidArgument("credential must be the signed credential bytes", field="credential")
        check_unique(self.items, "items", MAX_ITEMS)
        for item in self.items:
            check_item_id(item)
        check_purpose_term(self.purpose, "purpose")
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_bytes(self.presentation_id, "presentation_id", 16)
        if self.nonce is not None and (not isinstance(self.nonce, bytes) or not 8 <= len(self.nonce) <= 64):
            raise InvalidArgument("nonce must be 8 to 64 bytes", field="nonce")

    @classmethod
    def create(
        cls,
        *,
        presenter: str,
        audience: str,
        credential: bytes,
        items: tuple[str, ...],
        purpose: str,
        nonce: bytes | None = None,
        now: int | None = None,
    ) -> Presentation:
        """A presentation with a fresh random id, issued ``now``."""
        return cls(
            presenter=presenter,
            audience=audience,
            credential=credential,
            items=tuple(items),
            purpose=purpose,
            issued_at=clock.now(now),
            presentation_id=secrets.token_bytes(16),
            nonce=nonce,
        )

    def check_fresh(self, now: int | None = None, window: int = WINDOW) -> None:
        """Raise ``clock_skew`` (a kind of ``replayed``) if ``iat`` is outside ``now ± window``.

        The window is the replay cache's horizon; a presentation outside it is most often signed
        by a party whose clock is wrong, and the detail says by how much.
        """
        current = clock.now(now)
        if abs(current - self.issued_at) > window:
            ahead = self.issued_at - current
            raise ClockSkew(f"presentation time {self.issued_at} is {abs(ahead)} s "
                            f"{'ahead of' if ahead > 0 else 'behind'} this holder's clock ({current}); "
                            f"the window is ±{window} s")

    def to_claims(self) -> dict[Any, Any]:
        claims: dict[Any, Any] = {
            Claim.ISS: self.presenter,
            Claim.AUD: self.audience,
            Claim.IAT: self.issued_at,
            Claim.CTI: self.presentation_id,
            "vc": self.credential,
            "items": list(self.items),
            "purpose": self.purpose,
        }
        if self.nonce is not None:
            claims["nonce"] = self.nonce
        return claims

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> Presentation:
        well_formed = _from_well_formed_claims(cls, claims)
        if well_formed is not None:
            return well_formed
        # Something is missing, mistyped or out of its limits: the careful way names the first problem.
        return cls(
            presenter=claim(claims, _ISS, str, "iss"),
            audience=claim(claims, _AUD, str, "aud"),
            credential=claim(claims, "vc", bytes, "vc"),
            items=text_list(claims, "items", "items"),
            purpose=claim(claims, "purpose", str, "purpose"),
            issued_at=claim(claims, _IAT, int, "iat"),
            presentation_id=claim(claims, _CTI, bytes, "cti"),
            nonce=optional(claims, "nonce", bytes, "nonce"),
        )


_SEEN_ITEMS: set[str] = set()
_SEEN_PURPOSES: set[str] = set()


def _from_well_formed_claims(cls: type[Presentation], claims: Mapping[Any, Any]) -> Presentation | None:
    """The presentation of ``claims`` if every claim is present, of its type and within its
    limits, else ``None`` (and :meth:`Presentation.from_claims` takes the careful path).

    Every check of the careful path (the claim readers, then ``__post_init__``), inline, with
    the dataclass filled directly instead of checked twice through ``__init__``, as in
    ``protocol/credential.py``; ``tests/protocol/test_fast_build.py`` holds both to one answer.
    """
    presenter, audience, credential = claims.get(_ISS), claims.get(_AUD), claims.get("vc")
    items, purpose = claims.get("items"), claims.get("purpose")
    iat, cti = claims.get(_IAT), claims.get(_CTI)
    if (type(presenter) is not str or type(audience) is not str or type(credential) is not bytes
            or not 0 < len(credential) <= 16384 or type(items) is not list or not 0 < len(items) <= MAX_ITEMS
            or type(purpose) is not str or not matches(purpose, PURPOSE_TERM, _SEEN_PURPOSES)
            or type(iat) is not int or not 0 <= iat <= 2**40 or type(cti) is not bytes or len(cti) != 16):
        return None
    for item in items:
        if type(item) is not str or not matches(item, ITEM_ID, _SEEN_ITEMS):
            return None
    if len(set(items)) != len(items):
        return None
    nonce = None
    if "nonce" in claims:
        nonce = claims["nonce"]
        if type(nonce) is not bytes or not 8 <= len(nonce) <= 64:
            return None
    try:
        public_key_from_did(presenter)
        public_key_from_did(audience)
    except UnknownKey:
        return None
    presentation = object.__new__(cls)
    presentation.__dict__.update(presenter=presenter, audience=audience, credential=credential, items=tuple(items),
                                 purpose=purpose, issued_at=iat, presentation_id=cti, nonce=nonce, raw=b"")
    return presentation
