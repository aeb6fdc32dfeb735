"""COSE_Sign1: what we sign verifies, and every header or signature trick is refused by code."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import (
    BadSignature,
    CopyMeError,
    DecodeError,
    KeyPair,
    UnknownKey,
    UnsupportedAlg,
    WrongType,
    cbor,
    cose,
)

KEY = KeyPair.from_seed(b"\x11" * 32)
TYP = "application/vnd.copyme.consent+cwt"
PAYLOAD = cbor.encode({1: KEY.did, 6: 1})


def _sign_raw(protected: dict[int, Any], payload: bytes = PAYLOAD, unprotected: dict[int, Any] | None = None,
              key: KeyPair = KEY, tag: int | None = 18) -> bytes:
    prot = cbor.encode(protected)
    sig = key.sign(cose.sig_structure(prot, payload))
    body = [prot, unprotected or {}, payload, sig]
    return cbor.encode(cbor.Tag(tag, body) if tag is not None else body, tags=(tag or 18,))


def _good_header(key: KeyPair = KEY) -> dict[int, Any]:
    return {1: -8, 16: TYP, 4: key.public_key}


def test_sign_and_verify() -> None:
    data = cose.sign1(PAYLOAD, KEY, TYP)
    signed = cose.verify1(data, TYP)
    assert signed.signer == KEY.did
    assert signed.claims == {1: KEY.did, 6: 1}
    assert data == _sign_raw(_good_header())  # the same bytes as built by hand


@pytest.mark.parametrize(
    "data, error, code",
    [
        (_sign_raw({1: -7, 16: TYP, 4: KEY.public_key}), UnsupportedAlg, "unsupported_alg"),
        (_sign_raw({16: TYP, 4: KEY.public_key}), UnsupportedAlg, "unsupported_alg"),
        (_sign_raw({16: TYP, 4: KEY.public_key}, unprotected={1: -8}), UnsupportedAlg, "unsupported_alg"),
        (_sign_raw({1: -8, 4: KEY.public_key}), WrongType, "wrong_type"),
        (_sign_raw({1: -8, 16: "application/vnd.copyme.request+cwt", 4: KEY.public_key}), WrongType, "wrong_type"),
        (_sign_raw({1: -8, 16: TYP}), UnknownKey, "unknown_key"),
        (_sign_raw({1: -8, 16: TYP, 4: b"did:web:example.com"}), UnknownKey, "unknown_key"),
        (_sign_raw({1: -8, 16: TYP, 4: b"\xff\xfe"}), UnknownKey, "unknown_key"),
        (_sign_raw({1: -8, 16: TYP, 4: KEY.did.encode()}), UnknownKey, "unknown_key"),
        (_sign_raw({1: -8, 16: TYP, 4: KEY.public_key + b"\x00"}), UnknownKey, "unknown_key"),
        (_sign_raw({1: -8, 16: TYP, 4: KEY.public_key[:31]}), UnknownKey, "unknown_key"),
        (_sign_raw({1: -8, 16: TYP, 4: KEY.did}), UnknownKey, "unknown_key"),
        (_sign_raw({1: -8, 16: TYP, 4: KeyPair.from_seed(b"\x12" * 32).public_key}), BadSignature, "bad_signature"),
        (_sign_raw({1: -8, 16: TYP, 4: KEY.public_key, 2: [1]}), DecodeError, "malformed"),
        (_sign_raw(_good_header(), unprotected={4: b"x"}), DecodeError, "malformed"),
        (_sign_raw(_good_header(), tag=None), DecodeError, "malformed"),
        (_sign_raw(_good_header(), tag=98), DecodeError, "malformed"),
        (cbor.encode(cbor.Tag(18, [b"", {}, PAYLOAD])), DecodeError, "malformed"),
        (cbor.encode(cbor.Tag(18, [cbor.encode(_good_header()), {}, None, b"\x00" * 64])), DecodeError, "malformed"),
        (cbor.encode(cbor.Tag(18, [cbor.encode(_good_header()), {}, PAYLOAD, b"\x00" * 63])), DecodeError, "malformed"),
        (cbor.encode(cbor.Tag(18, [cbor.encode([1]), {}, PAYLOAD, b"\x00" * 64])), DecodeError, "malformed"),
        (b"\x00" * (cbor.MAX_SIZE + 1), DecodeError, "too_large"),
    ],
    ids=[
        "es256", "no-alg", "unprotected-alg", "no-typ", "foreign-typ", "no-kid", "kid-a-did-web",
        "kid-two-bytes", "kid-a-did-key-text", "kid-33-bytes", "kid-31-bytes", "kid-a-text-string",
        "kid-of-someone-else", "crit-header", "unprotected-other", "untagged", "other-tag",
        "three-parts", "detached-payload", "short-signature", "header-not-map", "oversized",
    ],
)
def test_refusals(data: bytes, error: type[CopyMeError], code: str) -> None:
    with pytest.raises(error) as err:
        cose.verify1(data, TYP)
    assert err.value.code == code


def test_flipped_signature_and_payload_bits() -> None:
    data = bytearray(cose.sign1(PAYLOAD, KEY, TYP))
    data[-1] ^= 1
    with pytest.raises(BadSignature):
        cose.verify1(bytes(data), TYP)
    data = bytearray(cose.sign1(cbor.encode({1: "x" * 10}), KEY, TYP))
    data[data.index(b"xxxxx")] = ord("y")
    with pytest.raises(BadSignature):
        cose.verify1(bytes(data), TYP)


def test_truncations_never_escape_our_errors() -> None:
    data = cose.sign1(PAYLOAD, KEY, TYP)
    for cut in range(len(data)):
        with pytest.raises(CopyMeError):
            cose.verify1(data[:cut], TYP)


def test_sig_structure_is_the_rfc_array() -> None:
    for protected, payload in [(b"", b""), (b"\xa0", PAYLOAD), (b"x" * 300, b"y" * 70000)]:
        assert cose.sig_structure(protected, payload) == cbor.encode(["Signature1", protected, b"", payload])


def test_the_envelope_laid_out_directly_is_the_rfc_encoding() -> None:
    """sign1 writes tag 18 and the array by hand; it must be what the encoder gives, at every length."""
    for size in (0, 1, 23, 24, 255, 256, 65535, 65536):
        payload = b"p" * size
        for key, typ in ((KEY, TYP), (KeyPair.from_seed(b"\x22" * 32), "application/vnd.copyme.receipt+cwt")):
            data = cose.sign1(payload, key, typ)
            protected = cbor.encode({1: -8, 16: typ, 4: key.public_key})
            assert cose.protected_header(key, typ) == protected
            signature = key.sign(cose.sig_structure(protected, payload))
            assert data == cbor.encode(cbor.Tag(18, [protected, {}, payload, signature]))


def test_fast_and_general_paths_agree() -> None:
    """A non-minimal but otherwise valid envelope is refused by the general path, not accepted."""
    data = cose.sign1(PAYLOAD, KEY, TYP)
    assert cose._split_fast(data) is not None
    prot = cbor.encode(_good_header())
    assert data.startswith(b"\xd2\x84\x58" + bytes([len(prot)]) + prot)
    padded = b"\xd2\x84\x59\x00" + bytes([len(prot)]) + prot + data[4 + len(prot):]  # 2-byte length
    assert cose._split_fast(padded) is None
    with pytest.raises(DecodeError):
        cose.verify1(padded, TYP)


def _envelope(protected: bytes, unprotected: bytes) -> bytes:
    """A tagged COSE_Sign1 assembled by hand, so the unprotected map can be encoded any way."""
    sig = KEY.sign(cose.sig_structure(protected, PAYLOAD))
    return (b"\xd2\x84" + cbor.head(2, len(protected)) + protected + unprotected
            + cbor.head(2, len(PAYLOAD)) + PAYLOAD + b"\x58\x40" + sig)


_KID = KEY.public_key
_GOOD = cbor.encode({1: -8, 16: TYP, 4: _KID})
_NO_ALG = cbor.encode({16: TYP, 4: _KID})


@pytest.mark.parametrize(("protected", "unprotected"), [
    (_NO_ALG, cbor.encode({1: -8})),                          # alg moved out of the protected bucket
    (_GOOD, cbor.encode({1: -8})),                            # alg in both buckets
    (b"", cbor.encode({1: -8, 4: _KID, 16: TYP})),            # everything unprotected, empty protected bstr
    (cbor.encode({}), cbor.encode({1: -8, 4: _KID, 16: TYP})),  # ... or an empty protected map
    (_NO_ALG, cbor.encode({1: "EdDSA"})),                     # alg by name
    (_NO_ALG, cbor.encode({1: -7})),                          # another algorithm
    (_NO_ALG, b"\xa2\x04" + cbor.encode(_KID) + b"\x01\x27"),  # {4: kid, 1: -8}: keys out of order, as a
                                                               # library that keeps insertion order writes it
    (_NO_ALG, b"\xa1\x01\x3a\x00\x00\x00\x07"),               # alg with a non-minimal integer head
])
def test_alg_in_the_unprotected_header_is_unsupported_alg_whatever_else_is_wrong(protected: bytes,
                                                                                  unprotected: bytes) -> None:
    with pytest.raises(UnsupportedAlg) as info:
        cose.verify1(_envelope(protected, unprotected), TYP)
    assert info.value.code == "unsupported_alg"


@pytest.mark.parametrize("unprotected", [
    cbor.encode({4: _KID}),                                   # another parameter: not empty
    b"\xa2\x10" + cbor.encode(TYP) + b"\x04" + cbor.encode(_KID),  # out of order, and no alg in it
])
def test_a_non_empty_unprotected_header_without_alg_is_malformed(unprotected: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        cose.verify1(_envelope(_GOOD, unprotected), TYP)
    assert info.value.code == "malformed"
