"""Rights requests and the data user's answers: round trips, limits, and who may sign what."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from protocol import (
    BadSignature,
    ConsentCredential,
    ConsentRequest,
    DecodeError,
    Expired,
    InvalidArgument,
    NotYetValid,
    RequestMismatch,
    RightsAck,
    RightsDone,
    RightsKind,
    RightsRequest,
    WrongAudience,
    WrongSigner,
    cbor,
    cid_of,
    cose,
)
from protocol.rights import RIGHTS_WINDOW
from tests.support import samples
from tests.support.samples import KEYS, NOW


def _signed_request() -> RightsRequest:
    return RightsRequest.decode(samples.rights_request().sign(KEYS.user))


@pytest.mark.parametrize("obj, key", [
    (samples.rights_request(), KEYS.user),
    (samples.rights_ack(), KEYS.requester),
    (samples.rights_done(), KEYS.requester),
    (samples.replacement_request(), KEYS.requester),
], ids=lambda o: type(o).__name__)
def test_round_trip(obj: Any, key: Any) -> None:
    data = obj.sign(key)
    back = type(obj).decode(data)
    assert back == obj
    assert back.cid == cid_of(data)
    assert type(obj).from_payload(obj.to_payload()) == obj


def test_request_names_the_consent_and_its_parties() -> None:
    consent = ConsentCredential.decode(samples.credential().sign(KEYS.user))
    request = _signed_request()
    assert request.user == consent.issuer and request.data_user == consent.subject
    assert request.consent_cid == consent.cid
    assert request.kind is RightsKind.BOTH and request.kind.erases


def test_signer_is_taken_from_the_consent_not_the_wallet() -> None:
    """A consent signed by another key (e.g. a per-relationship DID) gives a request from that key."""
    other = ConsentCredential.grant(samples.signed_request(), user=KEYS.stranger.did,
                                    status=samples.credential().status, now=NOW)
    consent = ConsentCredential.decode(other.sign(KEYS.stranger))
    request = RightsRequest.create(consent, "erase", now=NOW)
    assert request.user == KEYS.stranger.did
    with pytest.raises(InvalidArgument):
        request.sign(KEYS.user)


def test_create_needs_a_signed_consent() -> None:
    with pytest.raises(InvalidArgument) as err:
        RightsRequest.create(samples.credential(), RightsKind.ERASE)
    assert err.value.field == "consent"


@pytest.mark.parametrize("change, field", [
    ({"kind": "delete"}, "kind"),
    ({"consent": b"\x00" * 36}, "consent"),
    ({"consent": b"short"}, "consent"),
    ({"request_id": b"x"}, "request_id"),
    ({"data_user": "did:web:example.com"}, "data_user"),
])
def test_request_limits(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        dataclasses.replace(samples.rights_request(), **change)
    assert err.value.field == field


def test_a_stop_use_completion_erases_nothing() -> None:
    with pytest.raises(InvalidArgument) as err:
        dataclasses.replace(samples.rights_done(), kind=RightsKind.STOP_USE)
    assert err.value.field == "erased_items"
    done = dataclasses.replace(samples.rights_done(), kind=RightsKind.STOP_USE, erased_items=(), erased_records=0)
    assert not done.kind.erases


def test_ack_due_date_after_receipt() -> None:
    ack = samples.rights_ack()
    with pytest.raises(InvalidArgument) as err:
        dataclasses.replace(ack, due_at=ack.received_at)
    assert err.value.field == "due_at"


def test_time_window() -> None:
    request = _signed_request()
    request.check_validity(request.issued_at + RIGHTS_WINDOW - 1)
    with pytest.raises(Expired):
        request.check_validity(request.issued_at + RIGHTS_WINDOW + 61)
    with pytest.raises(NotYetValid):
        request.check_validity(request.issued_at - 61)


def test_answers_match_their_request() -> None:
    request = _signed_request()
    for answer in (samples.rights_ack(), samples.rights_done()):
        answer.check_answers(request)
        assert answer.rights_request_cid == request.cid


def test_forged_ack_signed_by_a_stranger_is_wrong_signer() -> None:
    request = _signed_request()
    forged = RightsAck.decode(dataclasses.replace(samples.rights_ack(), data_user=KEYS.stranger.did)
                              .sign(KEYS.stranger))
    with pytest.raises(WrongSigner) as err:
        forged.check_answers(request)
    assert err.value.code == "wrong_signer"


def test_ack_with_someone_elses_issuer_claim_is_bad_signature() -> None:
    """Claiming to be the data user while signing with another key fails at decode."""
    payload = samples.rights_ack().to_payload()
    data = cose.sign1(payload, KEYS.stranger, RightsAck.TYP)
    with pytest.raises(BadSignature):
        RightsAck.decode(data)


def test_answer_to_another_key_or_request() -> None:
    request = _signed_request()
    with pytest.raises(WrongAudience):
        dataclasses.replace(samples.rights_done(), user=KEYS.stranger.did).check_answers(request)
    other = RightsRequest.decode(dataclasses.replace(samples.rights_request(), request_id=b"\x09" * 16)
                                 .sign(KEYS.user))
    with pytest.raises(RequestMismatch):
        samples.rights_done().check_answers(other)


def test_typ_is_checked() -> None:
    ack_bytes = samples.rights_ack().sign(KEYS.requester)
    with pytest.raises(Exception) as err:
        RightsDone.decode(ack_bytes)
    assert getattr(err.value, "code", None) == "wrong_type"


def test_replacement_request_carries_rights_endpoint_and_replaced_consent() -> None:
    request = ConsentRequest.decode(samples.replacement_request().sign(KEYS.requester))
    consent = ConsentCredential.decode(samples.credential().sign(KEYS.user))
    assert request.rights == samples.RIGHTS_URL
    assert request.replaces_cid == consent.cid
    plain = ConsentRequest.decode(samples.request().sign(KEYS.requester))
    assert plain.rights is None and plain.replaces_cid is None
    assert "rights" not in plain.to_json() and "replaces" not in plain.to_json()


@pytest.mark.parametrize("claim, value", [("rights", 7), ("rights", "ftp://x"), ("replaces", b"\x01" * 36),
                                          ("replaces", "bafy")])
def test_replacement_request_bad_claims_are_malformed(claim: str, value: Any) -> None:
    claims = samples.replacement_request().to_claims()
    claims[claim] = value
    with pytest.raises(DecodeError):
        ConsentRequest.from_payload(cbor.encode(claims))
