"""Every wire object: round trips, validation errors that name the field, and grant rules."""

from __future__ import annotations

import dataclasses
import hashlib
import zlib
from typing import Any

import pytest

from protocol import (
    BadSignature,
    ClockSkew,
    ConsentCredential,
    CopyMeError,
    DecodeError,
    Expired,
    InvalidArgument,
    Item,
    Notice,
    NoticeText,
    NotYetValid,
    Presentation,
    Replayed,
    RequestMismatch,
    Status,
    StatusInvalid,
    StatusList,
    StatusListToken,
    StatusRef,
    TrustList,
    WrongType,
    cid_of,
)
from tests.support import samples
from tests.support.claims import GONE, put
from tests.support.samples import KEYS, NOW


def _signed_objects() -> list[tuple[Any, Any]]:
    return [
        (samples.request(), KEYS.requester),
        (samples.credential(), KEYS.user),
        (samples.presentation(), KEYS.requester),
        (samples.status_list_token(), KEYS.status),
        (samples.trust_list(), KEYS.council),
        (samples.link_proof(), KEYS.user),
    ]


@pytest.mark.parametrize("obj, key", _signed_objects(), ids=lambda o: type(o).__name__)
def test_round_trip(obj: Any, key: Any) -> None:
    data = obj.sign(key)
    back = type(obj).decode(data)
    assert back == obj
    assert back.raw == data
    assert back.cid == cid_of(data)
    assert type(obj).from_payload(obj.to_payload(), signer=key.did) == obj
    assert obj.to_json()  # JSON view works for every object


@pytest.mark.parametrize("obj, key", _signed_objects(), ids=lambda o: type(o).__name__)
def test_signing_with_someone_elses_key_is_refused(obj: Any, key: Any) -> None:
    with pytest.raises(InvalidArgument):
        obj.sign(KEYS.stranger)


def test_object_signed_by_another_than_its_issuer_is_bad_signature() -> None:
    from protocol import cose

    pres = samples.presentation()
    data = cose.sign1(pres.to_payload(), KEYS.stranger, Presentation.TYP)
    with pytest.raises(BadSignature):
        Presentation.decode(data)
    # A consent names no issuer but its kid: the same claims signed by a stranger are the
    # stranger's consent, which no holder has linked (not_linked), never the user's.
    cred = samples.credential()
    stranger = ConsentCredential.decode(cose.sign1(cred.to_payload(), KEYS.stranger, ConsentCredential.TYP))
    assert stranger.issuer == KEYS.stranger.did != cred.issuer


def test_one_object_cannot_pass_for_another() -> None:
    with pytest.raises(WrongType):
        ConsentCredential.decode(samples.presentation().sign(KEYS.requester))


