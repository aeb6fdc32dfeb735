"""Random and mutated bytes into every decoder: only our documented errors ever come out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import (
    ConsentCredential,
    ConsentRequest,
    CopyMeError,
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
    cbor,
    cose,
    error_codes,
    parse_cid,
    parse_deep_link,
    public_key_from_did,
)
from tests.support import samples
from tests.support.decoding import mutations
from tests.support.samples import KEYS

DECODERS = [ConsentRequest, ConsentCredential, Presentation, StatusListToken, TrustList, LinkProof, UsageReceipt,
            ReceiptQuery, DidLink, DidPossession, RightsRequest, RightsAck, RightsDone, Decline]
SEEDS = {
    ConsentRequest: samples.request().sign(KEYS.requester),
    ConsentCredential: samples.credential().sign(KEYS.user),
    Presentation: samples.presentation().sign(KEYS.requester),
    StatusListToken: samples.status_list_token().sign(KEYS.status),
    TrustList: samples.trust_list().sign(KEYS.council),
    LinkProof: samples.link_proof().sign(KEYS.user),
    UsageReceipt: samples.refused_receipt().sign(KEYS.holder),
    ReceiptQuery: samples.receipt_query().sign(KEYS.user),
    DidLink: samples.did_link().sign(KEYS.user),
    DidPossession: samples.did_possession().sign(KEYS.relationship),
    RightsRequest: samples.rights_request().sign(KEYS.user),
    RightsAck: samples.rights_ack().sign(KEYS.requester),
    RightsDone: samples.rights_done().sign(KEYS.requester),
    Decline: samples.decline().sign(KEYS.stranger),
}
CODES = set(error_codes())
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_our_errors(fn: Any, data: Any) -> None:
    try:
        fn(data)
    except CopyMeError as err:
        assert err.code in CODES
    # any other exception type fails the test by propagating


@pytest.mark.parametrize("cls", DECODERS, ids=lambda c: c.__name__)
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(cls: Any, data: bytes) -> None:
    _only_our_errors(cls.decode, data)


@pytest.mark.parametrize("cls", DECODERS, ids=lambda c: c.__name__)
@FUZZ
@given(data=st.data())
def test_mutated_valid_objects(cls: Any, data: st.DataObject) -> None:
    mutated = data.draw(mutations(st.just(SEEDS[cls])))
    _only_our_errors(cls.decode, mutated)


@FUZZ
@given(data=st.binary(max_size=512))
def test_cbor_and_cose(data: bytes) -> None:
    _only_our_errors(cbor.decode, data)
    _only_our_errors(lambda d: cose.verify1(d, "application/vnd.copyme.consent+cwt"), data)
    _only_our_errors(StatusList.decompress, data)


@FUZZ
@given(text=st.text(max_size=200))
def test_text_parsers(text: str) -> None:
    _only_our_errors(public_key_from_did, "did:key:" + text)
    _only_our_errors(public_key_from_did, text)
    _only_our_errors(parse_cid, text)
    _only_our_errors(parse_deep_link, text)
    _only_our_errors(parse_deep_link, "copyme://request?u=" + text)


@FUZZ
@given(data=st.binary(max_size=1024))
def test_a_did_link_carrying_random_bytes_as_its_possession_proof(data: bytes) -> None:
    outer = DidLink(linked=KEYS.user.did, holder=KEYS.holder.did, did=KEYS.relationship.did, issued_at=samples.NOW,
                    link_id=samples.LINK_ID, possession=data or b"\x00").sign(KEYS.user)
    _only_our_errors(lambda raw: DidLink.decode(raw).check_possession(), outer)
