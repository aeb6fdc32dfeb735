"""kill -9 of a real verifier under 8 clients, again and again: no acknowledged release is lost.

``copyme verifier serve`` runs as its own process (uvicorn, SQLite in its home folder, group
commit: on the event loop with ``--synchronous normal``, 20 kills; on the writer thread with
``full``, 10 kills); eight client threads release data with fresh presentations over keep-alive
connections while the test kills the process with SIGKILL at a random moment, restarts it and
goes on.  Afterwards every presentation a client got a 200 for is used up in the database (its
replay entry commits in the same transaction as its provision record and usage receipt), each
consent has at least as many provision records and receipts as clients were answered 200 for
it, the records chain verifies, and each answered presentation is refused as ``replayed`` when
sent again.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from common.registry_client import RegistryClient
from protocol import ConsentCredential, KeyPair, LinkProof, Presentation, StatusList, StatusListToken, StatusRef
from registry.app import create_app as registry_app
from tests.support import samples
from tests.support.servers import ThreadServer, free_port, wait_until_up
from verifier.holder import Holder

pytestmark = pytest.mark.slow
KEYS = samples.KEYS
LIST = "list-crash-aaaaaaaaaaaa"
CLIENTS = 8
KILLS = 20
USERS = [KeyPair.from_seed(bytes([0x60 + i]) * 32) for i in range(CLIENTS)]


def _presentation(credential: bytes) -> tuple[bytes, bytes]:
    """A fresh presentation of ``credential`` and its replay key (presenter DID, NUL, presentation id)."""
    pid = secrets.token_bytes(16)
    body = Presentation(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=credential,
                        items=("transactions",), purpose="dpv:ServiceProvision", issued_at=int(time.time()),
                        presentation_id=pid).sign(KEYS.requester)
    return body, KEYS.requester.did.encode() + b"\x00" + pid


def _prepare(tmp_path: Path, registry_url: str) -> tuple[Path, list[bytes]]:
    """The holder's home (key, one linked user per client) and one credential per client."""
    now = int(time.time())
    uri = f"{registry_url}/v1/lists/{LIST}"
    token = StatusListToken.create(uri=uri, status_list=StatusList(), signer=KEYS.status.did, ttl=600, now=now)
    RegistryClient(registry_url).publish(LIST, token.sign(KEYS.status))
    home = tmp_path / "bank"
    home.mkdir()
    (home / "holder.key").write_text(KEYS.holder.seed.hex() + "\n")
    (home / "holder.key").chmod(0o600)
    holder = Holder.open(home)
    try:
        for user in USERS:
            code = holder.new_link_code("C-1001")
            holder.link(LinkProof(user=user.did, holder=holder.did, code=code, issued_at=now).sign(user))
    finally:
        holder.close()
    request = samples.signed_request(KEYS, now)
    credentials = [ConsentCredential.grant(request, user=user.did, items=("transactions", "balance"),
                                           status=StatusRef(uri, 100 + i, KEYS.status.did), now=now).sign(user)
                   for i, user in enumerate(USERS)]
    return home, credentials


def _serve(home: Path, registry_url: str, port: int, synchronous: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "copyme", "verifier", "serve", "--home", str(home),
                             "--registry", registry_url, "--demo", "--synchronous", synchronous,
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(f"http://127.0.0.1:{port}/health", timeout=90, proc=proc)
    return proc


@pytest.mark.parametrize(("synchronous", "kills"), [("normal", KILLS), ("full", KILLS // 2)])
def test_kill_9_under_eight_clients_loses_no_acknowledged_release(tmp_path: Path, synchronous: str,
                                                                   kills: int) -> None:
    """``normal`` commits on the event loop, ``full`` on the group-commit thread: both are killed."""
    registry = ThreadServer(registry_app(tmp_path / "registry", heartbeat=0.5)).start()
    rng = random.Random(15)
    acked: list[tuple[int, bytes, bytes]] = []  # (client, presentation, replay key) answered 200
    lock = threading.Lock()
    try:
        home, credentials = _prepare(tmp_path, registry.url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        for _ in range(kills):
            proc = _serve(home, registry.url, port, synchronous)
            stop = threading.Event()

            def client(i: int, stop: threading.Event = stop) -> None:
                with httpx.Client(timeout=10.0) as http:
                    for _ in range(10_000):  # bounded; ends at the kill
                        if stop.is_set():
                            return
                        body, key = _presentation(credentials[i])
                        try:
                            response = http.post(url + "/v1/data", content=body)
                        except httpx.TransportError:
                            return  # the process died under this request: no answer, no promise
                        assert response.status_code == 200, response.text
                        with lock:
                            acked.append((i, body, key))

            threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.3, 1.0))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            stop.set()
            for t in threads:
                t.join(timeout=30)
        assert len(acked) > kills * CLIENTS, f"too few releases to mean anything: {len(acked)}"

        holder = Holder.open(home)  # what a restart finds
        try:
            with holder.db.lock:
                used = {bytes(r[0]) for r in holder.db.execute("SELECT key FROM replay").fetchall()}
            lost = [key for _, _, key in acked if key not in used]
            assert not lost, f"{len(lost)} of {len(acked)} acknowledged releases were not committed"
            rows = holder.records.all()
            assert holder.records.verify_chain() == len(rows)
            assert all(r["kind"] == "provision" for r in rows)
            # at least one record and one receipt per acknowledged release, per consent (a release
            # may commit and then lose its answer to the kill: more records than 200s is fine)
            by_client = Counter(i for i, _, _ in acked)
            consent_ids = [ConsentCredential.decode(c) and holder.credentials.decode(c)[1] for c in credentials]
            records = Counter(r["consent_id"] for r in rows)
            with holder.db.lock:
                receipts = Counter(str(r[0]) for r in holder.db.execute(
                    "SELECT consent_id FROM receipts WHERE outcome = 'released'").fetchall())
            for i, consent_id in enumerate(consent_ids):
                assert records[consent_id] >= by_client[i], (i, records[consent_id], by_client[i])
                assert receipts[consent_id] == records[consent_id]
            assert len(rows) == len(used)  # one replay entry per provision record, no more, no less
        finally:
            holder.close()

        proc = _serve(home, registry.url, port, synchronous)  # replays stay refused after the restarts
        try:
            for _, body, _ in rng.sample(acked, min(40, len(acked))):
                response = httpx.post(url + "/v1/data", content=body, timeout=10.0)
                assert response.status_code == 403 and response.json()["error"] == "replayed", response.text
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        registry.stop()
