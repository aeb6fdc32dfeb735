"""Replay cache and claims: one commit per request, durable before data leaves, races decided once."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from common.registry_client import FetchResult
from protocol import ConsentCredential, LinkProof, Presentation, StatusList, StatusListToken, StatusRef
from protocol.errors import Replayed
from tests.support import samples
from tests.support.samples import KEYS
from verifier.holder import Holder
from verifier.replay import _FRONT_MAX, NonceStore, ReplayCache
from verifier.sources import demo_source
from verifier.store import open_database

NOW = samples.NOW
URI = "https://registry.example/v1/lists/list-aaaaaaaaaaaaaaaa"
ROOT = Path(__file__).resolve().parents[2]


class _OneList:
    """A registry double serving one valid, signed list (the replay logic is under test here)."""

    base_url = "https://registry.example"  # the trusted registry every sample status URI is on

    def __init__(self) -> None:
        self.token = StatusListToken.create(uri=URI, status_list=StatusList(), signer=KEYS.status.did, ttl=3600,
                                            lifetime=86400, now=NOW).sign(KEYS.status)

    def fetch(self, uri: str, etag: str | None = None, version: str | None = None) -> FetchResult:
        return FetchResult(self.token, "etag", 3600)

    def events(self, last_event_id: str | None = None, list_id: str | None = None) -> Any:
        return iter(())


def _holder(path: Path) -> Holder:
    holder = Holder(KEYS.holder, open_database(path), _OneList(), clock_fn=lambda: NOW, source=demo_source())
    if holder.links.customer_for(KEYS.user.did) is None:
        code = holder.new_link_code("C-1001", now=NOW)
        holder.link(LinkProof(user=KEYS.user.did, holder=KEYS.holder.did, code=code, issued_at=NOW).sign(KEYS.user))
    return holder


def _presentation() -> bytes:
    credential = ConsentCredential.grant(samples.signed_request(KEYS, NOW), user=KEYS.user.did,
                                         items=("transactions", "balance"),
                                         status=StatusRef(URI, 1234, KEYS.status.did), now=NOW).sign(KEYS.user)
    return Presentation(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=credential,
                        items=("balance",), purpose="dpv:ServiceProvision", issued_at=NOW,
                        presentation_id=secrets.token_bytes(16)).sign(KEYS.requester)


def _count(holder: Holder, table: str) -> int:
    with holder.db.lock:
        return int(holder.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_release_writes_the_replay_entry_and_the_record_in_one_commit(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    holder.verify(_presentation())  # the first sight of a list version writes its iat (rollback guard)
    statements: list[str] = []
    holder.db.conn.set_trace_callback(lambda sql: statements.append(sql.strip().split()[0].upper()))
    data = _presentation()
    holder.release(data)
    holder.db.conn.set_trace_callback(None)
    writes = [i for i, verb in enumerate(statements) if verb in ("INSERT", "UPDATE", "DELETE")]
    assert statements.count("BEGIN") == 1 and statements.count("COMMIT") == 1
    assert writes and all(statements.index("BEGIN") < i < statements.index("COMMIT") for i in writes)
    assert _count(holder, "replay") == 2 and len(holder.records.all()) == 1
    with pytest.raises(Replayed):
        holder.release(data)
    assert [r["kind"] for r in holder.records.all()] == ["provision", "refusal"]


def test_a_racing_duplicate_is_released_once(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    data = _presentation()
    holder.verify(_presentation())  # warm the status and credential caches
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        barrier.wait()
        try:
            holder.release(data)
            outcomes.append("released")
        except Replayed:
            outcomes.append("replayed")

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["released"] + ["replayed"] * 5
    assert len([r for r in holder.records.all() if r["kind"] == "provision"]) == 1


def test_a_killed_process_does_not_reopen_the_replay_window(tmp_path: Path) -> None:
    """Release in a child process, kill -9 it at once: the presentation is still used up, the record kept."""
    data = _presentation()
    (tmp_path / "p.bin").write_bytes(data)
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from tests.verifier.test_replay import _holder
holder = _holder(Path({str(tmp_path / 'v.db')!r}))
holder.release(Path({str(tmp_path / 'p.bin')!r}).read_bytes())
print("released", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert child.stdout.strip() == "released" and child.returncode == -9, child.stderr
    holder = _holder(tmp_path / "v.db")
    with pytest.raises(Replayed):
        holder.release(data)
    assert [r["kind"] for r in holder.records.all()] == ["provision", "refusal"]
    assert holder.records.verify_chain() == 2


def test_the_front_answers_after_a_restart_and_when_it_overflows(tmp_path: Path) -> None:
    db = open_database(tmp_path / "r.db")
    cache = ReplayCache(db)
    cache.use(b"old", NOW + 100, NOW)
    again = ReplayCache(db)  # a restart: live entries are loaded into the front
    with pytest.raises(Replayed):
        again.check(b"old", NOW)
    again.check(b"old", NOW + 100)  # expired: usable again
    for i in range(_FRONT_MAX + 1):  # the first entry is dropped from the front while live...
        again.remember(i.to_bytes(4, "big"), NOW + 50)
    with db.lock:
        db.execute("INSERT INTO replay (key, expires_at) VALUES (?, ?)", [(0).to_bytes(4, "big"), NOW + 50])
    with pytest.raises(Replayed):  # ...so a miss is confirmed on disk until it expires
        again.check((0).to_bytes(4, "big"), NOW)


def test_a_nonce_is_used_up_with_the_record(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "v.db")
    nonce = holder.issue_nonce(NOW)
    p = Presentation.decode(_presentation())
    data = Presentation(presenter=p.presenter, audience=p.audience, credential=p.credential, items=p.items,
                        purpose=p.purpose, issued_at=NOW, presentation_id=secrets.token_bytes(16),
                        nonce=nonce).sign(KEYS.requester)
    holder.release(data)
    assert _count(holder, "nonces") == 0


def test_issuing_a_nonce_does_not_scan_the_outstanding_ones(tmp_path: Path) -> None:
    """``GET /v1/nonce`` slowed as nonces piled up: each issue scanned the table to purge."""
    db = open_database(tmp_path / "nonces.db")
    nonces = NonceStore(db)
    with db.lock:
        db.conn.executemany("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)",
                            ((i.to_bytes(16, "big"), NOW + 60) for i in range(20_000)))
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    for _ in range(50):
        nonces.issue(now=NOW)
    db.conn.set_trace_callback(None)
    purges = [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert len(purges) == 1  # at most one purge per second, not one per issue
    plan = " ".join(str(row[-1]) for row in db.conn.execute(
        "EXPLAIN QUERY PLAN DELETE FROM nonces WHERE expires_at <= ?", [NOW]))
    assert "nonces_expiry" in plan, plan  # and it finds the expired ones through the index
    nonces.issue(now=NOW + 61)  # a second later than their expiry: the old ones go
    assert db.conn.execute("SELECT COUNT(*) FROM nonces").fetchone()[0] == 51
    with pytest.raises(Replayed):
        nonces.check((5).to_bytes(16, "big"), now=NOW + 61)
