"""The verifier on many workers over one PostgreSQL database: one release per presentation
cluster-wide, one unbroken records chain, and the faults (database restarted or a worker
killed during a release storm; a DSN that does not answer)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.registry_client import RegistryClient
from protocol import ConsentCredential, LinkProof, Presentation, StatusList, StatusListToken, StatusRef, UsageReceipt
from registry.app import create_app as registry_app
from tests.support import samples
from tests.support.postgres import Cluster
from tests.support.servers import ThreadServer, free_port, serve_cli
from verifier.holder import Holder

pytestmark = pytest.mark.slow
KEYS = samples.KEYS
LIST = "list-scale-aaaaaaaaaaaa"


@dataclass
class Gate:
    """A verifier served by ``--workers`` processes, its registry, and the shared database."""

    url: str
    home: Path
    dsn: str
    proc: subprocess.Popen[str]
    credential: bytes

    def present(self) -> bytes:
        now = int(time.time())
        return Presentation(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=self.credential,
                            items=("transactions",), purpose="dpv:ServiceProvision", issued_at=now,
                            presentation_id=secrets.token_bytes(16)).sign(KEYS.requester)

    def holder(self) -> Holder:
        return Holder.open(self.home, database=self.dsn)


@contextlib.contextmanager
def gate(tmp_path: Path, dsn: str, workers: int = 2, source: tuple[str, ...] = ("--demo",)) -> Iterator[Gate]:
    """A registry (in-process) with an all-valid list, and ``copyme verifier serve --workers``
    serving the data ``source`` options name (the demo customers by default)."""
    registry = ThreadServer(registry_app(tmp_path / "registry", heartbeat=0.5)).start()
    now = int(time.time())
    uri = f"{registry.url}/v1/lists/{LIST}"
    token = StatusListToken.create(uri=uri, status_list=StatusList(), signer=KEYS.status.did, ttl=300, now=now)
    RegistryClient(registry.url).publish(LIST, token.sign(KEYS.status))
    home = tmp_path / "bank"
    home.mkdir()
    key_file = home / "holder.key"
    key_file.write_text(KEYS.holder.seed.hex() + "\n")
    key_file.chmod(0o600)
    holder = Holder.open(home, database=dsn)  # the key and the schema, before the workers start
    try:
        code = holder.new_link_code("C-1001")
        proof = LinkProof(user=KEYS.user.did, holder=holder.did, code=code, issued_at=now).sign(KEYS.user)
        holder.link(proof)
        request = samples.signed_request(KEYS, now)
        request_holder = holder.did
    finally:
        holder.close()
    assert request_holder == KEYS.holder.did, "the test gate must use the samples' holder key"
    credential = ConsentCredential.grant(request, user=KEYS.user.did, items=("transactions", "balance"),
                                         status=StatusRef(uri, 1234, KEYS.status.did), now=now).sign(KEYS.user)
    args = ["verifier", "serve", "--home", str(home), "--registry", registry.url, "--db", dsn,
            "--workers", str(workers), *source]
    try:
        with serve_cli(args, health_path="/v1/holder", timeout=90) as (url, proc):
            yield Gate(url, home, dsn, proc, credential)
    finally:
        registry.stop()


def storm(g: Gate, presentations: list[bytes], copies: int, during: object = None) -> Counter[tuple[int, int]]:
    """POST every presentation ``copies`` times at once from many threads (a new connection each,
    so every worker takes some); returns Counter of (presentation index, status)."""
    outcomes: Counter[tuple[int, int]] = Counter()
    lock = threading.Lock()
    jobs = [(i, p) for i, p in enumerate(presentations) for _ in range(copies)]

    def send(chunk: list[tuple[int, bytes]]) -> None:
        for index, body in chunk:
            try:
                status = httpx.post(f"{g.url}/v1/data", content=body, timeout=30).status_code
            except httpx.TransportError:
                status = 0
            with lock:
                outcomes[(index, status)] += 1

    threads = [threading.Thread(target=send, args=(jobs[k::16],)) for k in range(16)]
    for thread in threads:
        thread.start()
    if callable(during):
        during()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _answer(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request on a new connection (so both workers answer some), sent again while the answer
    is 503 ``busy`` (a loaded machine's pool had no free connection in time: nothing changed, and
    the answer says when to retry); any other answer is returned.  Bounded in count and time."""
    deadline = time.monotonic() + 60
    for _ in range(20):
        answer = httpx.request(method, url, headers={"Connection": "close"}, timeout=30, **kwargs)
        if answer.status_code != 503 or answer.json().get("error") != "busy" or time.monotonic() > deadline:
            return answer
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    return answer


