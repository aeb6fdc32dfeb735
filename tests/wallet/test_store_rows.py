"""The wallet store's typed rows: received requests and decisions, kept consents, listing pages and
rights requests, each read back as a dataclass; missing rows, empty tables and the filters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import ConsentCredential, InvalidArgument, NotFound
from tests.support import samples
from wallet.consents import ConsentView
from wallet.listing_store import CONSENT_STATES, consent_ids_around, has_consent, listed_consent, listed_consents
from wallet.rights_store import RightsRow, RightsStore
from wallet.store import ReceivedRequest, Store

NOW = samples.NOW


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new wallet database with one status list (consents need one)."""
    store = Store.create(tmp_path / "wallet.db")
    with store.transaction() as db:
        db.table("lists").insert({"id": "list-1", "uri": samples.LIST_URI, "key_did": samples.KEYS.user.did,
                                  "key_box": b"box", "size": 16, "bits": bytes(2), "created_at": NOW})
    yield store
    store.close()


def _consent(store: Store, consent_id: str, request_cid: str, *, idx: int = 0, issued_at: int = NOW,
             holder_name: dict[str, str] | None = None) -> None:
    """A consent row with a short id (the listing's order and filters are about the columns)."""
    with store.transaction() as db:
        db.table("consents").insert({
            "id": consent_id, "raw": b"credential " + consent_id.encode(), "request_cid": request_cid,
            "requester": samples.KEYS.requester.did, "requester_name": '{"ja":"かけいぼ","en":"Kakeibo"}',
            "verified": 1, "holder": samples.KEYS.holder.did,
            "holder_name": json.dumps(holder_name, ensure_ascii=False) if holder_name else None,
            "holder_url": "https://bank.example/v1/data", "items": '["transactions"]',
            "purposes": '["dpv:ServiceProvision"]', "lang": "en", "issued_at": issued_at,
            "expires_at": issued_at + 86400, "list_id": "list-1", "idx": idx, "state": "active",
            "callback": "https://kakeibo.example/cb", "delivered": 0, "delivery_error": None})


def test_a_request_never_kept_is_not_found_and_has_no_decision(store: Store) -> None:
    with pytest.raises(NotFound) as err:
        store.request("bafy-never-seen")
    assert err.value.code == "not_found"
    assert store.decision("bafy-never-seen") is None


def test_a_kept_request_keeps_its_first_source_and_follows_the_language_until_decided(store: Store) -> None:
    request = samples.signed_request()
    with store.transaction():
        store.keep_request(request, source="https://kakeibo.example/r/1", lang="ja", at=NOW)
    with store.transaction():  # shown again, elsewhere and in English: kept once, the language follows
        store.keep_request(request, source="file.cbor", lang="en", at=NOW + 5)
    assert store.request(request.cid) == ReceivedRequest(
        cid=request.cid, raw=request.raw, source="https://kakeibo.example/r/1", received_at=NOW,
        requester=request.requester, decision="pending", decided_at=None, lang="en")
    with store.transaction():
        store.decide(request.cid, "declined", at=NOW + 9, lang="ja")
    with store.transaction():  # shown after the decision: the decision's language stays
        store.keep_request(request, source="again", lang="en", at=NOW + 10)
    kept = store.request(request.cid)
    assert (kept.decision, kept.decided_at, kept.lang) == ("declined", NOW + 9, "ja")
    assert store.decision(request.cid) == "declined"


def test_only_accepted_or_declined_is_a_decision(store: Store) -> None:
    request = samples.signed_request()
    with store.transaction():
        store.keep_request(request, source="s", lang="ja", at=NOW)
    with pytest.raises(ValueError), store.transaction():
        store.decide(request.cid, "maybe", at=NOW, lang="ja")
    assert store.decision(request.cid) == "pending"


