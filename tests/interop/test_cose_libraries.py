"""Interoperability with COSE code nobody here wrote: python-cwt and pycose, both ways.

Runs in its own environment (``tests/interop/requirements.txt``), where the product is not
installed: pycose and python-cwt pin cbor2 < 6 and must never choose the versions the product is
tested on.  The product is reached only through bytes it produced — every vector file in
``specs/vectors/`` and a fresh live sample of every object — and through
``tests/interop/product.py`` run under the product's own interpreter (``$COPYME_PYTHON``).

Both libraries verify what we sign, and we verify what they sign over the same payload.  Given
the protected header in deterministic key order (alg 1, kid 4, typ 16; ``kid`` is the signer's
raw Ed25519 public key) they produce exactly our
bytes; in another order their header is not deterministic CBOR and we refuse it as malformed.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cwt import COSE, COSEKey
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "specs" / "vectors"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _product(*args: str, stdin: Any = None) -> Any:
    """Run the product's side of the check under the product's interpreter; its JSON answer."""
    python = os.environ.get("COPYME_PYTHON")
    if not python:
        pytest.fail("COPYME_PYTHON must name the product environment's python (bash .ci/run sets it)")
    out = subprocess.run([python, "-m", "tests.interop.product", *args], cwd=ROOT, capture_output=True, text=True,
                         input=None if stdin is None else json.dumps(stdin), timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


@functools.cache
def _seeds() -> dict[str, bytes]:
    """The private seed of every fixed-seed key in the vectors, by did:key."""
    keys = json.loads((VECTORS / "keys.json").read_text())["keys"]
    return {entry["did"]: bytes.fromhex(entry["seed"]) for entry in keys.values()}


def _public_keys() -> dict[str, bytes]:
    keys = json.loads((VECTORS / "keys.json").read_text())["keys"]
    return {entry["did"]: bytes.fromhex(entry["public_key"]) for entry in keys.values()}


def _cwt_public_key(public: bytes) -> Any:
    """python-cwt's key for an Ed25519 public key, its kid the raw key (what CopyMe puts in ``kid``)."""
    return COSEKey.new({1: 1, 2: public, 3: -8, -1: 6, -2: public})  # kty OKP, kid, alg EdDSA, crv Ed25519, x


def _signed_vectors() -> list[tuple[str, dict[str, Any]]]:
    """Every signed object in every vector file (a file may hold one object, or several nested)."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(name: str, node: Any) -> None:
        if isinstance(node, dict):
            if "cose_sign1_hex" in node and "signer" in node:
                found.append((name, node))
            for key, value in node.items():
                walk(f"{name}/{key}", value)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(f"{name}[{i}]", value)

    for path in sorted(VECTORS.glob("*.json")):
        walk(path.stem, json.loads(path.read_text()))
    return found


VECTOR_OBJECTS = _signed_vectors()
VECTOR_IDS = [name for name, _ in VECTOR_OBJECTS]


@functools.cache
def _live() -> list[dict[str, Any]]:
    return list(_product("live"))


def test_every_object_has_a_vector() -> None:
    typs = {vector["typ"] for _, vector in VECTOR_OBJECTS}
    assert typs >= {entry["typ"] for entry in _live()}


@pytest.mark.parametrize("name, vector", VECTOR_OBJECTS, ids=VECTOR_IDS)
def test_pycose_verifies_our_vectors(name: str, vector: dict[str, Any]) -> None:
    message = Sign1Message.decode(bytes.fromhex(vector["cose_sign1_hex"]))
    message.key = OKPKey(crv=Ed25519, x=_public_keys()[vector["signer"]])
    assert message.verify_signature()
    assert message.payload == bytes.fromhex(vector["payload_cbor_hex"])


@pytest.mark.parametrize("name, vector", VECTOR_OBJECTS, ids=VECTOR_IDS)
def test_python_cwt_verifies_our_vectors(name: str, vector: dict[str, Any]) -> None:
    public = _cwt_public_key(_public_keys()[vector["signer"]])
    assert COSE.new().decode(bytes.fromhex(vector["cose_sign1_hex"]), public) == \
        bytes.fromhex(vector["payload_cbor_hex"])


def test_both_libraries_verify_live_objects() -> None:
    for entry in _live():
        signed = bytes.fromhex(entry["cose_sign1_hex"])
        message = Sign1Message.decode(signed)
        message.key = OKPKey(crv=Ed25519, x=bytes.fromhex(entry["public_key_hex"]))
        assert message.verify_signature(), entry["name"]
        assert message.payload == bytes.fromhex(entry["payload_cbor_hex"]), entry["name"]
        public = _cwt_public_key(bytes.fromhex(entry["public_key_hex"]))
        assert COSE.new().decode(signed, public) == message.payload, entry["name"]


def _their_signatures(vector: dict[str, Any], order: list[int] | None = None) -> list[bytes]:
    """The vector's payload signed by python-cwt and by pycose, with the vector's protected header."""
    seed = _seeds()[vector["signer"]]
    public = _public_keys()[vector["signer"]]
    header = cbor2.loads(bytes.fromhex(vector["protected_header_hex"]))
    if order is not None:
        header = {label: header[label] for label in order}
    payload = bytes.fromhex(vector["payload_cbor_hex"])
    private = COSEKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "d": _b64(seed), "x": _b64(public), "alg": "EdDSA"})
    by_cwt = COSE.new().encode_and_sign(payload, private, protected=dict(header), unprotected={})
    message = Sign1Message(phdr=dict(header), payload=payload)
    message.key = OKPKey(crv=Ed25519, x=public, d=seed)
    return [by_cwt, message.encode()]


def test_we_verify_what_they_sign() -> None:
    batch, expected = [], []
    for _, vector in VECTOR_OBJECTS:
        for theirs in _their_signatures(vector):
            assert theirs == bytes.fromhex(vector["cose_sign1_hex"]), vector["typ"]
            batch.append({"typ": vector["typ"], "hex": theirs.hex()})
            expected.append(vector["claims"])
    answers = _product("decode", stdin=batch)
    for answer, claims, entry in zip(answers, expected, batch, strict=True):
        assert answer == {"claims": claims}, entry["typ"]


def test_non_deterministic_foreign_header_is_refused() -> None:
    vector = json.loads((VECTORS / "credential.json").read_text())
    batch = [{"typ": vector["typ"], "hex": theirs.hex()} for theirs in _their_signatures(vector, order=[1, 16, 4])]
    assert _product("decode", stdin=batch) == [{"error": "malformed"}] * 2
