"""The wallet store's typed rows: received requests and decisions, kept consents, listing pages and
rights requests, each read back as a dataclass; missing rows, empty tables and the filters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol import NotFound
from tests.support import samples
from wallet.store import NewConsent, ReceivedRequest, Store

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
             holder_name: dict[str, str] | None = None) -> NewConsent:
    consent = NewConsent(
        id=consent_id, raw=b"credential " + consent_id.encode(), request_cid=request_cid,
        requester=samples.KEYS.requester.did, requester_name={"ja": "かけいぼ", "en": "Kakeibo"}, verified=True,
        holder=samples.KEYS.holder.did, holder_name=holder_name, holder_url="https://bank.example/v1/data",
        items=("transactions",), purposes=("dpv:ServiceProvision",), lang="en", issued_at=issued_at,
        expires_at=issued_at + 86400, list_id="list-1", idx=idx, callback="https://kakeibo.example/cb")
    with store.transaction():
        store.add_consent(consent)
    return consent


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
    with store.transaction():
        store.keep_request(request, source="s", lang="ja", at=NOW)
    _consent(store, "c-1", request.cid)
    assert store.request_cid("c-1") == request.cid
    assert store.delivery("c-1").raw == b"credential c-1"
    entry = store.entry("c-1")
    assert (entry.state, entry.list_id, entry.idx) == ("active", "list-1", 0)
    row = store.row("SELECT verified, holder_name, items, delivered, delivery_error FROM consents WHERE id = 'c-1'")
    assert row == {"verified": 1, "holder_name": None, "items": '["transactions"]', "delivered": 0,
                   "delivery_error": None}


def test_a_missing_consent_has_no_request(store: Store) -> None:
    with pytest.raises(NotFound):
        store.request_cid("c-none")
