"""The spec's test vectors: regenerated from fixed seeds, they must match the files byte for byte,
and each file must verify on its own (from the hex alone)."""

from __future__ import annotations

import json

import pytest

from protocol import (
    ConsentCredential,
    ConsentRequest,
    Decline,
    DidLink,
    DidPossession,
    LinkProof,
    Presentation,
    ReceiptQuery,
    RightsAck,
    RightsDone,
    RightsRequest,
    StatusList,
    StatusListToken,
    TrustList,
    UsageReceipt,
    cid_of,
)
from tests.protocol import vectors

CLASSES = {
    "request.json": ConsentRequest,
    "credential.json": ConsentCredential,
    "presentation.json": Presentation,
    "status_list.json": StatusListToken,
    "trust_list.json": TrustList,
    "link.json": LinkProof,
    "did_link.json": DidLink,
    "did_pop.json": DidPossession,
    "receipt.json": UsageReceipt,
    "receipt_query.json": ReceiptQuery,
    "replacement_request.json": ConsentRequest,
    "rights_request.json": RightsRequest,
    "rights_ack.json": RightsAck,
    "rights_done.json": RightsDone,
    "decline.json": Decline,
}


@pytest.mark.parametrize("name", sorted(vectors.build()))
def test_vectors_are_up_to_date(name: str) -> None:
    on_disk = json.loads((vectors.VECTORS / name).read_text(encoding="utf-8"))
    assert on_disk == json.loads(json.dumps(vectors.build()[name], ensure_ascii=False)), (
        f"specs/vectors/{name} is stale: run python -m tests.protocol.vectors"
    )


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_vector_verifies_from_hex(name: str) -> None:
    vector = json.loads((vectors.VECTORS / name).read_text(encoding="utf-8"))
    data = bytes.fromhex(vector["cose_sign1_hex"])
    obj = CLASSES[name].decode(data)
    assert obj.to_payload().hex() == vector["payload_cbor_hex"]
    assert cid_of(data) == vector["cid"]


def test_status_list_vector_bits() -> None:
    vector = json.loads((vectors.VECTORS / "status_list.json").read_text())
    lst = StatusList.decompress(bytes.fromhex(vector["lst_hex"]))
    assert lst.size == vector["size"]
    for index, value in vector["known_entries"].items():
        assert lst.get(int(index)) == value


def test_did_link_vector_carries_the_possession_vector() -> None:
    link = json.loads((vectors.VECTORS / "did_link.json").read_text(encoding="utf-8"))
    pop = json.loads((vectors.VECTORS / "did_pop.json").read_text(encoding="utf-8"))
    checked = DidLink.decode(bytes.fromhex(link["cose_sign1_hex"]))
    assert checked.possession.hex() == pop["cose_sign1_hex"]
    assert checked.check_possession().did == pop["signer"]