def test_a_kept_consent_reads_back_typed(store: Store) -> None:
    request = samples.signed_request()
    consent = ConsentCredential.decode(samples.credential().sign(samples.KEYS.user))
    with store.transaction():
        store.keep_request(request, source="s", lang="ja", at=NOW)
        store.add_consent(consent, request, requester_name={"ja": "かけいぼ", "en": "Kakeibo"}, verified=True,
                          holder_name=None, list_id="list-1")
    assert store.request_cid(consent.cid) == request.cid
    assert store.credential(consent.cid) == store.delivery(consent.cid).raw == consent.raw
    assert store.delivery(consent.cid).callback == request.callback
    entry = store.entry(consent.cid)
    assert (entry.state, entry.list_id, entry.idx) == ("active", "list-1", consent.status.index)
    view = listed_consent(store, consent.cid, NOW)
    assert (view.requester_name, view.verified, view.holder_name, view.items, view.lang, view.issued_at,
            view.delivered, view.delivery_error) == ({"ja": "かけいぼ", "en": "Kakeibo"}, True, None, consent.items,
                                                     "ja", consent.issued_at, False, None)


def test_a_missing_consent_has_no_request(store: Store) -> None:
    with pytest.raises(NotFound):
        store.request_cid("c-none")


# -- listing --------------------------------------------------------------------------------------


def test_an_empty_wallet_lists_nothing_under_any_filter(store: Store) -> None:
    assert list(listed_consents(store, now=NOW)) == []
    for state in CONSENT_STATES:
        assert list(listed_consents(store, state=state, holder="bank", requester="Kakeibo", now=NOW)) == []
    assert not has_consent(store, "c-1") and consent_ids_around(store, "c-1-long") == []
    with pytest.raises(NotFound):
        listed_consent(store, "c-1", NOW)


def test_a_bad_state_is_refused_before_any_row(store: Store) -> None:
    with pytest.raises(InvalidArgument) as err:
        listed_consents(store, state="paused", now=NOW)  # not even one next()
    assert (err.value.code, err.value.field) == ("invalid", "state")


@pytest.fixture
def listed(store: Store) -> Store:
    """Five consents: c-a and c-b given in the same second, c-c later and suspended, c-d revoked,
    c-e expired; c-a names its data holder."""
    request = samples.signed_request()
    with store.transaction():
        store.keep_request(request, source="s", lang="ja", at=NOW)
    _consent(store, "c-a", request.cid, idx=0, holder_name={"ja": "みずほ銀行", "en": "Sample Bank"})
    _consent(store, "c-b", request.cid, idx=1)
    _consent(store, "c-c", request.cid, idx=2, issued_at=NOW + 10)
    _consent(store, "c-d", request.cid, idx=3, issued_at=NOW + 20)
    _consent(store, "c-e", request.cid, idx=4, issued_at=NOW - 2 * 86400)
    with store.transaction():
        store.set_state("c-c", "suspended")
        store.set_state("c-d", "revoked")
    return store


@pytest.mark.parametrize("page", [1, 2, 500])
def test_listed_consents_come_newest_first_with_ties_by_id_in_any_page_size(listed: Store, page: int) -> None:
    assert [r.id for r in listed_consents(listed, now=NOW + 30, page=page)] == ["c-d", "c-c", "c-a", "c-b", "c-e"]


@pytest.mark.parametrize(("filters", "expected"), [
    ({"state": "active"}, ["c-a", "c-b"]),
    ({"state": "suspended"}, ["c-c"]),
    ({"state": "revoked"}, ["c-d"]),
    ({"state": "expired"}, ["c-e"]),
    ({"holder": samples.KEYS.holder.did}, ["c-d", "c-c", "c-a", "c-b", "c-e"]),
    ({"holder": "Sample Bank"}, ["c-a"]),
    ({"holder": "bank.example"}, ["c-d", "c-c", "c-a", "c-b", "c-e"]),
    ({"holder": "nowhere"}, []),
    ({"requester": "Kakeibo"}, ["c-d", "c-c", "c-a", "c-b", "c-e"]),
    ({"requester": samples.KEYS.requester.did, "state": "active"}, ["c-a", "c-b"]),
    ({"requester": "someone else"}, []),
])
def test_listing_filters(listed: Store, filters: dict[str, str], expected: list[str]) -> None:
    assert [r.id for r in listed_consents(listed, now=NOW + 30, **filters)] == expected


