"""Rights requests after the copy: stop use / erase, and the data user's signed answers.

APPI Art. 35 lets a person ask a business to stop using, erase, or stop providing their
retained personal data, and has the business tell them what it did; the EU wallet's data
deletion request (EUDI TS7) sends such a request to the relying party's declared contact and
logs it.  CopyMe makes each step a signed object:

- :class:`RightsRequest` -- signed by the key that signed the consent (the wallet), naming the
  consent by CID, the kind (``stop_use``, ``erase`` or ``both``), a time and a unique id; sent
  to the ``rights`` endpoint the data user declared in its signed :class:`ConsentRequest`.
- :class:`RightsAck` -- signed by the data user: the request was received, and by when it
  will be carried out.
- :class:`RightsDone` -- signed by the data user once its own deletion hook has run: which
  items were erased, how many records, and when.

The answers name the rights request by CID, so a wallet can keep them as evidence and tie
them to the request it sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from . import clock
from ._model import SignedModel, check_bytes, check_did, check_int, check_times, claim, text_list
from .cid import cid_bytes, cid_text
from .enums import Claim, Typ
from .errors import InvalidArgument, RequestMismatch, WrongAudience, WrongSigner
from .request import MAX_ITEMS
from .vocab import check_item_id

__all__ = ["RIGHTS_WINDOW", "RightsAck", "RightsDone", "RightsKind", "RightsRequest"]

#: How long after its ``iat`` a data user accepts a rights request (seconds); a wallet that
#: retries later signs a fresh one.
RIGHTS_WINDOW = 600

#: Most records a completion may report (a count, not a list: it carries no personal data).
MAX_RECORDS = 2**32


class RightsKind(StrEnum):
    """What a rights request asks of the data user (APPI Art. 35: 利用停止 / 消去)."""

    STOP_USE = "stop_use"
    ERASE = "erase"
    BOTH = "both"

    @property
    def erases(self) -> bool:
        """Whether the data is to be erased (not only its use stopped)."""
        return self is not RightsKind.STOP_USE


def _check_cid(value: Any, name: str) -> bytes:
    check_bytes(value, name, 36)
    if not value.startswith(b"\x01\x51\x12\x20"):
        raise InvalidArgument(f"{name} must be a CIDv1 (cbor, sha2-256)", field=name)
    return bytes(value)


def _kind(value: Any) -> RightsKind:
    try:
        return RightsKind(value)
    except ValueError:
        raise InvalidArgument("kind must be stop_use, erase or both", field="kind") from None


@dataclass(frozen=True)
class RightsRequest(SignedModel):
    """A user's signed request to stop using and/or erase data (``typ`` …rights+cwt)."""

    TYP = Typ.RIGHTS
    signer_claim = "user"

    user: str
    data_user: str
    consent: bytes
    kind: RightsKind
    issued_at: int
    request_id: bytes
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.user, "user")
        check_did(self.data_user, "data_user")
        _check_cid(self.consent, "consent")
        object.__setattr__(self, "kind", _kind(self.kind))
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_bytes(self.request_id, "request_id", 16)

    @classmethod
    def create(cls, consent: Any, kind: RightsKind | str, *, now: int | None = None,
               request_id: bytes | None = None) -> RightsRequest:
        """The request about a decoded ``consent`` credential, from its signer to its grantee.

        The signer is the consent's own ``iss`` (never "the wallet's DID": each consent may be
        signed by a key of its own).
        """
        if not getattr(consent, "raw", b""):
            raise InvalidArgument("the consent must be a decoded, signed credential", field="consent")
        return cls(user=consent.issuer, data_user=consent.subject, consent=cid_bytes(consent.raw),
                   kind=_kind(kind), issued_at=clock.now(now),
                   request_id=request_id if request_id is not None else secrets.token_bytes(16))

    @property
    def consent_cid(self) -> str:
        """The text CID of the consent this request is about."""
        return cid_text(self.consent)

    def check_validity(self, now: int | None = None) -> None:
        """Raise ``expired`` or ``not_yet_valid`` outside ``RIGHTS_WINDOW`` of ``iat``."""
        check_times(self.issued_at, None, self.issued_at + RIGHTS_WINDOW, now, 60)

    def to_claims(self) -> dict[Any, Any]:
        return {Claim.ISS: self.user, Claim.AUD: self.data_user, Claim.IAT: self.issued_at,
                Claim.CTI: self.request_id, "consent": self.consent, "kind": str(self.kind)}

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> RightsRequest:
        return cls(
            user=claim(claims, Claim.ISS, str, "iss"),
            data_user=claim(claims, Claim.AUD, str, "aud"),
            consent=claim(claims, "consent", bytes, "consent"),
            kind=claim(claims, "kind", str, "kind"),  # type: ignore[arg-type]  # checked in __post_init__
            issued_at=claim(claims, Claim.IAT, int, "iat"),
            request_id=claim(claims, Claim.CTI, bytes, "cti"),
        )


