"""CopyMe's shared protocol: keys, deterministic CBOR, COSE_Sign1 and the signed wire objects.

``wallet``, ``issuer``, ``verifier`` and ``registry`` import this package and never each other.
It imports no web framework, CLI toolkit or database code.  The wire format is written down in
``specs/protocol.md``; test vectors live in ``specs/vectors/``.
"""

from __future__ import annotations

from . import cbor, cose
from ._model import check_did, check_url
from .adapters import cli_exit, error_from_response, error_response
from .cid import cid_binary, cid_bytes, cid_of, cid_text, parse_cid
from .credential import ConsentCredential, StatusRef
from .decline import Decline
from .did_link import DidLink, DidPossession
from .enums import COSE_SIGN1_TAG, Claim, CoseAlg, CoseHeader, Status, Typ
from .errors import (
    BadSignature,
    ChainBroken,
    ChainGap,
    ClockSkew,
    Conflict,
    CopyMeError,
    DecodeError,
    Expired,
    ForeignConsent,
    InvalidArgument,
    ItemsNotGranted,
    KeyReplaced,
    NotFound,
    NotLinked,
    NotSubject,
    NotYetValid,
    PurposeNotGranted,
    Replayed,
    RequestMismatch,
    Revoked,
    StaleNotice,
    StatusInvalid,
    StatusRollback,
    StatusUnavailable,
    StatusUntrusted,
    Suspended,
    TooLarge,
    Unavailable,
    UnknownConsent,
    UnknownItem,
    UnknownKey,
    UnknownPurpose,
    UnsupportedAlg,
    WrongAudience,
    WrongSigner,
    WrongType,
    error_class,
    error_codes,
)
from .keys import KeyPair, did_from_public_key, public_key_from_did, verify_signature
from .link import MAX_LINK_CODE, LinkProof
from .links import make_deep_link, parse_deep_link
from .presentation import Presentation
from .receipt import UsageReceipt
from .receipt_query import ReceiptQuery
from .replacing import SUMMARISED_TERMS, changed_terms, check_new_notice
from .request import ConsentRequest, Item, Notice, NoticeText
from .rights import RightsAck, RightsDone, RightsKind, RightsRequest
from .status_list import DEFAULT_LIST_SIZE, StatusList, StatusListToken
from .trust_list import Organisation, TrustList, check_registry_url
from .vocab import DEFAULT_VOCABULARY, Label, Vocabulary

__version__ = "0.1.0"

__all__ = [
    "BadSignature",
    "COSE_SIGN1_TAG",
    "ChainBroken",
    "ChainGap",
    "Claim",
    "ClockSkew",
    "Conflict",
    "ConsentCredential",
    "ConsentRequest",
    "CopyMeError",
    "CoseAlg",
    "CoseHeader",
    "DEFAULT_LIST_SIZE",
    "DEFAULT_VOCABULARY",
    "Decline",
    "DecodeError",
    "DidLink",
    "DidPossession",
    "Expired",
    "ForeignConsent",
    "InvalidArgument",
    "Item",
    "ItemsNotGranted",
    "KeyPair",
    "KeyReplaced",
    "Label",
    "LinkProof",
    "MAX_LINK_CODE",
    "NotFound",
    "NotLinked",
    "NotSubject",
    "NotYetValid",
    "Notice",
    "NoticeText",
    "Organisation",
    "Presentation",
    "PurposeNotGranted",
    "ReceiptQuery",
    "Replayed",
    "RequestMismatch",
    "Revoked",
    "RightsAck",
    "RightsDone",
    "RightsKind",
    "RightsRequest",
    "SUMMARISED_TERMS",
    "StaleNotice",
    "Status",
    "StatusInvalid",
    "StatusList",
    "StatusListToken",
    "StatusRef",
    "StatusRollback",
    "StatusUnavailable",
    "StatusUntrusted",
    "Suspended",
    "TooLarge",
    "TrustList",
    "Typ",
    "Unavailable",
    "UnknownConsent",
    "UnknownItem",
    "UnknownKey",
    "UnknownPurpose",
    "UnsupportedAlg",
    "UsageReceipt",
    "Vocabulary",
    "WrongAudience",
    "WrongSigner",
    "WrongType",
    "cbor",
    "changed_terms",
    "check_did",
    "check_new_notice",
    "check_registry_url",
    "check_url",
    "cid_binary",
    "cid_bytes",
    "cid_of",
    "cid_text",
    "cli_exit",
    "cose",
    "did_from_public_key",
    "error_class",
    "error_codes",
    "error_from_response",
    "error_response",
    "make_deep_link",
    "parse_cid",
    "parse_deep_link",
    "public_key_from_did",
    "verify_signature",
]
