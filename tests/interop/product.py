"""The product's side of the interop checks, run under the product's own interpreter.

``python -m tests.interop.product live`` prints, as JSON, a fresh signed sample of every wire
object (fresh random keys, the current time), each with its signer's public key.
``python -m tests.interop.product decode`` reads ``[{"typ": ..., "hex": ...}, ...]`` on stdin and
prints, for each, the decoded claims or the reason code the product refused it with.

The interop tests live in an environment without the product (``tests/interop/requirements.txt``
pins cbor2 < 6 through pycose and python-cwt), so they reach the product only through this
script and the vector files.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import protocol
from protocol import CopyMeError, KeyPair
from tests.support import samples


def _classes() -> dict[str, Any]:
    """Every exported wire object class by its ``typ``."""
    out = {}
    for name in protocol.__all__:
        cls = getattr(protocol, name)
        typ = getattr(cls, "TYP", None)
        if typ is not None and hasattr(cls, "decode"):
            out[str(typ)] = cls
    return out


def live() -> list[dict[str, Any]]:
    """A fresh signed sample of every object the samples module knows, with random keys."""
    keys = samples.Keys(*(KeyPair.from_seed(os.urandom(32)) for _ in range(7)))
    now = int(time.time())
    objects = [
        ("request", samples.request(keys, now), keys.requester),
        ("credential", samples.credential(keys, now), keys.user),
        ("presentation", samples.presentation(keys, now), keys.requester),
        ("status_list", samples.status_list_token(keys, now), keys.status),
        ("trust_list", samples.trust_list(keys, now), keys.council),
        ("link", samples.link_proof(keys, now), keys.user),
        ("did_link", samples.did_link(keys, now), keys.user),
        ("did_pop", samples.did_possession(keys, now), keys.relationship),
        ("receipt", samples.refused_receipt(keys, now), keys.holder),
        ("receipt_query", samples.receipt_query(keys, now), keys.user),
        ("replacement_request", samples.replacement_request(keys, now), keys.requester),
        ("rights_request", samples.rights_request(keys, now), keys.user),
        ("rights_ack", samples.rights_ack(keys, now), keys.requester),
        ("rights_done", samples.rights_done(keys, now), keys.requester),
        ("decline", samples.decline(keys, now), keys.stranger),
    ]
    return [
        {"name": name, "typ": str(obj.TYP), "public_key_hex": key.public_key.hex(), "did": key.did,
         "payload_cbor_hex": obj.to_payload().hex(), "cose_sign1_hex": obj.sign(key).hex()}
        for name, obj, key in objects
    ]


def decode(entries: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Decode each entry with the class its ``typ`` names; a refusal gives its reason code."""
    classes = _classes()
    out: list[dict[str, Any]] = []
    for entry in entries:
        cls = classes.get(entry["typ"])
        if cls is None:
            out.append({"error": "unknown_typ"})
            continue
        try:
            obj = cls.decode(bytes.fromhex(entry["hex"]))
        except CopyMeError as err:
            out.append({"error": err.code})
        else:
            out.append({"claims": json.loads(json.dumps(obj.to_json(), default=str))})
    return out


def main(argv: list[str]) -> int:
    if argv == ["live"]:
        json.dump(live(), sys.stdout)
    elif argv == ["decode"]:
        json.dump(decode(json.load(sys.stdin)), sys.stdout)
    else:
        print("usage: python -m tests.interop.product live|decode", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