def test_a_listed_consent_is_its_view_at_the_time_asked(listed: Store) -> None:
    view = listed_consent(listed, "c-e", NOW)  # stored as active; expired by then
    assert view == ConsentView(
        id="c-e", requester=samples.KEYS.requester.did, requester_name={"ja": "かけいぼ", "en": "Kakeibo"},
        verified=True, holder=samples.KEYS.holder.did, holder_name=None, holder_url="https://bank.example/v1/data",
        items=("transactions",), purposes=("dpv:ServiceProvision",), lang="en", issued_at=NOW - 2 * 86400,
        expires_at=NOW - 86400, state="expired", pending=False, delivered=False, delivery_error=None,
        request_cid=listed.request_cid("c-e"), list_id="list-1", index=4)
    assert listed_consent(listed, "c-e", NOW - 86400 - 1).state == "active"
    assert listed_consent(listed, "c-d", NOW + 9 * 86400).state == "revoked"  # revoked stays revoked
    assert listed_consent(listed, "c-a", NOW).holder_name == {"ja": "みずほ銀行", "en": "Sample Bank"}


def test_a_consent_with_an_unpublished_status_change_is_pending(listed: Store) -> None:
    with listed.transaction() as db:
        db.table("events").insert({"consent_id": "c-b", "status": "revoked", "at": NOW, "list_id": "list-1",
                                   "iat": NOW, "published_at": None})
    assert [r.id for r in listed_consents(listed, now=NOW) if r.pending] == ["c-b"]


def test_consent_ids_around_match_a_start_or_an_end(listed: Store) -> None:
    assert has_consent(listed, "c-a") and not has_consent(listed, "c-")
    assert consent_ids_around(listed, "c-a") == ["c-a"]
    assert sorted(consent_ids_around(listed, "c-", limit=9)) == ["c-a", "c-b", "c-c", "c-d", "c-e"]
    assert len(consent_ids_around(listed, "c-")) == 2  # two are enough to say "more than one"
    assert consent_ids_around(listed, "-a") == ["c-a"]
    with pytest.raises(ValueError):
        consent_ids_around(listed, "c_a")


# -- rights requests ----------------------------------------------------------------------------


def test_no_rights_requests_yet(store: Store) -> None:
    rights = RightsStore(store)
    assert rights.every() == [] and rights.every("c-a") == [] and rights.unfinished() == []
    with pytest.raises(NotFound) as err:
        rights.get(1)
    assert err.value.code == "not_found"


def test_a_rights_request_through_its_life(listed: Store) -> None:
    rights = RightsStore(listed)
    with listed.transaction():
        first = rights.add(consent_id="c-a", kind="erase", endpoint="https://kakeibo.example/rights", raw=b"r1",
                           cid="cid-1", at=NOW)
        other = rights.add(consent_id="c-b", kind="stop", endpoint="https://kakeibo.example/rights", raw=b"r2",
                           cid="cid-2", at=NOW)
    assert rights.get(first) == RightsRow(
        id=first, consent_id="c-a", kind="erase", endpoint="https://kakeibo.example/rights", raw=b"r1", cid="cid-1",
        created_at=NOW, sent_at=None, send_error=None, attempts=0, ack=None, due_at=None, done=None, done_at=None,
        checked_at=None)
    with listed.transaction():
        rights.send_failed(first, "unavailable: down")
        rights.resigned(first, raw=b"r1'", cid="cid-1b")
        rights.acknowledged(first, ack=b"ack", due_at=NOW + 30 * 86400, at=NOW + 5)
    row = rights.get(first)
    assert (row.raw, row.cid, row.send_error, row.attempts, row.sent_at, row.ack, row.due_at, row.checked_at) == (
        b"r1'", "cid-1b", None, 2, NOW + 5, b"ack", NOW + 30 * 86400, NOW + 5)
    with listed.transaction():
        rights.checked(first, NOW + 6)
    assert rights.get(first).checked_at == NOW + 6 and rights.get(first).done is None
    assert [r.id for r in rights.unfinished()] == [first, other]
    with listed.transaction():
        rights.completed(first, done=b"done", done_at=NOW + 7, at=NOW + 8)
    row = rights.get(first)
    assert (row.done, row.done_at, row.checked_at) == (b"done", NOW + 7, NOW + 8)
    assert [r.id for r in rights.unfinished()] == [other]
    assert [r.id for r in rights.every()] == [first, other]
    assert [r.id for r in rights.every("c-b")] == [other] and rights.every("c-e") == []


def test_a_credential_is_read_by_its_consent_id(listed: Store) -> None:
    assert listed.credential("c-b") == b"credential c-b"
    with pytest.raises(NotFound):
        listed.credential("c-none")


