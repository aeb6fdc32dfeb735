"""did:key and Ed25519: the published vectors, and refusal of every other kind of identifier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from multiformats import multibase

from protocol import BadSignature, KeyPair, UnknownKey, did_from_public_key, public_key_from_did, verify_signature

DATA = Path(__file__).parent / "data"
DID_VECTORS = json.loads((DATA / "did_key_vectors.json").read_text())["vectors"]
RFC8032 = json.loads((DATA / "rfc8032_vectors.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", DID_VECTORS, ids=lambda v: v["did"][-6:])
def test_did_key_vectors(vector: dict[str, str]) -> None:
    key = KeyPair.from_seed(bytes.fromhex(vector["seed"]))
    assert key.did == vector["did"]
    public = multibase.decode("z" + vector["publicKeyBase58"])
    assert key.public_key == public
    assert public_key_from_did(vector["did"]) == public
    assert did_from_public_key(public) == vector["did"]


@pytest.mark.parametrize("vector", RFC8032, ids=lambda v: v["message"] or "empty")
def test_rfc8032_vectors(vector: dict[str, str]) -> None:
    key = KeyPair.from_seed(bytes.fromhex(vector["secret"]))
    assert key.public_key.hex() == vector["public"]
    message = bytes.fromhex(vector["message"])
    assert key.sign(message).hex() == vector["signature"]
    verify_signature(key.did, message, bytes.fromhex(vector["signature"]))
    with pytest.raises(BadSignature) as err:
        verify_signature(key.did, message + b"x", bytes.fromhex(vector["signature"]))
    assert err.value.code == "bad_signature"


X25519_DID = "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"


@pytest.mark.parametrize(
    "did",
    [
        "did:web:example.com",  # another method
        "did:key:",  # empty
        X25519_DID,  # another multicodec (x25519-pub)
        "did:key:zTjsVPtY",  # right format, too short for an Ed25519 key
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0",  # '0' is not base58
        "did:key:bafy" + "a" * 40,  # another multibase
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#frag",  # fragment
        "did:key:z" + "2" * 200,  # absurdly long
        "DID:KEY:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",  # wrong case
    ],
)
def test_bad_did_key_is_unknown_key(did: str) -> None:
    with pytest.raises(UnknownKey) as err:
        public_key_from_did(did)
    assert err.value.code == "unknown_key"


def test_wrong_key_length_refused() -> None:
    with pytest.raises(UnknownKey):
        did_from_public_key(b"\x01" * 31)


def test_repr_hides_secret() -> None:
    key = KeyPair.from_seed(b"\x07" * 32)
    assert key.seed.hex() not in repr(key)
    assert key.did in repr(key)
