"""build_request: a friendly, validated front of ConsentRequest whose errors name the field."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from issuer import build_request
from protocol import ConsentRequest, InvalidArgument, StaleNotice, UnknownItem, UnknownPurpose
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


CID = b"\x01\x51\x12\x20" + bytes(32)
NEW_NOTICE = {"ja": {"title": "明細を取り込みます", "points": ["家計簿にだけ使います", "提携先にも渡します"]},
              "en": {"title": "Import your transactions", "points": ["Only for your budget", "Passed on to partners"]}}


def test_a_replacement_that_changes_onward_sharing_needs_new_key_points() -> None:
    old = make()
    with pytest.raises(StaleNotice) as caught:
        make(replaces=CID, previous=old, onward_sharing=True)
    assert (caught.value.code, caught.value.field) == ("stale_notice", "notice")
    assert "onward" in caught.value.detail
    new = make(replaces=CID, previous=old, onward_sharing=True, notice=NEW_NOTICE)
    assert new.onward_sharing and new.replaces == CID


@pytest.mark.parametrize("changes", [{"retention_days": 730}, {"purposes": ["dpv:ServiceProvision", "dpv:Marketing"]},
                                     {"required": ["transactions", "balance"], "optional": ["name"]}])
def test_every_summarised_term_is_checked(changes: dict[str, Any]) -> None:
    with pytest.raises(StaleNotice):
        make(replaces=CID, previous=make(), **changes)


def test_a_renewal_or_a_new_validity_keeps_the_notice() -> None:
    old = make()
    assert make(replaces=CID, previous=old).notice == old.notice
    assert make(replaces=CID, previous=old, validity_days=90).validity_days == 90


def test_replaces_and_previous_come_together() -> None:
    for args in ({"replaces": CID}, {"previous": make()}):
        with pytest.raises(InvalidArgument) as caught:
            make(**args)
        assert (caught.value.code, caught.value.field) == ("invalid", "previous")
