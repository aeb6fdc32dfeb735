"""Decline: a signed "no" that names only the request, under a one-time key."""

from __future__ import annotations

import dataclasses

import pytest

from protocol import ConsentRequest, Decline, Expired, InvalidArgument, NotYetValid, cbor, cose
from protocol.decline import DECLINE_WINDOW
from tests.support import samples
from tests.support.samples import KEYS, NOW


def test_round_trip_and_what_it_carries() -> None:
    decline = samples.decline()
    back = Decline.decode(decline.sign(KEYS.stranger))
    assert back == decline
    assert back.request_cid == ConsentRequest.decode(samples.request().sign(KEYS.requester)).cid
    assert back.requester == KEYS.requester.did
    assert set(decline.to_claims()) == {1, 3, 6, 7, "req"}  # no items, no reason, no user DID


def test_each_decline_gets_a_fresh_key() -> None:
    request = samples.signed_request()
    first, key1 = Decline.create(request, now=NOW)
    second, key2 = Decline.create(request, now=NOW)
    assert key1.did != key2.did and first.signer == key1.did
    assert KEYS.user.did not in (first.signer, second.signer)


def test_limits_and_window() -> None:
    with pytest.raises(InvalidArgument):
        Decline.create(samples.request())  # not signed
    with pytest.raises(InvalidArgument) as err:
        dataclasses.replace(samples.decline(), request=b"\x00" * 36)
    assert err.value.field == "request"
    decline = samples.decline()
    decline.check_validity(decline.issued_at + DECLINE_WINDOW - 1)
    with pytest.raises(Expired):
        decline.check_validity(decline.issued_at + DECLINE_WINDOW + 61)
    with pytest.raises(NotYetValid):
        decline.check_validity(decline.issued_at - 61)


def test_signed_by_another_key_than_its_iss_is_refused() -> None:
    data = cose.sign1(samples.decline().to_payload(), KEYS.user, Decline.TYP)
    with pytest.raises(Exception) as err:
        Decline.decode(data)
    assert getattr(err.value, "code", "") == "bad_signature"


def test_wrong_claim_types_are_malformed() -> None:
    claims = samples.decline().to_claims()
    claims["req"] = "bafy"
    with pytest.raises(Exception) as err:
        Decline.from_payload(cbor.encode(claims))
    assert getattr(err.value, "code", "") == "malformed"