def _released(outcomes: Counter[tuple[int, int]]) -> Counter[int]:
    return Counter(i for (i, status), n in outcomes.items() if status == 200 for _ in range(n))


def test_every_worker_serves_the_sql_table_named_on_the_command_line(tmp_path: Path, pg_dsn: str) -> None:
    """--sql reaches each worker process as text (each opens the table itself), not as an object
    made in the parent: every release, whichever worker answers, comes from the bank's own table."""
    table = tmp_path / "core-banking.db"
    conn = sqlite3.connect(table)
    conn.execute("CREATE TABLE accounts (cust_no TEXT PRIMARY KEY, transactions TEXT)")
    conn.execute("INSERT INTO accounts VALUES ('C-1001', ?)", (json.dumps([{"memo": "own table", "amount": -7}]),))
    conn.commit()
    conn.close()
    sql = ("--sql", f"sqlite:///{table}", "--sql-table", "accounts", "--sql-key", "cust_no",
           "--sql-json", "transactions")
    with gate(tmp_path, pg_dsn, workers=2, source=sql) as g:
        for _ in range(12):  # a new connection each time, so both workers answer some
            response = httpx.post(f"{g.url}/v1/data", content=g.present(), timeout=30)
            assert response.status_code == 200, response.text
            assert response.json()["items"] == {"transactions": [{"memo": "own table", "amount": -7}]}


def test_many_workers_release_each_presentation_once_and_keep_one_chain(tmp_path: Path, pg_dsn: str) -> None:
    with gate(tmp_path, pg_dsn, workers=3) as g:
        presentations = [g.present() for _ in range(30)]
        outcomes = storm(g, presentations, copies=3)
        released = _released(outcomes)
        assert set(released.values()) == {1} and len(released) == 30, outcomes
        statuses = Counter(status for (_, status), n in outcomes.items() for _ in range(n))
        assert statuses == Counter({200: 30, 403: 60}), statuses
        holder = g.holder()
        try:
            rows = holder.records.all()
            assert holder.records.verify_chain() == len(rows) == 90
            assert Counter(r["kind"] for r in rows) == Counter({"provision": 30, "refusal": 60})
            assert {r["reason"] for r in rows if r["kind"] == "refusal"} == {"replayed"}
            # every attempt has its receipt, signed when first asked for, in one chain across the workers
            (customer,) = {r["person"] for r in rows}
            page = holder.receipts.of_customer(customer)
            receipts = [UsageReceipt.decode(r.raw) for r in page.receipts]
            assert len(receipts) == 90 and not page.more
            for before, receipt in zip([None, *receipts], receipts, strict=False):
                receipt.check_follows(0 if before is None else before.seq, None if before is None else before.raw)
            for change in ("raw = NULL", "outcome = 'refused'"):  # signed once, never changed (the trigger raises)
                with pytest.raises(Exception, match="RaiseException"):
                    holder.db.execute(f"UPDATE receipts SET {change} WHERE seq = 1")
        finally:
            holder.close()


