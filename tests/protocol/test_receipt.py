"""UsageReceipt and ReceiptQuery: construction limits, chain checks, time, and decode refusals."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from protocol import (
    BadSignature,
    ChainBroken,
    ChainGap,
    CopyMeError,
    DecodeError,
    Expired,
    InvalidArgument,
    NotYetValid,
    ReceiptQuery,
    UsageReceipt,
    WrongType,
    cid_of,
    cose,
)
from tests.support import samples
from tests.support.samples import KEYS, NOW


def _signed(receipt: UsageReceipt) -> bytes:
    return receipt.sign(KEYS.holder)


def test_receipt_round_trip_and_ids() -> None:
    raw = _signed(samples.refused_receipt())
    receipt = UsageReceipt.decode(raw)
    assert receipt.outcome == "refused" and receipt.reason == "suspended" and receipt.seq == 2
    assert receipt.consent_id == cid_of(samples.credential().sign(KEYS.user))
    assert receipt.prev_id == cid_of(_signed(samples.receipt()))
    assert receipt.cid == cid_of(raw)
    assert UsageReceipt.decode(_signed(samples.receipt())).prev_id is None


@pytest.mark.parametrize("changes, field", [
    ({"outcome": "maybe"}, "outcome"),
    ({"outcome": "refused"}, "reason"),  # a refusal without a reason
    ({"reason": "revoked"}, "reason"),  # a release with one
    ({"outcome": "refused", "reason": "Not A Code"}, "reason"),
    ({"seq": 0}, "seq"),
    ({"seq": 2}, "prev"),  # seq 2 without prev
    ({"prev": b"\x01" * 36}, "prev"),  # seq 1 with prev
    ({"consent": b"short"}, "consent"),
    ({"items": ()}, "items"),
    ({"items": ("Bad Item",)}, "items"),
    ({"purpose": "marketing"}, "purpose"),
    ({"presenter": "did:web:example.com"}, "presenter"),
])
def test_receipt_refuses_bad_arguments(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        replace(samples.receipt(), **changes)
    assert info.value.code == "invalid" and info.value.field == field


def test_receipt_signed_by_someone_else_than_its_holder() -> None:
    receipt = samples.receipt()
    with pytest.raises(InvalidArgument):
        receipt.sign(KEYS.stranger)
    forged = cose.sign1(receipt.to_payload(), KEYS.stranger, UsageReceipt.TYP)
    with pytest.raises(BadSignature) as info:
        UsageReceipt.decode(forged)
    assert info.value.code == "bad_signature"


def test_receipt_is_not_a_query() -> None:
    with pytest.raises(WrongType):
        ReceiptQuery.decode(_signed(samples.receipt()))


def test_payload_with_inconsistent_chain_is_malformed() -> None:
    claims = samples.receipt().to_claims()
    claims["seq"] = 3  # no prev
    from protocol import cbor

    raw = cose.sign1(cbor.encode(claims), KEYS.holder, UsageReceipt.TYP)
    with pytest.raises(DecodeError) as info:
        UsageReceipt.decode(raw)
    assert info.value.code == "malformed" and info.value.field == "prev"


def test_check_follows_accepts_the_next_receipt() -> None:
    first_raw = _signed(samples.receipt())
    UsageReceipt.decode(first_raw).check_follows(0, None)
    second = UsageReceipt.decode(_signed(samples.refused_receipt()))
    second.check_follows(1, first_raw)


def test_check_follows_finds_a_gap() -> None:
    second = UsageReceipt.decode(_signed(samples.refused_receipt()))
    with pytest.raises(ChainGap) as info:
        second.check_follows(0, None)
    assert info.value.code == "chain_gap"


def test_check_follows_finds_a_rewritten_predecessor() -> None:
    rewritten = _signed(replace(samples.receipt(), purpose="dpv:Marketing"))
    second = UsageReceipt.decode(_signed(samples.refused_receipt()))
    with pytest.raises(ChainBroken) as info:
        second.check_follows(1, rewritten)
    assert info.value.code == "chain_broken"


def test_check_follows_refuses_a_repeat() -> None:
    first_raw = _signed(samples.receipt())
    with pytest.raises(ChainBroken):
        UsageReceipt.decode(first_raw).check_follows(1, first_raw)


def test_query_round_trip_and_validity() -> None:
    raw = samples.receipt_query(after=7).sign(KEYS.user)
    query = ReceiptQuery.decode(raw)
    assert query.after == 7 and query.holder == KEYS.holder.did
    query.check_validity(NOW)
    query.check_validity(NOW + 179)  # exp + 59 s of skew
    with pytest.raises(Expired):
        query.check_validity(NOW + 180)
    with pytest.raises(NotYetValid):
        query.check_validity(NOW - 61)


@pytest.mark.parametrize("changes, field", [
    ({"expires_at": NOW}, "expires_at"),
    ({"expires_at": NOW + 301}, "expires_at"),
    ({"query_id": b"x" * 8}, "query_id"),
    ({"after": -1}, "after"),
    ({"holder": "not a did"}, "holder"),
])
def test_query_refuses_bad_arguments(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        replace(samples.receipt_query(), **changes)
    assert info.value.field == field


def test_query_create_is_fresh_each_time() -> None:
    one = ReceiptQuery.create(user=KEYS.user.did, holder=KEYS.holder.did, now=NOW)
    two = ReceiptQuery.create(user=KEYS.user.did, holder=KEYS.holder.did, now=NOW)
    assert one.query_id != two.query_id and one.expires_at == NOW + 120


def test_query_signed_with_a_foreign_key() -> None:
    forged = cose.sign1(samples.receipt_query().to_payload(), KEYS.stranger, ReceiptQuery.TYP)
    with pytest.raises(CopyMeError) as info:
        ReceiptQuery.decode(forged)
    assert info.value.code == "bad_signature"
