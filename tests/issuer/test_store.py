"""The issuer's one SQL store on both engines: recorded schema steps bring an older database
forward with its rows intact, and the rights and copied-data tables keep their promises
(a replay changes nothing, a completion is written once, erasing removes every copy)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from issuer.migrations import MIGRATIONS
from issuer.store import IssuerStorage, IssuerStore, StoredRights, open_store
from protocol import ConsentCredential, Replayed
from storage import migrate_postgres, open_pool
from tests.support import samples


@pytest.fixture
def store(tmp_path: Path, backend: str | None) -> Iterator[IssuerStorage]:
    opened = open_store(backend if backend is not None else tmp_path / "issuer.db")
    yield opened
    opened.close()


def _rights(consent_id: str, *, id: str = "bafyrights1", cti: str = "00" * 16) -> StoredRights:
    return StoredRights(id=id, consent_id=consent_id, account="alice", user=samples.KEYS.user.did, cti=cti,
                        kind="both", raw=b"\xd2request", received_at=samples.NOW, due_at=samples.NOW + 86400,
                        ack=b"\xd2ack")


def _credential() -> ConsentCredential:
    return ConsentCredential.decode(samples.credential().sign(samples.KEYS.user))


def _held(store: IssuerStorage) -> str:
    request = store.add_request(samples.signed_request(), "alice")
    return store.add_consent(_credential(), request, samples.NOW).id


def test_a_replayed_rights_request_changes_nothing(store: IssuerStorage) -> None:
    consent_id = _held(store)
    first = store.add_rights(_rights(consent_id))
    with pytest.raises(Replayed):
        store.add_rights(_rights(consent_id))  # the same request again
    with pytest.raises(Replayed):
        store.add_rights(_rights(consent_id, id="bafyrights2"))  # re-signed, same (user, cti)
    assert store.rights_list() == [first]
    assert store.rights_seen(samples.KEYS.user.did, "00" * 16)
    assert not store.rights_seen(samples.KEYS.requester.did, "00" * 16)


def test_a_completion_is_written_once(store: IssuerStorage) -> None:
    consent_id = _held(store)
    store.add_rights(_rights(consent_id))
    assert [r.id for r in store.rights_list(open_only=True)] == ["bafyrights1"]
    done = store.finish_rights("bafyrights1", b"\xd2done", samples.NOW + 5, ("balance",), 2)
    again = store.finish_rights("bafyrights1", b"\xd2other", samples.NOW + 9, (), 0)
    assert again == done and (done.done, done.erased_items, done.erased_records) == (b"\xd2done", ("balance",), 2)
    assert done.state(samples.NOW) == "done" and store.rights_list(open_only=True) == []


def test_copied_data_keeps_the_latest_copy_and_erasing_removes_it(store: IssuerStorage) -> None:
    consent_id = _held(store)
    store.keep_copied(consent_id, "alice", {"balance": 1, "transactions": [{"amount": -1}]}, samples.NOW)
    store.keep_copied(consent_id, "alice", {"balance": 2}, samples.NOW + 1)
    store.keep_copied("bafyother", "bob", {"balance": 7}, samples.NOW)
    assert sorted((c.item, c.value, c.copied_at) for c in store.copied(account="alice")) == [
        ("balance", 2, samples.NOW + 1), ("transactions", [{"amount": -1}], samples.NOW)]
    assert store.erase_copied(consent_id) == (("balance", "transactions"), 2)
    assert store.copied(consent_id=consent_id) == [] and len(store.copied()) == 1
    assert store.erase_copied(consent_id) == ((), 0)


def test_a_declined_request_is_marked_once_and_is_no_longer_open(store: IssuerStorage) -> None:
    request = store.add_request(samples.signed_request(), "alice")
    assert store.open_request("alice", samples.NOW) == request
    first = store.set_declined(request.id, samples.NOW + 1)
    assert store.set_declined(request.id, samples.NOW + 9).declined_at == first.declined_at == samples.NOW + 1
    assert store.open_request("alice", samples.NOW) is None
    assert store.declined("alice") == [first] and store.declined("bob") == []


def test_a_sqlite_file_of_the_previous_version_is_brought_forward(tmp_path: Path) -> None:
    """A file made before the steps were recorded (step 1's tables, no schema_migrations)."""
    path = tmp_path / "issuer.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0].sqlite)
    request = samples.signed_request()
    conn.execute("INSERT INTO requests VALUES (?, 'alice', ?, ?, ?, ?, 0)",
                 [request.request_id.hex(), request.cid, request.raw, request.issued_at, request.expires_at])
    conn.commit()
    conn.close()
    store = IssuerStore(path)
    old = store.request(request.request_id.hex())
    assert (old.account, old.declined_at, old.answered) == ("alice", 0, False)
    consent = store.add_consent(_credential(), old, samples.NOW)
    store.add_rights(_rights(consent.id))
    store.close()
    with sqlite3.connect(path) as check:
        steps = [r[0] for r in check.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert steps == [m.name for m in MIGRATIONS]
    reopened = IssuerStore(path)  # opening again applies nothing and keeps everything
    assert [r.id for r in reopened.rights_list()] == ["bafyrights1"]
    reopened.close()


def test_a_postgres_database_of_the_previous_version_is_brought_forward(pg_dsn: str) -> None:
    pool = open_pool(pg_dsn, name="old-issuer")
    migrate_postgres(pool, MIGRATIONS[:1], samples.NOW, 1)
    request = samples.signed_request()
    with pool.connection() as conn:
        conn.execute("INSERT INTO requests VALUES (%s, 'alice', %s, %s, %s, %s, 0)",
                     [request.request_id.hex(), request.cid, request.raw, request.issued_at, request.expires_at])
    pool.close()
    store = open_store(pg_dsn)
    old = store.request(request.request_id.hex())
    assert (old.account, old.declined_at) == ("alice", 0)
    consent = store.add_consent(_credential(), old, samples.NOW)
    assert store.add_rights(_rights(consent.id)).consent_id == consent.id
    store.close()