def test_a_nonce_and_a_link_code_are_single_use_across_workers(tmp_path: Path, pg_dsn: str) -> None:
    with gate(tmp_path, pg_dsn, workers=2) as g:
        nonces = [_answer("GET", f"{g.url}/v1/nonce").json()["nonce"] for _ in range(6)]
        import base64

        def with_nonce(value: str) -> bytes:
            nonce = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            return Presentation(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=g.credential,
                                items=("transactions",), purpose="dpv:ServiceProvision",
                                issued_at=int(time.time()), presentation_id=secrets.token_bytes(16),
                                nonce=nonce).sign(KEYS.requester)

        # each nonce in two different presentations, sent at once: exactly one of the two is served
        bodies = [with_nonce(n) for n in nonces for _ in range(2)]
        outcomes = storm(g, bodies, copies=1)
        by_nonce = Counter(i // 2 for (i, status), n in outcomes.items() if status == 200 for _ in range(n))
        assert by_nonce == Counter(dict.fromkeys(range(6), 1)), outcomes
        holder = g.holder()
        try:
            code = holder.new_link_code("C-1002")
        finally:
            holder.close()
        now = int(time.time())
        proofs = [LinkProof(user=k.did, holder=KEYS.holder.did, code=code, issued_at=now).sign(k)
                  for k in (KEYS.stranger, KEYS.council, KEYS.status)]
        codes = Counter()
        for proof in proofs:
            codes[_answer("POST", f"{g.url}/v1/links", content=proof).status_code] += 1
        assert codes == Counter({200: 1, 403: 2}), codes


def test_postgres_restarted_during_a_release_storm(tmp_path: Path, pg_cluster: Cluster) -> None:
    dsn = pg_cluster.create_database()
    with gate(tmp_path, dsn, workers=2) as g:
        presentations = [g.present() for _ in range(60)]

        def restart() -> None:
            time.sleep(0.5)
            pg_cluster.restart(mode="immediate")  # like a crash: open transactions are lost

        outcomes = storm(g, presentations, copies=2, during=restart)
        released = _released(outcomes)
        assert set(released.values()) <= {1}, "a presentation was released twice"
        statuses = {status for (_, status) in outcomes}
        assert statuses <= {200, 403, 503}, outcomes  # refusals and 503s while it was down; no 500
        deadline = time.monotonic() + 30
        while True:  # the workers are back once the database is
            status = httpx.post(f"{g.url}/v1/data", content=g.present(), timeout=30).status_code
            if status == 200:
                break
            assert time.monotonic() < deadline, f"no recovery: {status}"
            time.sleep(0.3)
        holder = g.holder()
        try:
            rows = holder.records.all()
            holder.records.verify_chain()  # not forked, nothing missing in the middle
            provisions = [r for r in rows if r["kind"] == "provision"]
            assert len(provisions) == len(released) + 1  # every release has its record (+ the probe)
        finally:
            holder.close()


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(t) for t in text)
    return found


def test_a_worker_killed_mid_storm_loses_nothing_and_forks_nothing(tmp_path: Path, pg_dsn: str) -> None:
    with gate(tmp_path, pg_dsn, workers=2) as g:
        presentations = [g.present() for _ in range(60)]
        workers = _children(g.proc.pid)
        assert workers, "uvicorn started no worker processes"

        def kill_one() -> None:
            time.sleep(0.4)
            os.kill(workers[0], signal.SIGKILL)

        outcomes = storm(g, presentations, copies=2, during=kill_one)
        released = _released(outcomes)
        assert set(released.values()) <= {1}, "a presentation was released twice"
        holder = g.holder()
        try:
            rows = holder.records.all()
            holder.records.verify_chain()
            assert len([r for r in rows if r["kind"] == "provision"]) == len(released)
        finally:
            holder.close()


def test_a_dsn_that_does_not_answer_is_one_line_at_start(tmp_path: Path) -> None:
    dsn = f"postgresql://copyme:s3cret-pw@127.0.0.1:{free_port()}/bank"
    result = subprocess.run(
        [sys.executable, "-m", "copyme", "verifier", "serve", "--db", dsn, "--home", str(tmp_path),
         "--demo", "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unavailable: cannot reach PostgreSQL at 127.0.0.1:")
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_workers_need_a_shared_database(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "copyme", "verifier", "serve", "--home", str(tmp_path), "--workers", "2",
         "--demo", "--port", str(free_port())], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and result.stderr.startswith("error: invalid: --workers above 1 needs --db")