def test_revocations_are_the_last_revoked_event_of_each_revoked_consent(store: Store) -> None:
    assert store.revocations() == {}
    request = samples.signed_request()
    with store.transaction():
        store.keep_request(request, source="s", lang="ja", at=NOW)
    _consent(store, "c-a", request.cid, idx=0)
    _consent(store, "c-b", request.cid, idx=1)
    with store.transaction() as db:
        db.table("events").insert_all([
            {"consent_id": "c-a", "status": "suspended", "at": NOW + 5, "list_id": "list-1", "iat": 1},
            {"consent_id": "c-a", "status": "revoked", "at": NOW + 9, "list_id": "list-1", "iat": 2},
            {"consent_id": "c-b", "status": "suspended", "at": NOW + 7, "list_id": "list-1", "iat": 3}])
    assert store.revocations() == {"c-a": NOW + 9}


# -- renewing a relationship's consents (key replacement) -----------------------------------------


@pytest.fixture
def related(store: Store) -> Store:
    """Relationship 7 with list-7 holding c-1 (active), c-2 (suspended, older), c-3 (revoked) and
    c-4 (active, expiring a day after NOW); c-0 in list-1, of no relationship."""
    request = samples.signed_request()
    with store.transaction() as db:
        store.keep_request(request, source="s", lang="ja", at=NOW)
        db.table("relationships").insert({"id": 7, "holder": samples.KEYS.holder.did,
                                          "requester": samples.KEYS.requester.did, "generation": 0,
                                          "did": samples.KEYS.relationship.did, "created_at": NOW})
        db.table("lists").insert({"id": "list-7", "uri": samples.LIST_URI + "7", "key_did": samples.KEYS.user.did,
                                  "key_box": b"box", "size": 16, "bits": bytes(2), "created_at": NOW,
                                  "relationship": 7})
    _consent(store, "c-0", request.cid, idx=0)
    for n, issued_at in ((1, NOW + 10), (2, NOW), (3, NOW), (4, NOW + 20)):
        _consent(store, f"c-{n}", request.cid, idx=n, issued_at=issued_at)
    with store.transaction() as db:
        db.conn.execute("UPDATE consents SET list_id = 'list-7' WHERE id != 'c-0'")
        db.conn.execute("UPDATE consents SET expires_at = ? WHERE id != 'c-4'", (NOW + 30 * 86400,))
        store.set_state("c-2", "suspended")
        store.set_state("c-3", "revoked")
    return store


def test_live_consents_are_those_of_the_relationship_in_force_past_the_time_oldest_first(related: Store) -> None:
    assert [(c.id, c.state, c.list_id, c.idx) for c in related.live_consents(7, until=NOW)] == [
        ("c-2", "suspended", "list-7", 2), ("c-1", "active", "list-7", 1), ("c-4", "active", "list-7", 4)]
    assert related.live_consents(7, until=NOW)[0].raw == b"credential c-2"
    assert [c.id for c in related.live_consents(7, until=NOW + 20 + 86400)] == ["c-2", "c-1"]  # c-4 ends by then
    assert related.live_consents(8, until=NOW) == []


def test_a_renewal_copies_the_consent_with_its_new_credential_and_entry(related: Store) -> None:
    with related.transaction():
        related.set_delivered("c-2", "unavailable: no answer")
        related.add_renewal("c-2", consent_id="c-2b", raw=b"re-signed", list_id="list-7", idx=9, issued_at=NOW + 99)
    old, new = listed_consent(related, "c-2", NOW), listed_consent(related, "c-2b", NOW)
    assert related.credential("c-2b") == b"re-signed" and related.delivery("c-2b").callback == "https://kakeibo.example/cb"
    assert (new.list_id, new.index, new.issued_at, new.state, new.delivered, new.delivery_error) == (
        "list-7", 9, NOW + 99, "suspended", False, None)
    assert (new.requester, new.requester_name, new.holder, new.items, new.purposes, new.lang, new.expires_at,
            new.request_cid) == (old.requester, old.requester_name, old.holder, old.items, old.purposes, old.lang,
                                 old.expires_at, old.request_cid)


def test_a_renewal_of_a_missing_consent_keeps_nothing(related: Store) -> None:
    with related.transaction():
        related.add_renewal("c-none", consent_id="c-x", raw=b"x", list_id="list-7", idx=9, issued_at=NOW)
    assert not has_consent(related, "c-x")
