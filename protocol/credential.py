"""ConsentCredential: the user's signed consent, kept in the user's wallet.

issuer = the user (their ``did:key``), subject = the data user it is granted to, audience = the
data holder that may release the data.  It names the granted items and purposes, its validity,
the CID of the request it answers (which covers the notice the user saw, ``lang`` says in which
language), and its entry in a status list with the per-list key that signs that list, so the
holder can check revocation without the registry ever seeing the user's DID.

On the wire it is kept small (a typical consent is under 500 bytes): the issuer is the signer,
named only by the COSE ``kid``; the subject is the proof-of-possession key of RFC 8747
(``cnf`` holding a ``COSE_Key``), which is what a presentation's signature is checked against;
the other terms sit under one private-use claim (``Claim.CONSENT``) with small integer keys,
and every key in them is a raw 32-byte Ed25519 public key, not the 56 characters of its DID.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import clock
from ._model import _LANG as LANG_CODE
from ._model import _URL as HTTP_URL
from ._model import (
    SignedModel,
    check_bytes,
    check_did,
    check_int,
    check_lang,
    check_times,
    check_unique,
    check_url,
    claim,
    matches,
    text_list,
)
from .cid import cid_bytes, cid_text
from .enums import Claim, Confirmation, ConsentTerm, CoseCurve, CoseKey, CoseKeyType, Typ
from .errors import DecodeError, InvalidArgument, RequestMismatch, UnknownKey
from .keys import did_from_public_key, public_key_from_did
from .request import MAX_ITEMS, MAX_PURPOSES, ConsentRequest
from .vocab import ITEM_ID, PURPOSE_TERM, check_item_id, check_purpose_term

__all__ = ["ConsentCredential", "StatusRef"]

#: Clock skew tolerated between wallet and data holder when checking validity (seconds).
LEEWAY = 60

# The labels read on every verify, as plain ints: a dict lookup with an IntEnum key costs several
# times one with an int (the key is not the dict's own object, so the comparison goes the slow
# way), and a data holder reads ~30 of them per consent.
_EXP, _NBF, _IAT, _CTI, _CNF, _STATUS, _CONSENT = map(
    int, (Claim.EXP, Claim.NBF, Claim.IAT, Claim.CTI, Claim.CNF, Claim.STATUS, Claim.CONSENT))
_COSE_KEY, _KTY, _CRV, _X, _OKP, _ED25519 = map(
    int, (Confirmation.COSE_KEY, CoseKey.KTY, CoseKey.CRV, CoseKey.X, CoseKeyType.OKP, CoseCurve.ED25519))
_AUDIENCE, _ITEMS, _PURPOSES, _REQUEST, _LANG, _RETENTION, _ONWARD, _STATUS_KEY = map(int, ConsentTerm)
_SUBJECT_KEY_LABELS = frozenset((_KTY, _CRV, _X))


@dataclass(frozen=True)
class StatusRef:
    """Where a credential's status lives: list URI, index, and the DID of the list's signing key."""

    uri: str
    index: int
    key: str

    def __post_init__(self) -> None:
        check_url(self.uri, "status.uri")
        check_int(self.index, "status.idx", 0, 2**32)
        check_did(self.key, "status_key")


@dataclass(frozen=True)
class ConsentCredential(SignedModel):
    """A consent signed by the user (``typ`` application/vnd.copyme.consent+cwt)."""

    TYP = Typ.CONSENT
    signer_claim = "issuer"

    issuer: str
    subject: str
    audience: str
    items: tuple[str, ...]
    purposes: tuple[str, ...]
    request: bytes
    lang: str
    retention_days: int
    onward_sharing: bool
    status: StatusRef
    issued_at: int
    not_before: int
    expires_at: int
    credential_id: bytes
    raw: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        check_did(self.issuer, "issuer")
        check_did(self.subject, "subject")
        check_did(self.audience, "audience")
        check_unique(self.items, "items", MAX_ITEMS)
        for item in self.items:
            check_item_id(item)
        check_unique(self.purposes, "purposes", MAX_PURPOSES)
        for purpose in self.purposes:
            check_purpose_term(purpose)
        check_bytes(self.request, "request", 36)
        if not self.request.startswith(b"\x01\x51\x12\x20"):
            raise InvalidArgument("request must be a CIDv1 (cbor, sha2-256)", field="request")
        check_lang(self.lang, "lang")
        check_int(self.retention_days, "retention_days", 1, 36500)
        if type(self.onward_sharing) is not bool:
            raise InvalidArgument("onward_sharing must be true or false", field="onward_sharing")
        if not isinstance(self.status, StatusRef):
            raise InvalidArgument("status must be a StatusRef", field="status")
        check_int(self.issued_at, "issued_at", 0, 2**40)
        check_int(self.not_before, "not_before", 0, 2**40)
        check_int(self.expires_at, "expires_at", self.not_before + 1, 2**40)
        check_bytes(self.credential_id, "credential_id", 16)

    @property
    def request_cid(self) -> str:
        """The text CID of the request this consent answers."""
        return cid_text(self.request)

    def answers(self, request_bytes: bytes) -> bool:
        """Whether this consent was given to exactly these signed request bytes."""
        return cid_bytes(request_bytes) == self.request

    @classmethod
    def grant(
        cls,
        request: ConsentRequest,
        *,
        user: str,
        items: tuple[str, ...] | None = None,
        status: StatusRef,
        lang: str = "ja",
        now: int | None = None,
        credential_id: bytes | None = None,
        validity_days: int | None = None,
    ) -> ConsentCredential:
        """The credential a user gives in answer to a signed ``request``.

        ``items`` defaults to every requested item; all required items must be in it and
        nothing outside the request may be, or :class:`InvalidArgument` is raised.
        ``validity_days`` lets the user shorten the requested validity (1 up to the request's).
        """
        if not request.raw:
            raise InvalidArgument("the request must be a decoded, signed request", field="request")
        chosen = tuple(i.id for i in request.items) if items is None else tuple(items)
        requested = {i.id for i in request.items}
        if extra := [i for i in chosen if i not in requested]:
            raise InvalidArgument(f"not requested: {', '.join(extra)}", field="items")
        if missing := [i for i in request.required_items if i not in chosen]:
            raise InvalidArgument(f"required items left out: {', '.join(missing)}", field="items")
        days = request.validity_days if validity_days is None else validity_days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= request.validity_days:
            raise InvalidArgument(f"validity_days must be 1 to {request.validity_days} (the request's)",
                                  field="validity_days")
        issued = clock.now(now)
        credential = cls(
            issuer=user,
            subject=request.requester,
            audience=request.holder,
            items=tuple(i.id for i in request.items if i.id in chosen),
            purposes=request.purposes,
            request=cid_bytes(request.raw),
            lang=lang,
            retention_days=request.retention_days,
            onward_sharing=request.onward_sharing,
            status=status,
            issued_at=issued,
            not_before=issued,
            expires_at=issued + days * 86400,
            credential_id=credential_id if credential_id is not None else secrets.token_bytes(16),
        )
        credential.check_answers(request)
        return credential

    def check_answers(self, request: ConsentRequest) -> None:
        """Raise ``request_mismatch`` unless this consent is a faithful answer to ``request``.

        A faithful answer names the request by CID, is granted to its requester for its data
        holder, grants only requested items and every required one, only requested purposes,
        the requested retention and onward-sharing terms, and no longer a validity than asked.
        """
        problems = []
        if not request.raw or cid_bytes(request.raw) != self.request:
            problems.append("it names another request")
        if self.subject != request.requester:
            problems.append("it is granted to someone else than the requester")
        if self.audience != request.holder:
            problems.append("it names another data holder")
        requested = {i.id for i in request.items}
        if not set(self.items) <= requested:
            problems.append("it grants items that were not requested")
        if not set(request.required_items) <= set(self.items):
            problems.append("it leaves out required items")
        if not set(self.purposes) <= set(request.purposes):
            problems.append("it grants purposes that were not requested")
        if (self.retention_days, self.onward_sharing) != (request.retention_days, request.onward_sharing):
            problems.append("its retention or onward-sharing terms differ from the request")
        if self.expires_at - self.not_before > request.validity_days * 86400:
            problems.append("it is valid for longer than requested")
        if problems:
            raise RequestMismatch("; ".join(problems))

    def check_validity(self, now: int | None = None) -> None:
        """Raise ``not_yet_valid`` or ``expired`` for ``now`` outside nbf..exp (with leeway)."""
        check_times(self.issued_at, self.not_before, self.expires_at, now, LEEWAY)

    def to_claims(self) -> dict[Any, Any]:
        return {
            Claim.EXP: self.expires_at,
            Claim.NBF: self.not_before,
            Claim.IAT: self.issued_at,
            Claim.CTI: self.credential_id,
            Claim.CNF: {Confirmation.COSE_KEY: {CoseKey.KTY: CoseKeyType.OKP, CoseKey.CRV: CoseCurve.ED25519,
                                                CoseKey.X: public_key_from_did(self.subject)}},
            Claim.STATUS: {"status_list": {"idx": self.status.index, "uri": self.status.uri}},
            Claim.CONSENT: {
                ConsentTerm.AUDIENCE: public_key_from_did(self.audience),
                ConsentTerm.ITEMS: list(self.items),
                ConsentTerm.PURPOSES: list(self.purposes),
                ConsentTerm.REQUEST: self.request,
                ConsentTerm.LANG: self.lang,
                ConsentTerm.RETENTION: self.retention_days,
                ConsentTerm.ONWARD: self.onward_sharing,
                ConsentTerm.STATUS_KEY: public_key_from_did(self.status.key),
            },
        }

    @classmethod
    def from_claims(cls, claims: Mapping[Any, Any]) -> ConsentCredential:
        raise DecodeError("a consent's issuer is its signer: read it from the signed bytes (kid)", field="iss")

    @classmethod
    def from_signed_claims(cls, claims: Mapping[Any, Any], signer: str) -> ConsentCredential:
        well_formed = _from_well_formed_claims(cls, claims, signer)
        if well_formed is not None:
            return well_formed
        # Something is missing, mistyped or out of its limits: build it the careful way, which
        # raises for the first problem in the documented order.
        status = claim(claims, _STATUS, dict, "status")
        # Other members of ``status`` are other status mechanisms (the draft's extension point);
        # CopyMe relies on the status list alone and ignores them.
        status_list = claim(status, "status_list", dict, "status.status_list")
        cnf = claim(claims, _CNF, dict, "cnf")
        subject_key = claim(cnf, _COSE_KEY, dict, "cnf.COSE_Key")
        if (subject_key.keys() != _SUBJECT_KEY_LABELS
                or claim(subject_key, _KTY, int, "cnf.COSE_Key.kty") != _OKP
                or claim(subject_key, _CRV, int, "cnf.COSE_Key.crv") != _ED25519):
            raise DecodeError("cnf must hold exactly an OKP Ed25519 COSE_Key (kty 1, crv 6, x)", field="cnf")
        terms = claim(claims, _CONSENT, dict, "consent")
        return cls(
            issuer=signer,
            subject=_did(subject_key, _X, "cnf.COSE_Key.x"),
            audience=_did(terms, _AUDIENCE, "audience"),
            items=text_list(terms, _ITEMS, "items"),
            purposes=text_list(terms, _PURPOSES, "purposes"),
            request=claim(terms, _REQUEST, bytes, "req"),
            lang=claim(terms, _LANG, str, "lang"),
            retention_days=claim(terms, _RETENTION, int, "retention"),
            onward_sharing=claim(terms, _ONWARD, bool, "onward"),
            status=StatusRef(
                uri=claim(status_list, "uri", str, "status.uri"),
                index=claim(status_list, "idx", int, "status.idx"),
                key=_did(terms, _STATUS_KEY, "status_key"),
            ),
            issued_at=claim(claims, _IAT, int, "iat"),
            not_before=claim(claims, _NBF, int, "nbf"),
            expires_at=claim(claims, _EXP, int, "exp"),
            credential_id=claim(claims, _CTI, bytes, "cti"),
        )

def _did(claims: Mapping[Any, Any], key: Any, name: str) -> str:
    """The ``did:key`` of a raw 32-byte Ed25519 public key in a peer's claims (``malformed`` if not one)."""
    try:
        return did_from_public_key(claim(claims, key, bytes, name))
    except UnknownKey:
        raise DecodeError(f"claim {name!r} must be a 32-byte Ed25519 public key", field=name) from None


_SEEN_ITEMS: set[str] = set()
_SEEN_PURPOSES: set[str] = set()
_SEEN_LANGS: set[str] = set()
_SEEN_URIS: set[str] = set()


def _from_well_formed_claims(cls: type[ConsentCredential], claims: Mapping[Any, Any],
                             signer: str) -> ConsentCredential | None:
    """The credential of ``claims`` if every claim is present, of its type and within its
    limits, else ``None`` (and :meth:`ConsentCredential.from_signed_claims` takes the careful path).

    The hot half of every verify.  It makes every check the careful path makes (the claim
    readers, then ``StatusRef`` and ``ConsentCredential`` validation), inline, and fills the
    frozen dataclasses directly instead of through ``__init__``, which would check again what
    was just checked.  Two checks are not repeated because they cannot fail here: each DID is
    made from a 32-byte key (so it is a valid ``did:key``), and ``status`` is the
    ``StatusRef`` made below.  ``tests/protocol/test_fast_build.py`` holds both paths to
    the same answer on every single-claim change of a valid consent.
    """
    status = claims.get(_STATUS)
    cnf = claims.get(_CNF)
    terms = claims.get(_CONSENT)
    if type(status) is not dict or type(cnf) is not dict or type(terms) is not dict:
        return None
    status_list = status.get("status_list")
    subject_key = cnf.get(_COSE_KEY)
    if type(status_list) is not dict or type(subject_key) is not dict or subject_key.keys() != _SUBJECT_KEY_LABELS:
        return None
    kty, crv, x = subject_key[_KTY], subject_key[_CRV], subject_key[_X]
    if type(kty) is not int or kty != _OKP or type(crv) is not int or crv != _ED25519:
        return None
    audience, status_key = terms.get(_AUDIENCE), terms.get(_STATUS_KEY)
    if (type(x) is not bytes or len(x) != 32 or type(audience) is not bytes or len(audience) != 32
            or type(status_key) is not bytes or len(status_key) != 32):
        return None
    items, purposes = terms.get(_ITEMS), terms.get(_PURPOSES)
    if (type(items) is not list or not 0 < len(items) <= MAX_ITEMS or type(purposes) is not list
            or not 0 < len(purposes) <= MAX_PURPOSES):
        return None
    for item in items:
        if type(item) is not str or not matches(item, ITEM_ID, _SEEN_ITEMS):
            return None
    for purpose in purposes:
        if type(purpose) is not str or not matches(purpose, PURPOSE_TERM, _SEEN_PURPOSES):
            return None
    if len(set(items)) != len(items) or len(set(purposes)) != len(purposes):
        return None
    request, lang = terms.get(_REQUEST), terms.get(_LANG)
    if (type(request) is not bytes or len(request) != 36 or not request.startswith(b"\x01\x51\x12\x20")
            or type(lang) is not str or not matches(lang, LANG_CODE, _SEEN_LANGS)):
        return None
    retention, onward = terms.get(_RETENTION), terms.get(_ONWARD)
    if type(retention) is not int or not 1 <= retention <= 36500 or type(onward) is not bool:
        return None
    uri, idx = status_list.get("uri"), status_list.get("idx")
    if (type(uri) is not str or len(uri) > 2048 or not matches(uri, HTTP_URL, _SEEN_URIS)
            or type(idx) is not int or not 0 <= idx <= 2**32):
        return None
    iat, nbf, exp, cti = claims.get(_IAT), claims.get(_NBF), claims.get(_EXP), claims.get(_CTI)
    if (type(iat) is not int or not 0 <= iat <= 2**40 or type(nbf) is not int or not 0 <= nbf <= 2**40
            or type(exp) is not int or not nbf + 1 <= exp <= 2**40 or type(cti) is not bytes or len(cti) != 16):
        return None
    try:
        public_key_from_did(signer)  # the caller's word (remembered: the signer is a kid's did:key)
    except UnknownKey:
        return None
    status_ref = object.__new__(StatusRef)
    status_ref.__dict__.update(uri=uri, index=idx, key=did_from_public_key(status_key))
    credential = object.__new__(cls)
    credential.__dict__.update(
        issuer=signer, subject=did_from_public_key(x), audience=did_from_public_key(audience),
        items=tuple(items), purposes=tuple(purposes), request=request, lang=lang, retention_days=retention,
        onward_sharing=onward, status=status_ref, issued_at=iat, not_before=nbf, expires_at=exp,
        credential_id=cti, raw=b"")
    return credential
