"""build_request: a friendly, validated front of ConsentRequest whose errors name the field."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from issuer import build_request
from protocol import ConsentRequest, InvalidArgument, UnknownItem, UnknownPurpose
from tests.support.samples import KEYS, NOW

from .conftest import GOOD_ARGS


def make(**changes: Any) -> ConsentRequest:
    args = {**GOOD_ARGS, **changes}
    return build_request(requester=KEYS.requester, now=NOW, **args)


def test_good_request_is_signed_and_decodes() -> None:
    request = make(request_id=bytes(16))
    again = ConsentRequest.decode(request.raw)
    assert again == request
    assert again.requester == KEYS.requester.did
    assert again.required_items == ("transactions",)
    assert again.optional_items == ("balance", "name")
    assert again.notice.terms_sha256 == hashlib.sha256(b"terms").digest()
    assert again.expires_at == NOW + 900
    assert again.notice.text("en").points == ("Only for your budget", "Never passed on")


def test_terms_hash_may_be_given_instead_of_the_document() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert make(terms=None, terms_sha256=digest).notice.terms_sha256 == digest


def _points(n: int) -> dict[str, Any]:
    return {"ja": GOOD_ARGS["notice"]["ja"],
            "en": {"title": "t", "points": [f"point {i}" for i in range(n)]}}


@pytest.mark.parametrize(("changes", "error", "code", "field"), [
    ({"notice": _points(4)}, InvalidArgument, "invalid", "notice.en.points"),
    ({"notice": _points(0)}, InvalidArgument, "invalid", "notice.en.points"),
    ({"notice": {"ja": GOOD_ARGS["notice"]["ja"]}}, InvalidArgument, "invalid", "notice.en"),
    ({"notice": {"ja": {"points": ["a"]}, "en": GOOD_ARGS["notice"]["en"]}}, InvalidArgument, "invalid", "notice.ja.title"),
    ({"notice": {"ja": {"title": "t", "points": ["x" * 201]}, "en": GOOD_ARGS["notice"]["en"]}},
     InvalidArgument, "invalid", "notice.ja.points"),
    ({"purposes": ["dpv:ServiceProvision", "dpv:SellingDataToAnyone"]}, UnknownPurpose, "unknown_purpose", "purposes"),
    ({"purposes": ["marketing"]}, UnknownPurpose, "unknown_purpose", "purposes"),
    ({"purposes": []}, InvalidArgument, "invalid", "purposes"),
    ({"required": ["dna"]}, UnknownItem, "unknown_item", "required"),
    ({"optional": ["shoe_size"]}, UnknownItem, "unknown_item", "optional"),
    ({"required": []}, InvalidArgument, "invalid", "required"),
    ({"optional": ["transactions"]}, InvalidArgument, "invalid", "optional"),
    ({"required": "transactions"}, InvalidArgument, "invalid", "items"),
    ({"terms": None}, InvalidArgument, "invalid", "terms"),
    ({"terms_sha256": bytes(32)}, InvalidArgument, "invalid", "terms"),
    ({"terms": None, "terms_sha256": b"short"}, InvalidArgument, "invalid", "terms_sha256"),
    ({"terms_url": "ftp://x"}, InvalidArgument, "invalid", "notice.terms_url"),
    ({"callback": "not a url"}, InvalidArgument, "invalid", "callback"),
    ({"holder": "did:web:bank.example"}, InvalidArgument, "invalid", "holder"),
    ({"holder_url": ""}, InvalidArgument, "invalid", "holder_url"),
    ({"retention_days": 0}, InvalidArgument, "invalid", "retention_days"),
    ({"validity_days": 10_000}, InvalidArgument, "invalid", "validity_days"),
    ({"onward_sharing": "no"}, InvalidArgument, "invalid", "onward_sharing"),
    ({"expires_in": 5}, InvalidArgument, "invalid", "expires_in"),
    ({"requester_name": {"ja": "かけいぼ"}}, InvalidArgument, "invalid", "requester_name.en"),
])
def test_validation_errors_name_the_field(changes: dict[str, Any], error: type[Exception], code: str,
                                          field: str) -> None:
    with pytest.raises(error) as info:
        make(**changes)
    assert info.value.code == code  # type: ignore[attr-defined]
    assert info.value.field == field  # type: ignore[attr-defined]
    assert isinstance(info.value, ValueError)


def test_requester_must_be_a_key() -> None:
    with pytest.raises(InvalidArgument) as info:
        build_request(requester=KEYS.requester.did, **GOOD_ARGS)  # type: ignore[arg-type]
    assert info.value.field == "requester"
