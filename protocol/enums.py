"""Registered numbers used on the wire, as enums so that no bare ``4  # exp`` hides in code.

Sources: RFC 9052 (COSE header parameters, COSE_Key labels and the Sign1 tag), RFC 9053
(EdDSA = -8, key type OKP = 1, curve Ed25519 = 6), RFC 9596 (``typ`` = 16), RFC 8392 (CWT
claims), RFC 8747 (``cnf`` = 8, its ``COSE_Key`` member = 1) and the IETF OAuth Token Status
List draft (``status`` 65535, ``status_list`` 65533, ``ttl`` 65534, status values).  The one
private-use claim (RFC 8392 §9.1: keys below -65536) and the keys inside it are CopyMe's own.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "COSE_SIGN1_TAG", "Claim", "Confirmation", "ConsentTerm", "CoseAlg", "CoseCurve", "CoseHeader", "CoseKey",
    "CoseKeyType", "Status", "Typ",
]

#: CBOR tag of a COSE_Sign1 structure (RFC 9052 §4.2).
COSE_SIGN1_TAG = 18


class CoseHeader(IntEnum):
    """COSE header labels (RFC 9052 §3.1, RFC 9596)."""

    ALG = 1
    CRIT = 2
    CONTENT_TYPE = 3
    KID = 4
    IV = 5
    TYP = 16


class CoseAlg(IntEnum):
    """The one COSE algorithm CopyMe accepts."""

    EDDSA = -8


class Claim(IntEnum):
    """CWT claim keys (RFC 8392 §4, Token Status List draft)."""

    ISS = 1
    SUB = 2
    AUD = 3
    EXP = 4
    NBF = 5
    IAT = 6
    CTI = 7
    CNF = 8  # RFC 8747: the key a presenter must prove it holds
    #: Private use (RFC 8392 §9.1, below -65536): a ConsentCredential's terms, keyed by ConsentTerm.
    CONSENT = -65537
    STATUS_LIST = 65533
    TTL = 65534
    STATUS = 65535


class CoseKey(IntEnum):
    """COSE_Key labels of an OKP public key (RFC 9052 §7, RFC 9053 §7.2)."""

    KTY = 1
    CRV = -1
    X = -2


class CoseKeyType(IntEnum):
    """COSE key types (RFC 9053 §7): CopyMe's keys are all OKP."""

    OKP = 1


class CoseCurve(IntEnum):
    """COSE elliptic curves (RFC 9053 §7.1): CopyMe's keys are all Ed25519."""

    ED25519 = 6


class Confirmation(IntEnum):
    """Members of the ``cnf`` claim (RFC 8747 §3.1)."""

    COSE_KEY = 1


class ConsentTerm(IntEnum):
    """Keys inside a ConsentCredential's private claim (``Claim.CONSENT``)."""

    AUDIENCE = 1  # the data holder's raw Ed25519 public key
    ITEMS = 2
    PURPOSES = 3
    REQUEST = 4  # binary CID of the signed request
    LANG = 5
    RETENTION = 6
    ONWARD = 7
    STATUS_KEY = 8  # the status list key's raw Ed25519 public key


class Status(IntEnum):
    """Values of a 2-bit status entry (Token Status List draft §7.1)."""

    VALID = 0
    REVOKED = 1  # the draft's INVALID
    SUSPENDED = 2
    APPLICATION = 3  # application specific: never written by CopyMe, read as invalid


class Typ(StrEnum):
    """The ``typ`` header value of each signed object; a verifier insists on the one it expects."""

    REQUEST = "application/vnd.copyme.request+cwt"
    CONSENT = "application/vnd.copyme.consent+cwt"
    PRESENTATION = "application/vnd.copyme.presentation+cwt"
    STATUS_LIST = "application/statuslist+cwt"
    TRUST_LIST = "application/vnd.copyme.trustlist+cwt"
    LINK = "application/vnd.copyme.link+cwt"
    DID_LINK = "application/vnd.copyme.did-link+cwt"
    DID_POSSESSION = "application/vnd.copyme.did-pop+cwt"
    RECEIPT = "application/vnd.copyme.receipt+cwt"
    RECEIPT_QUERY = "application/vnd.copyme.receipt-query+cwt"
    RIGHTS = "application/vnd.copyme.rights+cwt"
    RIGHTS_ACK = "application/vnd.copyme.rights-ack+cwt"
    RIGHTS_DONE = "application/vnd.copyme.rights-done+cwt"
    DECLINE = "application/vnd.copyme.decline+cwt"
