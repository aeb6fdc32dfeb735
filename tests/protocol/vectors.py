"""Generate ``specs/vectors/*.json`` from fixed seeds: ``python -m tests.protocol.vectors``.

Ed25519 signatures are deterministic, so the same seeds give the same bytes everywhere; the
test in ``test_vectors.py`` regenerates everything and fails on any difference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from protocol import Status, cbor
from tests.support import samples
from tests.support.samples import KEYS
from wallet.derive import Seed

VECTORS = Path(__file__).resolve().parents[2] / "specs" / "vectors"


def _keys() -> dict[str, Any]:
    return {
        role: {"seed": key.seed.hex(), "public_key": key.public_key.hex(), "did": key.did}
        for role, key in vars(KEYS).items()
    }


def _object(obj: Any, key: Any, note: str) -> dict[str, Any]:
    signed = obj.sign(key)
    protected = cbor.decode(signed, tags=(18,)).value[0]
    return {
        "description": note,
        "typ": str(obj.TYP),
        "signer": key.did,
        "claims": obj.to_json(),
        "payload_cbor_hex": obj.to_payload().hex(),
        "protected_header_hex": protected.hex(),
        "cose_sign1_hex": signed.hex(),
        "cid": obj.cid if obj.raw else type(obj).decode(signed).cid,
        "size_bytes": len(signed),
    }


def build() -> dict[str, dict[str, Any]]:
    """Every vector file's content, by file name."""
    token = samples.status_list_token()
    lst = token.status_list
    return {
        "keys.json": {"description": "Fixed-seed Ed25519 keys (seed = RFC 8032 private key)", "now": samples.NOW,
                      "keys": _keys()},
        "request.json": _object(samples.request(), KEYS.requester, "Kakeibo asks Sakura Bank for transactions "
                                "(required), balance and name (optional)"),
        "credential.json": _object(samples.credential(), KEYS.user, "The user grants transactions and balance, "
                                   "not name; status entry 1234"),
        "presentation.json": _object(samples.presentation(), KEYS.requester, "Kakeibo presents the credential to "
                                     "the bank for transactions, purpose dpv:ServiceProvision"),
        "status_list.json": {
            **_object(token, KEYS.status, "A 16,384-entry 2-bit list: 7 revoked, 42 suspended, rest valid"),
            "bits": 2,
            "size": lst.size,
            "lst_hex": lst.compress().hex(),
            "known_entries": {"7": int(Status.REVOKED), "42": int(Status.SUSPENDED), "1234": int(Status.VALID)},
        },
        "trust_list.json": _object(samples.trust_list(), KEYS.council, "A council vouching for Kakeibo and the bank"),
        "trust_list_registries.json": _object(
            samples.trust_list(registries=("https://status.example.org", "https://status2.example.org:8443/r")),
            KEYS.council, "The same council also naming two other registries whose status lists may be fetched"),
        "link.json": _object(samples.link_proof(), KEYS.user, "The user proves their DID to the bank with a code"),
        "did_link.json": _object(samples.did_link(), KEYS.user, "The user's bank-linked DID vouches for their "
                                 "relationship DID; 'pop' is did_pop.json"),
        "did_pop.json": _object(samples.did_possession(), KEYS.relationship, "The relationship DID agrees to be "
                                "linked to the customer of the user's bank-linked DID (link id 40..4f)"),
        "replacement_request.json": _object(samples.replacement_request(), KEYS.requester,
                                            "Kakeibo's changed terms: a rights endpoint, a second purpose, "
                                            "and the CID of the consent it replaces"),
        "rights_request.json": _object(samples.rights_request(), KEYS.user, "The user asks Kakeibo to stop "
                                       "using and erase what it copied under credential.json"),
        "rights_ack.json": _object(samples.rights_ack(), KEYS.requester, "Kakeibo acknowledges "
                                   "rights_request.json, due in 14 days"),
        "rights_done.json": _object(samples.rights_done(), KEYS.requester, "Kakeibo erased the transactions "
                                    "and balance it copied (42 records)"),
        "decline.json": _object(samples.decline(), KEYS.stranger, "The user declines request.json: only the "
                                "request's CID, signed with a one-time key (here the stranger seed)"),
        "recovery.json": _recovery(),
        "receipt.json": _object(samples.refused_receipt(), KEYS.holder, "The bank's receipt 2 for the user: "
                                "the budget app asked for transactions while the consent was suspended; refused"),
        "receipt_query.json": _object(samples.receipt_query(after=1), KEYS.user, "The user's wallet asks the bank "
                                      "for its receipts after receipt 1"),
    }


def _recovery() -> dict[str, Any]:
    seed = Seed(bytes(range(32)))
    holder, requester = KEYS.holder.did, KEYS.requester.did
    return {
        "description": "A wallet made with 'copyme wallet init --seed-file' from entropy 00 01 .. 1f: its "
                       "recovery phrase in both word lists and the DIDs derived with HKDF-SHA256 "
                       "(salt 'copyme-wallet-v1', info = label); holder = keys.json holder, "
                       "data user = keys.json requester",
        "entropy_hex": seed.entropy.hex(),
        "phrase_en": seed.phrase("en"),
        "phrase_ja": seed.phrase("ja"),
        "keys": {
            "identity": {"label": "identity", "seed": seed.derive("identity").hex(), "did": seed.identity.did},
            "data_key": {"label": "data-key", "key": seed.data_key.hex()},
            "holder": {"label": f"holder|{holder}", "did": seed.holder_key(holder).did},
            "relationship_0": {"label": f"relationship|{holder}|{requester}|0",
                               "did": seed.relationship_key(holder, requester, 0).did},
            "relationship_1": {"label": f"relationship|{holder}|{requester}|1",
                               "did": seed.relationship_key(holder, requester, 1).did},
        },
    }


def write() -> None:
    VECTORS.mkdir(parents=True, exist_ok=True)
    for name, content in build().items():
        (VECTORS / name).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write()
