"""The status store (wallet.status_store): status lists read back typed, the allocation's reads,
pending and stale lists, and publishing marking exactly the events its version carries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import NotFound
from tests.support import samples
from wallet.status_store import ListRow, StatusStore
from wallet.store import Store

NOW = samples.NOW


@pytest.fixture
def lists(tmp_path: Path) -> Iterator[StatusStore]:
    store = Store.create(tmp_path / "wallet.db")
    yield StatusStore(store)
    store.close()


def _list(list_id: str, *, relationship: int | None = None, created_at: int = NOW, iat: int = 0,
          published_iat: int = 0) -> ListRow:
    return ListRow(id=list_id, uri=samples.LIST_URI + list_id, key_did=samples.KEYS.user.did, key_box=b"box",
                   size=16, bits=bytes(2), iat=iat, token=None if iat == 0 else b"token", published_iat=published_iat,
                   last_error=None, created_at=created_at, relationship=relationship)


def _relationship(store: Store, n: int) -> int:
    with store.transaction() as db:
        db.table("relationships").insert({"id": n, "holder": "did:key:zH", "requester": "did:key:zR", "generation": n,
                                          "did": f"did:key:z{n}", "created_at": NOW})
    return n


def _consent(store: Store, consent_id: str, list_id: str, idx: int) -> None:
    request = samples.signed_request()
    with store.transaction() as db:
        store.keep_request(request, source="s", lang="ja", at=NOW)
        db.table("consents").insert({
            "id": consent_id, "raw": b"c", "request_cid": request.cid, "requester": "did:key:zR",
            "requester_name": "{}", "verified": 1, "holder": "did:key:zH", "holder_name": None,
            "holder_url": "https://bank.example", "items": "[]", "purposes": "[]", "lang": "ja", "issued_at": NOW,
            "expires_at": NOW + 86400, "list_id": list_id, "idx": idx, "state": "active", "callback": "https://cb"})


def test_an_empty_wallet_has_no_lists(lists: StatusStore) -> None:
    with pytest.raises(NotFound) as err:
        lists.get("no-such-list")
    assert err.value.code == "not_found"
    assert lists.of_relationship(None) == [] and lists.of_relationship(1) == []
    assert lists.pending() == [] and lists.older_than(0, NOW) == []
    assert lists.used("no-such-list") == 0 and not lists.taken("no-such-list", 0)


def test_a_kept_list_reads_back_typed_and_follows_its_bits_and_versions(lists: StatusStore) -> None:
    row = _list("l-1")
    with lists.store.transaction():
        lists.add(row)
    assert lists.get("l-1") == row and lists.get("l-1").to_dict()["key_box"] == b"box"
    with lists.store.transaction():
        lists.set_bits("l-1", b"\x01\x00")
        lists.signed("l-1", NOW, b"signed")
        lists.refused("l-1", "unavailable: no answer")
    kept = lists.get("l-1")
    assert (kept.bits, kept.iat, kept.token, kept.published_iat, kept.last_error) == (
        b"\x01\x00", NOW, b"signed", 0, "unavailable: no answer")
    assert lists.pending() == ["l-1"]


def test_the_lists_of_a_relationship_come_newest_first(lists: StatusStore) -> None:
    one, two = _relationship(lists.store, 1), _relationship(lists.store, 2)
    with lists.store.transaction():
        for row in (_list("own"), _list("a", relationship=one), _list("b", relationship=one, created_at=NOW + 1),
                    _list("c", relationship=one), _list("d", relationship=two)):
            lists.add(row)
    assert [r.id for r in lists.of_relationship(one)] == ["b", "c", "a"]  # same second: the later row first
    assert [r.id for r in lists.of_relationship(two)] == ["d"]
    assert [r.id for r in lists.of_relationship(None)] == ["own"]
    assert lists.of_relationship(3) == []


def test_used_and_taken_count_the_consents_of_one_list(lists: StatusStore) -> None:
    with lists.store.transaction():
        lists.add(_list("l-1"))
        lists.add(_list("l-2"))
    _consent(lists.store, "c-1", "l-1", 3)
    _consent(lists.store, "c-2", "l-1", 7)
    assert (lists.used("l-1"), lists.used("l-2")) == (2, 0)
    assert lists.taken("l-1", 3) and lists.taken("l-1", 7)
    assert not lists.taken("l-1", 4) and not lists.taken("l-2", 3)


def test_pending_and_stale_lists(lists: StatusStore) -> None:
    with lists.store.transaction():
        lists.add(_list("published", iat=NOW, published_iat=NOW))
        lists.add(_list("pending", iat=NOW + 10, published_iat=NOW))
        lists.add(_list("old", iat=NOW - 100, published_iat=NOW - 100))
    assert lists.pending() == ["pending"]
    assert lists.older_than(100, NOW) == []  # exactly 100 seconds old is not older
    assert lists.older_than(99, NOW) == ["old"]
    assert sorted(lists.older_than(0, NOW + 11)) == ["old", "pending", "published"]


def test_publishing_a_version_marks_the_events_it_carries_and_never_goes_back(lists: StatusStore) -> None:
    with lists.store.transaction():
        lists.add(_list("l-1", iat=NOW + 2))
        lists.add(_list("l-2", iat=NOW + 2))
    _consent(lists.store, "c-1", "l-1", 0)
    _consent(lists.store, "c-2", "l-2", 0)
    with lists.store.transaction():
        lists.add_event("c-1", "active", at=NOW, list_id="l-1", iat=NOW + 1, published_at=None)
        lists.add_event("c-1", "suspended", at=NOW + 2, list_id="l-1", iat=NOW + 2, published_at=None)
        lists.add_event("c-2", "active", at=NOW, list_id="l-2", iat=NOW + 1, published_at=None)
        lists.refused("l-1", "unavailable: no answer")
    with lists.store.transaction():
        lists.published("l-1", NOW + 1, NOW + 50)
    assert [(e.status, e.published_at) for e in lists.store.events("c-1")] == [("active", NOW + 50),
                                                                             ("suspended", None)]
    assert [e.published_at for e in lists.store.events("c-2")] == [None]  # another list's events wait
    kept = lists.get("l-1")
    assert (kept.published_iat, kept.last_error) == (NOW + 1, None) and lists.pending() == ["l-1", "l-2"]
    with lists.store.transaction():
        lists.published("l-1", NOW + 2, NOW + 60)
        lists.published("l-1", NOW, NOW + 70)  # an older version taken late changes nothing
    assert [e.published_at for e in lists.store.events("c-1")] == [NOW + 50, NOW + 60]
    assert lists.get("l-1").published_iat == NOW + 2 and lists.pending() == ["l-2"]
