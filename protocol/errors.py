"""Every error CopyMe raises, each with a stable machine-readable ``code``.

A refusal must be explainable to a user, a data holder's auditor and a script alike, so each
error class carries one fixed code that is spelled the same in library errors, HTTP bodies
(``{"error": code, "detail": ...}``), CLI messages and the docs.  Untrusted input can only
ever raise these classes; foreign exceptions are translated where they arise.

The tree::

    CopyMeError
    ├── InvalidArgument (ValueError)          invalid          caller passed a bad value
    │   ├── UnknownItem                        unknown_item
    │   └── UnknownPurpose                     unknown_purpose
    ├── DecodeError                            malformed
    │   └── TooLarge                           too_large
    ├── UnsupportedAlg                         unsupported_alg
    ├── WrongType                              wrong_type
    ├── BadSignature                           bad_signature
    ├── UnknownKey                             unknown_key
    ├── WrongAudience                          wrong_audience
    ├── NotSubject                             not_subject
    ├── Replayed                               replayed
    │   └── ClockSkew                          clock_skew
    ├── Expired                                expired
    ├── NotYetValid                            not_yet_valid
    ├── ItemsNotGranted                        items_not_granted
    ├── PurposeNotGranted                      purpose_not_granted
    ├── NotLinked                              not_linked
    │   └── KeyReplaced                        key_replaced     the DID was replaced by the user
    ├── Revoked                                revoked
    ├── Suspended                              suspended
    ├── StatusUnavailable                      status_unavailable
    ├── StatusUntrusted                        status_untrusted
    ├── StatusInvalid                          status_invalid
    ├── StatusRollback                         status_rollback
    ├── RequestMismatch                        request_mismatch
    ├── ChainGap                               chain_gap        a usage receipt is missing
    ├── ChainBroken                            chain_broken     a usage receipt was rewritten
    ├── WrongSigner                            wrong_signer     signed by a key other than the one it must be
    ├── ForeignConsent                         foreign_consent  names a consent given to another data user
    ├── StaleNotice                            stale_notice     changes summarised terms, keeps the old key points
    ├── NotFound                               not_found
    │   └── UnknownConsent                     unknown_consent
    ├── Conflict                               conflict
    └── Unavailable                            unavailable      a peer service did not answer

Packages add their own subclasses (with their own codes) where a case needs one.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadSignature",
    "ChainBroken",
    "ChainGap",
    "ClockSkew",
    "Conflict",
    "CopyMeError",
    "DecodeError",
    "Expired",
    "ForeignConsent",
    "InvalidArgument",
    "ItemsNotGranted",
    "KeyReplaced",
    "NotFound",
    "NotLinked",
    "NotSubject",
    "NotYetValid",
    "PurposeNotGranted",
    "Replayed",
    "RequestMismatch",
    "Revoked",
    "StaleNotice",
    "StatusInvalid",
    "StatusRollback",
    "StatusUnavailable",
    "StatusUntrusted",
    "Suspended",
    "TooLarge",
    "Unavailable",
    "UnknownConsent",
    "UnknownItem",
    "UnknownKey",
    "UnknownPurpose",
    "UnsupportedAlg",
    "WrongAudience",
    "WrongSigner",
    "WrongType",
    "error_class",
    "error_codes",
]


class CopyMeError(Exception):
    """Base of every CopyMe error; ``code`` is the stable reason code, ``detail`` is for humans."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    exit_status: ClassVar[int] = 1

    def __init__(self, detail: str = "", *, field: str | None = None) -> None:
        # one line, always: a detail quoting a foreign error (sqlite, JSON, a peer) may hold line
        # breaks, and an error is one line in a log, a CLI message and an HTTP body alike
        self.detail = " ".join((detail or self.code.replace("_", " ")).splitlines()).strip()
        self.field = field
        super().__init__(self.detail)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    def to_dict(self) -> dict[str, str]:
        """The JSON body every HTTP service returns for this error."""
        body = {"error": self.code, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidArgument(CopyMeError, ValueError):
    """A caller (not a peer) passed a value that cannot be used; ``field`` names it."""

    code = "invalid"
    http_status = 422
    exit_status = 2


class UnknownItem(InvalidArgument):
    """A data item id that the vocabulary in use does not define."""

    code = "unknown_item"


class UnknownPurpose(InvalidArgument):
    """A purpose that is not a known W3C DPV purpose term."""

    code = "unknown_purpose"


class DecodeError(CopyMeError):
    """Bytes that are not a well-formed object of the expected shape."""

    code = "malformed"


class TooLarge(DecodeError):
    """Input above the size limit; refused before any parsing work."""

    code = "too_large"
    http_status = 413


class UnsupportedAlg(CopyMeError):
    """A COSE algorithm other than EdDSA, or one not in the protected header."""

    code = "unsupported_alg"


class WrongType(CopyMeError):
    """A signed object whose ``typ`` is missing or names another kind of object."""

    code = "wrong_type"


class _Refusal(CopyMeError):
    """Refusals of a well-formed object: forbidden, not malformed."""

    http_status = 403
    exit_status = 3


class BadSignature(_Refusal):
    """The signature does not verify under the key the object names."""

    code = "bad_signature"


class UnknownKey(_Refusal):
    """The signer's key cannot be resolved (no ``kid``, or not an Ed25519 ``did:key``)."""

    code = "unknown_key"


class WrongAudience(_Refusal):
    """The object is addressed to someone else."""

    code = "wrong_audience"


class NotSubject(_Refusal):
    """The presenter is not the party the credential was granted to."""

    code = "not_subject"


class Replayed(_Refusal):
    """A presentation id or nonce that was already used, or one outside the time window."""

    code = "replayed"


class ClockSkew(Replayed):
    """A presentation's ``iat`` outside the holder's time window (±120 s): most likely a clock
    that is wrong, so it has its own code (a kind of ``replayed``: the replay cache cannot vouch
    for a presentation from outside its horizon)."""

    code = "clock_skew"


class Expired(_Refusal):
    """Past its ``exp``."""

    code = "expired"


class NotYetValid(_Refusal):
    """Before its ``nbf`` (or issued in the future)."""

    code = "not_yet_valid"


class ItemsNotGranted(_Refusal):
    """Some requested data items are outside what the consent grants."""

    code = "items_not_granted"


class PurposeNotGranted(_Refusal):
    """The stated purpose is not one the consent grants."""

    code = "purpose_not_granted"


class NotLinked(_Refusal):
    """The credential's issuer DID is not linked to any customer of this data holder."""

    code = "not_linked"


class KeyReplaced(NotLinked):
    """The DID was linked, but the user replaced its key (a compromised key still presenting)."""

    code = "key_replaced"


class Revoked(_Refusal):
    """The consent was revoked by the user (final)."""

    code = "revoked"


class Suspended(_Refusal):
    """The consent is paused by the user; it may be resumed."""

    code = "suspended"


class StatusUnavailable(_Refusal):
    """No fresh status list could be had: fail closed."""

    code = "status_unavailable"
    http_status = 503


class StatusUntrusted(_Refusal):
    """The status list URI is not on a registry this party trusts; nothing was fetched."""

    code = "status_untrusted"


class StatusInvalid(_Refusal):
    """The status list is unverifiable, signed by the wrong key, or does not cover the entry."""

    code = "status_invalid"


class StatusRollback(_Refusal):
    """A status list older than one already seen."""

    code = "status_rollback"
    http_status = 409


class RequestMismatch(_Refusal):
    """A credential that does not answer the request it claims to answer."""

    code = "request_mismatch"


class ChainGap(_Refusal):
    """A usage receipt's sequence number skips one or more receipts the wallet never received."""

    code = "chain_gap"
    http_status = 409


class ChainBroken(_Refusal):
    """A usage receipt that does not chain to the one before it: a receipt was rewritten."""

    code = "chain_broken"
    http_status = 409
class WrongSigner(_Refusal):
    """A well-signed object from the wrong party: a rights request not signed by the key that
    signed the consent, or an answer not signed by the data user the request went to."""

    code = "wrong_signer"


class ForeignConsent(_Refusal):
    """A replacement request naming a consent that was given to another data user."""

    code = "foreign_consent"


class StaleNotice(_Refusal):
    """A replacement request that changes a term its notice's key points summarise (items,
    purposes, retention, onward sharing, data holder) but keeps the replaced request's key points:
    the old points would tell the user something no longer true."""

    code = "stale_notice"


class NotFound(CopyMeError):
    """The named thing does not exist here."""

    code = "not_found"
    http_status = 404
    exit_status = 4


class UnknownConsent(NotFound):
    """A rights request (or replacement) naming a consent the receiving party does not hold."""

    code = "unknown_consent"


class Conflict(CopyMeError):
    """The operation clashes with the current state (e.g. resuming a revoked consent)."""

    code = "conflict"
    http_status = 409
    exit_status = 5


class Unavailable(CopyMeError):
    """A peer service could not be reached or answered with nonsense."""

    code = "unavailable"
    http_status = 503
    exit_status = 6


def _all_subclasses(cls: type[CopyMeError]) -> list[type[CopyMeError]]:
    out: list[type[CopyMeError]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def error_codes() -> dict[str, type[CopyMeError]]:
    """Every reason code known in this process (including packages' own), mapped to its class."""
    codes: dict[str, type[CopyMeError]] = {}
    for cls in _all_subclasses(CopyMeError):
        if cls.code not in codes and not cls.__name__.startswith("_"):
            codes[cls.code] = cls
    return codes


def error_class(code: str) -> type[CopyMeError]:
    """The class for a reason code received from a peer, e.g. in an HTTP error body.

    Unknown codes map to the base class so that a newer peer never crashes an older client.
    """
    return error_codes().get(code, CopyMeError)