def _notice(**changes: Any) -> Notice:
    base: dict[str, Any] = dict(
        texts={"ja": NoticeText("題", ("一",)), "en": NoticeText("Title", ("one",))},
        terms_url="https://example.com/terms", terms_sha256=hashlib.sha256(b"").digest(),
    )
    base.update(changes)
    return Notice(**base)


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: NoticeText("t", ("1", "2", "3", "4")), "notice.points"),
        (lambda: NoticeText("t", ()), "notice.points"),
        (lambda: NoticeText("", ("1",)), "notice.title"),
        (lambda: _notice(texts={"ja": NoticeText("題", ("一",))}), "notice.en"),
        (lambda: _notice(terms_url="ftp://x"), "notice.terms_url"),
        (lambda: _notice(terms_sha256=b"short"), "notice.terms_sha256"),
        (lambda: Item("Bad Id", True), "items"),
        (lambda: samples.request(items=()), "items"),
        (lambda: samples.request(items=(Item("name", True), Item("name", False))), "items"),
        (lambda: samples.request(purposes=("marketing",)), "purposes"),
        (lambda: samples.request(holder="did:web:bank.example"), "holder"),
        (lambda: samples.request(callback="javascript:alert(1)"), "callback"),
        (lambda: samples.request(retention_days=0), "retention_days"),
        (lambda: samples.request(expires_at=NOW), "expires_at"),
        (lambda: samples.request(requester_name={"ja": "名"}), "requester_name.en"),
        (lambda: samples.request(request_id=b"\x00"), "request_id"),
    ],
)
def test_validation_names_the_field(build: Any, field: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        build()
    assert err.value.field == field
    assert err.value.code == "invalid"
    assert isinstance(err.value, ValueError)


def test_grant_takes_optional_items_one_by_one() -> None:
    request = samples.signed_request()
    cred = ConsentCredential.grant(request, user=KEYS.user.did, items=("transactions",),
                                   status=StatusRef(samples.LIST_URI, 1, KEYS.status.did), now=NOW)
    assert cred.items == ("transactions",)
    assert cred.answers(request.raw)
    assert cred.expires_at == NOW + 180 * 86400
    everything = ConsentCredential.grant(request, user=KEYS.user.did,
                                         status=StatusRef(samples.LIST_URI, 1, KEYS.status.did), now=NOW)
    assert everything.items == ("transactions", "balance", "name")


@pytest.mark.parametrize("items", [("balance",), ("transactions", "address")])
def test_grant_refuses_leaving_out_required_or_adding_unrequested(items: tuple[str, ...]) -> None:
    with pytest.raises(InvalidArgument):
        ConsentCredential.grant(samples.signed_request(), user=KEYS.user.did, items=items,
                                status=StatusRef(samples.LIST_URI, 1, KEYS.status.did), now=NOW)


@pytest.mark.parametrize(
    "change",
    [
        {"items": ("transactions", "balance", "address")},
        {"items": ("balance",)},
        {"purposes": ("dpv:Marketing",)},
        {"subject": KEYS.stranger.did},
        {"audience": KEYS.stranger.did},
        {"request": b"\x01\x51\x12\x20" + b"\x00" * 32},
        {"expires_at": NOW + 181 * 86400},
        {"onward_sharing": True},
    ],
    ids=["over-grant", "missing-required", "purpose", "subject", "audience", "other-request", "too-long",
         "onward"],
)
def test_check_answers_refuses_unfaithful_answers(change: dict[str, Any]) -> None:
    cred = dataclasses.replace(samples.credential(), **change)
    with pytest.raises(RequestMismatch) as err:
        cred.check_answers(samples.signed_request())
    assert err.value.code == "request_mismatch"


def test_credential_validity_window() -> None:
    cred = samples.credential()
    cred.check_validity(NOW)
    with pytest.raises(NotYetValid):
        cred.check_validity(NOW - 3600)
    with pytest.raises(Expired):
        cred.check_validity(cred.expires_at + 61)
    cred.check_validity(cred.expires_at + 59)  # within the clock-skew leeway


def test_request_expiry() -> None:
    samples.request().check_validity(NOW + 60)
    with pytest.raises(Expired):
        samples.request().check_validity(NOW + 900 + 61)


def test_presentation_freshness() -> None:
    pres = samples.presentation()
    pres.check_fresh(NOW + 100)
    pres.check_fresh(NOW + 120)  # the edge of the window is inside it
    for when, word in ((NOW + 1000, "behind"), (NOW - 121, "ahead of")):
        with pytest.raises(ClockSkew) as info:
            pres.check_fresh(when)
        assert info.value.code == "clock_skew" and isinstance(info.value, Replayed) and word in info.value.detail
    created = Presentation.create(presenter=KEYS.requester.did, audience=KEYS.holder.did,
                                  credential=pres.credential, items=("transactions",),
                                  purpose="dpv:ServiceProvision", now=NOW)
    assert created.presentation_id != pres.presentation_id


def test_link_proof_window() -> None:
    proof = samples.link_proof()
    proof.check_validity(NOW + 10)
    with pytest.raises(Expired):
        proof.check_validity(NOW + 3600)


def test_trust_list_lookup() -> None:
    trust = samples.trust_list()
    assert trust.find(KEYS.requester.did).name("ja") == "かけいぼ株式会社"  # type: ignore[union-attr]
    assert trust.find(KEYS.stranger.did) is None
    with pytest.raises(InvalidArgument):
        TrustList(issuer=KEYS.council.did, organisations=trust.organisations * 2, issued_at=NOW, expires_at=NOW + 1)


# ------------------------------------------------------------------ status lists


def test_status_list_packing_matches_the_draft_example() -> None:
    """The Token Status List draft's 2-bit example: 12 entries packed into 0xC9 0x44 0xF9."""
    values = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
    lst = StatusList(12)
    for index, value in enumerate(values):
        lst.set(index, value)
    assert lst.to_bytes() == bytes([0xC9, 0x44, 0xF9])
    assert [lst.get(i) for i in range(12)] == values
    assert StatusList.decompress(lst.compress()) == lst


def test_status_list_set_and_reset() -> None:
    lst = StatusList()
    lst.set(5, Status.SUSPENDED)
    lst.set(5, Status.VALID)
    lst.set(6, Status.REVOKED)
    assert (lst.get(5), lst.get(6), lst.get(7)) == (Status.VALID, Status.REVOKED, Status.VALID)
    with pytest.raises(StatusInvalid):
        lst.get(lst.size)


def test_status_list_random_index_avoids_taken() -> None:
    lst = StatusList(8)
    taken = {0, 1, 2, 3, 4, 5, 6}
    assert lst.random_free_index(taken) == 7
    with pytest.raises(InvalidArgument):
        lst.random_free_index(set(range(8)))


@pytest.mark.parametrize(
    "lst",
    [b"not zlib", zlib.compress(b"\x00" * 10)[:-3], zlib.compress(b"") , zlib.compress(b"\x00" * 10) + b"x"],
    ids=["garbage", "truncated", "empty", "trailing"],
)
def test_bad_lst_is_malformed(lst: bytes) -> None:
    with pytest.raises(DecodeError):
        StatusList.decompress(lst)


def test_zip_bomb_refused() -> None:
    bomb = zlib.compress(b"\x00" * (8 * 1024 * 1024), 9)  # 8 MiB of zeros in ~8 KiB
    assert len(bomb) < 16 * 1024
    with pytest.raises(DecodeError):
        StatusList.decompress(bomb)


def test_status_token_staleness() -> None:
    token = samples.status_list_token()
    assert not token.is_stale(fetched_at=NOW, now=NOW + 299)
    assert token.is_stale(fetched_at=NOW, now=NOW + 300)
    assert token.is_stale(fetched_at=NOW + 86400, now=token.expires_at)  # type: ignore[operator]


def test_status_token_signer_is_the_list_key() -> None:
    token = StatusListToken.decode(samples.status_list_token().sign(KEYS.status))
    assert token.signer == KEYS.status.did
    assert token.status_list.get(7) == Status.REVOKED
    assert token.status_list.get(42) == Status.SUSPENDED


def test_typical_consent_size() -> None:
    assert len(samples.credential().sign(KEYS.user)) < 800


@pytest.mark.parametrize("detail", ["the key file is damaged: Expecting value\nline 2", "a\r\nb\rc\n", "\nx"])
def test_every_error_is_one_line(detail: str) -> None:
    """corrupt_store once spanned two lines (it quotes the foreign error); every error is one line."""
    for err in (CopyMeError(detail), Expired(detail)):
        assert "\n" not in err.detail and "\r" not in err.detail and "\n" not in str(err)
        assert err.detail.split() == detail.split()


def _credential_claims_with(change: Any) -> bytes:
    """A credential signed by its user after ``change`` edited its claims map."""
    from protocol import cbor, cose

    claims = samples.credential().to_claims()
    change(claims)
    return cose.sign1(cbor.encode(claims), KEYS.user, ConsentCredential.TYP)


def _set(path: tuple[Any, ...], value: Any) -> Any:
    return lambda claims: put(claims, path, value)


@pytest.mark.parametrize("change", [
    _set((8,), GONE),                                     # no cnf
    _set((8, 1, 1), 2),                                      # kty EC2, not OKP
    _set((8, 1, -1), 7),                                     # crv Ed448
    _set((8, 1, -2), b"\x01" * 31),                          # a 31-byte key
    _set((8, 1, 2), b"kid"),                                 # a label beyond kty, crv, x
    _set((8, 1, -2), KEYS.requester.did),                    # the DID's text instead of the key
    _set((-65537,), GONE),                                # no consent terms
    _set((-65537, 1), KEYS.holder.public_key + b"\x00"),     # audience of 33 bytes
    _set((-65537, 8), KEYS.status.did.encode()),             # status key as the DID's bytes
    _set((-65537, 2), "transactions"),                       # items not an array
    _set((-65537, 7), 0),                                    # onward not a boolean
], ids=["no-cnf", "kty-ec2", "crv-ed448", "short-subject-key", "extra-cose-key-label", "subject-did-text",
        "no-terms", "long-audience-key", "status-key-did-bytes", "items-text", "onward-int"])
def test_credential_wire_refusals_are_malformed(change: Any) -> None:
    with pytest.raises(DecodeError) as err:
        ConsentCredential.decode(_credential_claims_with(change))
    assert err.value.code == "malformed"


def test_credential_issuer_is_the_signer_and_keys_are_raw() -> None:
    cred = samples.credential()
    data = cred.sign(KEYS.user)
    claims = cred.to_claims()
    assert 1 not in claims and 2 not in claims and 3 not in claims  # iss is kid; sub is cnf; aud is a term
    assert claims[8] == {1: {1: 1, -1: 6, -2: KEYS.requester.public_key}}
    assert claims[-65537][1] == KEYS.holder.public_key and claims[-65537][8] == KEYS.status.public_key
    assert ConsentCredential.decode(data).issuer == KEYS.user.did
    assert len(data) <= 500
    with pytest.raises(DecodeError):
        ConsentCredential.from_payload(cred.to_payload())  # no signer: no issuer
