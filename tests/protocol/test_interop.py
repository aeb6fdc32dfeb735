"""Interoperability with COSE code nobody here wrote: python-cwt and pycose, both ways.

Both libraries verify what we sign, and we verify what they sign over the same payload.  Given
the protected header in deterministic key order (alg 1, kid 4, typ 16) they produce exactly our
bytes; in another order their header is not deterministic CBOR and we refuse it as malformed.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cwt import COSE, COSEKey
from pycose.algorithms import EdDSA
from pycose.headers import KID, Algorithm
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

from protocol import DecodeError
from tests.support import samples
from tests.support.samples import KEYS


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _objects() -> list[tuple[Any, Any]]:
    return [
        (samples.request(), KEYS.requester),
        (samples.credential(), KEYS.user),
        (samples.presentation(), KEYS.requester),
        (samples.status_list_token(), KEYS.status),
        (samples.trust_list(), KEYS.council),
        (samples.link_proof(), KEYS.user),
    ]


IDS = ["request", "credential", "presentation", "status_list", "trust_list", "link"]


@pytest.mark.parametrize("obj, key", _objects(), ids=IDS)
def test_python_cwt_verifies_ours(obj: Any, key: Any) -> None:
    public = COSEKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": _b64(key.public_key), "alg": "EdDSA",
                               "kid": key.did})
    assert COSE.new().decode(obj.sign(key), public) == obj.to_payload()


@pytest.mark.parametrize("obj, key", _objects(), ids=IDS)
def test_we_verify_python_cwt(obj: Any, key: Any) -> None:
    private = COSEKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "d": _b64(key.seed), "x": _b64(key.public_key),
                                "alg": "EdDSA"})
    theirs = COSE.new().encode_and_sign(
        obj.to_payload(), private, protected={1: -8, 4: key.did.encode(), 16: str(obj.TYP)}, unprotected={}
    )
    assert type(obj).decode(theirs) == obj
    assert theirs == obj.sign(key)


@pytest.mark.parametrize("obj, key", _objects(), ids=IDS)
def test_pycose_verifies_ours(obj: Any, key: Any) -> None:
    message = Sign1Message.decode(obj.sign(key))
    message.key = OKPKey(crv=Ed25519, x=key.public_key)
    assert message.verify_signature()
    assert message.payload == obj.to_payload()


@pytest.mark.parametrize("obj, key", _objects(), ids=IDS)
def test_we_verify_pycose(obj: Any, key: Any) -> None:
    message = Sign1Message(phdr={Algorithm: EdDSA, KID: key.did.encode(), 16: str(obj.TYP)},
                           payload=obj.to_payload())
    message.key = OKPKey(crv=Ed25519, x=key.public_key, d=key.seed)
    assert type(obj).decode(message.encode()) == obj


def test_non_deterministic_foreign_header_is_refused() -> None:
    cred, key = samples.credential(), KEYS.user
    private = COSEKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "d": _b64(key.seed), "x": _b64(key.public_key),
                                "alg": "EdDSA"})
    theirs = COSE.new().encode_and_sign(
        cred.to_payload(), private, protected={1: -8, 16: str(cred.TYP), 4: key.did.encode()}, unprotected={}
    )
    with pytest.raises(DecodeError):
        type(cred).decode(theirs)