class _Answer(SignedModel):
    """What an acknowledgement and a completion share: who answers whom, about which request."""

    signer_claim = "data_user"
    data_user: str
    user: str
    rights_request: bytes

    def check_answers(self, request: RightsRequest) -> None:
        """Raise unless this answer comes from ``request``'s data user, to its user, about it.

        ``wrong_signer`` for an answer signed by anyone but the data user the request went to
        (a forged acknowledgement), ``wrong_audience`` for one addressed to another key, and
        ``request_mismatch`` for one about another request.
        """
        if self.data_user != request.data_user:
            raise WrongSigner("the answer is not signed by the data user the request went to")
        if self.user != request.user:
            raise WrongAudience("the answer is addressed to another key")
        if not request.raw or cid_bytes(request.raw) != self.rights_request:
            raise RequestMismatch("the answer is about another rights request")

    @property
    def rights_request_cid(self) -> str:
        """The text CID of the rights request this answers."""
        return cid_text(self.rights_request)


@dataclass(frozen=True)
class RightsAck(_Answer):
    """The data user's signed receipt of a rights request, with its due date (``typ`` …rights-ack+cwt)."""

    TYP = Typ.RIGHTS_ACK

    data_user: str
    user: str
    rights_request: bytes
    received_at: int
    due_at: int
    answer_id: bytes
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.data_user, "data_user")
        check_did(self.user, "user")
        _check_cid(self.rights_request, "rights_request")
        check_int(self.received_at, "received_at", 0, 2**40)
        check_int(self.due_at, "due_at", self.received_at + 1, 2**40)
        check_bytes(self.answer_id, "answer_id", 16)

    @classmethod
    def answer(cls, request: RightsRequest, *, due_at: int, now: int | None = None,
               answer_id: bytes | None = None) -> RightsAck:
        """The acknowledgement of a decoded ``request``, due by ``due_at``."""
        if not request.raw:
            raise InvalidArgument("the rights request must be decoded", field="rights_request")
        return cls(data_user=request.data_user, user=request.user, rights_request=cid_bytes(request.raw),
                   received_at=clock.now(now), due_at=due_at,
                   answer_id=answer_id if answer_id is not None else secrets.token_bytes(16))

    def to_claims(self) -> dict[Any, Any]:
        return {Claim.ISS: self.data_user, Claim.AUD: self.user, Claim.IAT: self.received_at,
                Claim.CTI: self.answer_id, "rreq": self.rights_request, "due": self.due_at}

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> RightsAck:
        return cls(
            data_user=claim(claims, Claim.ISS, str, "iss"),
            user=claim(claims, Claim.AUD, str, "aud"),
            rights_request=claim(claims, "rreq", bytes, "rreq"),
            received_at=claim(claims, Claim.IAT, int, "iat"),
            due_at=claim(claims, "due", int, "due"),
            answer_id=claim(claims, Claim.CTI, bytes, "cti"),
        )


@dataclass(frozen=True)
class RightsDone(_Answer):
    """The data user's signed completion: what it did, and when (``typ`` …rights-done+cwt)."""

    TYP = Typ.RIGHTS_DONE

    data_user: str
    user: str
    rights_request: bytes
    kind: RightsKind
    erased_items: tuple[str, ...]
    erased_records: int
    done_at: int
    answer_id: bytes
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.data_user, "data_user")
        check_did(self.user, "user")
        _check_cid(self.rights_request, "rights_request")
        object.__setattr__(self, "kind", _kind(self.kind))
        if not isinstance(self.erased_items, tuple) or len(self.erased_items) > MAX_ITEMS \
                or len(set(self.erased_items)) != len(self.erased_items):
            raise InvalidArgument(f"erased_items must list at most {MAX_ITEMS} distinct items",
                                  field="erased_items")
        for item in self.erased_items:
            check_item_id(item)
        if not self.kind.erases and (self.erased_items or self.erased_records):
            raise InvalidArgument("a stop_use completion erases nothing", field="erased_items")
        check_int(self.erased_records, "erased_records", 0, MAX_RECORDS)
        check_int(self.done_at, "done_at", 0, 2**40)
        check_bytes(self.answer_id, "answer_id", 16)

    @classmethod
    def answer(cls, request: RightsRequest, *, erased_items: tuple[str, ...] = (), erased_records: int = 0,
               now: int | None = None, answer_id: bytes | None = None) -> RightsDone:
        """The completion of a decoded ``request``: what the deletion hook reported."""
        if not request.raw:
            raise InvalidArgument("the rights request must be decoded", field="rights_request")
        return cls(data_user=request.data_user, user=request.user, rights_request=cid_bytes(request.raw),
                   kind=request.kind, erased_items=tuple(erased_items), erased_records=erased_records,
                   done_at=clock.now(now),
                   answer_id=answer_id if answer_id is not None else secrets.token_bytes(16))

    def to_claims(self) -> dict[Any, Any]:
        return {Claim.ISS: self.data_user, Claim.AUD: self.user, Claim.IAT: self.done_at,
                Claim.CTI: self.answer_id, "rreq": self.rights_request, "kind": str(self.kind),
                "erased": list(self.erased_items), "records": self.erased_records}

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> RightsDone:
        return cls(
            data_user=claim(claims, Claim.ISS, str, "iss"),
            user=claim(claims, Claim.AUD, str, "aud"),
            rights_request=claim(claims, "rreq", bytes, "rreq"),
            kind=claim(claims, "kind", str, "kind"),  # type: ignore[arg-type]  # checked in __post_init__
            erased_items=text_list(claims, "erased", "erased"),
            erased_records=claim(claims, "records", int, "records"),
            done_at=claim(claims, Claim.IAT, int, "iat"),
            answer_id=claim(claims, Claim.CTI, bytes, "cti"),
        )
