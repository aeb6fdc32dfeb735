"""Past one process: the measurements ``bench/scale.py`` makes on PostgreSQL (issue 16).

(a) verifier throughput: ``POST /v1/data`` with 1, 2 and 4 workers on PostgreSQL next to one
    worker on SQLite, same run, same load (fresh single-use presentations, every answer 200);
(b) feed fan-out: N SSE subscribers spread over two registry workers sharing one PostgreSQL
    database; for each PUT (made through either worker) the time from sending it to its event
    arriving at each subscriber, p50/p99 over every (PUT, subscriber) pair;
(c) storage: bytes per consent at the issuer, per release at the verifier and per list at the
    registry, on SQLite (file size) and PostgreSQL (``pg_total_relation_size``), and what that
    makes for 10 million users with 10 consents each.

PostgreSQL is a throwaway cluster started like the tests start theirs (``tests/support/postgres``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
from _harness import Service, latency_stats
from _world import World, presentations, users
from gate import load

from common import RegistryClient
from protocol import StatusList, StatusListToken
from tests.support import postgres
from tests.support.samples import KEYS

__all__ = ["fanout", "storage", "verifier_workers"]


# ---------------------------------------------------------------- (a) verifier workers


def _three_users_credentials(world: World, prefix: str) -> list[bytes]:
    """Start the world's registry, link three users at its holder and publish one list for them;
    one credential per user on that list."""
    world.start_registry()
    people = users(3)
    world.prepare_holder(people)
    list_id = prefix + secrets.token_hex(8)
    world.publish(list_id)
    return [world.credential(u, list_id, 100 + i) for i, u in enumerate(people)]


def verifier_workers(tmp: Path, cluster: postgres.Cluster, workers: list[int], seconds: float,
                     clients: int) -> list[dict[str, Any]]:
    rows = []
    setups: list[tuple[str, int]] = [("sqlite", 1)] + [("postgresql", n) for n in workers]
    for engine, n in setups:
        database = cluster.create_database() if engine == "postgresql" else None
        world = World(tmp / f"gate-{engine}-{n}", database)
        try:
            creds = _three_users_credentials(world, "bench-scale-")
            url = world.start_verifier(workers=n)
            for body in presentations(creds, 8 * n):  # every worker fetches and caches the list
                assert httpx.post(url + "/v1/data", content=body, headers={"Connection": "close"}).status_code == 200
            guess = 400 * n
            bodies = presentations(creds, int(guess * seconds * 1.5) + 100)
            run = load(url + "/v1/data", clients, seconds, bodies, world.tmp)
            if set(run["statuses"]) != {"200"}:
                raise SystemExit(f"the gate refused requests: {run['statuses']}")
            rows.append({"engine": engine, "workers": n, "clients": clients, "data_rps": run["rps"],
                         "p50_ms": run["p50_ms"], "p99_ms": run["p99_ms"], "requests": run["n"],
                         "exhausted": run["exhausted"]})
        finally:
            world.stop()
    return rows


# ---------------------------------------------------------------- (b) feed fan-out


async def _subscribe(me: int, port: int, arrived: dict[int, dict[int, list[float]]], ready: list[int],
                     stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    await writer.drain()
    connected = False
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                return
            if not connected and b"connected" in line:
                connected = True
                ready.append(1)
            if line.startswith(b"id: "):
                arrived.setdefault(int(line[4:]), {}).setdefault(me, []).append(time.perf_counter())
    finally:
        writer.close()


async def _fanout(ports: list[int], urls: list[str], subscribers: int, puts: int, gap: float) -> dict[str, Any]:
    arrived: dict[int, dict[int, list[float]]] = {}  # seq -> subscriber -> arrival times
    ready: list[int] = []
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_subscribe(i, ports[i % len(ports)], arrived, ready, stop))
             for i in range(subscribers)]
    deadline = time.monotonic() + 60
    while len(ready) < subscribers:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(ready)} of {subscribers} subscribers connected")
        await asyncio.sleep(0.05)
    sent: dict[int, float] = {}
    list_id = "bench-fanout-" + secrets.token_hex(6)
    start = int(time.time())
    async with httpx.AsyncClient(timeout=10) as client:
        for i in range(puts):
            url = urls[i % len(urls)]  # through either worker
            lst = StatusList()
            lst.set(i, 1)
            token = StatusListToken.create(uri=f"{urls[0]}/v1/lists/{list_id}", status_list=lst,
                                           signer=KEYS.status.did, ttl=300, now=start + i).sign(KEYS.status)
            t0 = time.perf_counter()
            response = await client.put(f"{url}/v1/lists/{list_id}", content=token)
            sent[int(response.json()["seq"])] = t0
            await asyncio.sleep(gap)
    wait_until = time.monotonic() + 15
    while any(len(arrived.get(seq, ())) < subscribers for seq in sent) and time.monotonic() < wait_until:
        await asyncio.sleep(0.05)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [times[0] - sent[seq] for seq in sent for times in arrived.get(seq, {}).values()]
    missing = sum(subscribers - len(arrived.get(seq, {})) for seq in sent)
    repeated = sum(len(times) - 1 for seq in sent for times in arrived.get(seq, {}).values())
    return {"subscribers": subscribers, "workers": len(ports), "puts": puts, "deliveries": len(latencies),
            "missing": missing, "repeated": repeated,
            **{k: v for k, v in latency_stats(latencies).items() if k != "n"}}


def fanout(tmp: Path, cluster: postgres.Cluster, subscribers: int, puts: int, gap: float = 0.2) -> dict[str, Any]:
    dsn = cluster.create_database()
    home = tmp / "fanout-registry"
    services = [Service.cli("registry", "serve", "--db", dsn, "--home", str(home), "--log-level", "warning",
                            timeout=120.0) for _ in range(2)]
    try:
        for svc in services:
            svc.start()
        return asyncio.run(_fanout([s.port for s in services], [s.url for s in services], subscribers, puts, gap))
    finally:
        for svc in services:
            svc.stop()


# ---------------------------------------------------------------- (c) storage


def _pg_bytes(dsn: str, tables: list[str]) -> int:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        return sum(int(conn.execute("SELECT pg_total_relation_size(%s)", [t]).fetchone()[0])  # type: ignore[index]
                   for t in tables)


def _sqlite_bytes(path: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.stat().st_size


def storage(tmp: Path, cluster: postgres.Cluster, n: int) -> list[dict[str, Any]]:
    """Fill each party's store with ``n`` items through its library; bytes per item, both engines."""
    from issuer import build_request, open_store, publish, receive_consent
    from registry import Registry
    from tests.issuer.conftest import GOOD_ARGS, grant
    from tests.support.samples import LIST_URI
    from verifier.holder import Holder
    from verifier.sources import demo_source

    rows: list[dict[str, Any]] = []
    for engine in ("sqlite", "postgresql"):
        # issuer: one signed request and the consent answering it, per consent
        dsn = cluster.create_database() if engine == "postgresql" else None
        path = tmp / f"issuer-{engine}.db"
        store = open_store(dsn or path)
        empty = _pg_bytes(dsn, ["requests", "consents", "records", "meta"]) if dsn else _sqlite_bytes(path)
        for i in range(n):
            request = build_request(requester=KEYS.requester, **GOOD_ARGS)
            publish(store, request, account=f"acct-{i}", base_url="https://kakeibo.example")
            receive_consent(store, grant(request, uri=LIST_URI, index=i), requester=KEYS.requester.did)
        store.close()
        full = _pg_bytes(dsn, ["requests", "consents", "records", "meta"]) if dsn else _sqlite_bytes(path)
        rows.append({"party": "issuer", "engine": engine, "per": "consent", "n": n,
                     "bytes_each": round((full - empty) / n)})
        # verifier: one release (replay entry + provision record) per consent use
        dsn = cluster.create_database() if engine == "postgresql" else None
        world = World(tmp / f"verifier-{engine}", dsn)
        try:
            creds = _three_users_credentials(world, "bench-storage-")
            assert world.registry is not None
            holder = Holder.open(world.verifier_home, RegistryClient(world.registry.url), database=dsn,
                                 source=demo_source())
            tables = ["replay", "nonces", "records", "links", "link_codes", "status_seen", "feed_position", "meta"]
            db_path = world.verifier_home / "verifier.db"
            holder.release(presentations(creds, 1)[0])
            empty = _pg_bytes(dsn, tables) if dsn else _sqlite_bytes(db_path)
            for body in presentations(creds, n):
                holder.release(body)
            holder.close()
            full = _pg_bytes(dsn, tables) if dsn else _sqlite_bytes(db_path)
            rows.append({"party": "verifier", "engine": engine, "per": "release", "n": n,
                         "bytes_each": round((full - empty) / n)})
        finally:
            world.stop()
        # registry: one 16,384-entry list (token, key, event) per relationship
        dsn = cluster.create_database() if engine == "postgresql" else None
        home = tmp / f"registry-{engine}"
        reg = Registry.open(home, dsn=dsn, council_key=KEYS.council)
        tables = ["lists", "events", "organisations", "settings"]
        empty = _pg_bytes(dsn, tables) if dsn else _sqlite_bytes(home / "registry.db")
        now = int(time.time())
        for _ in range(n):
            list_id = secrets.token_urlsafe(16)
            lst = StatusList()
            lst.set(secrets.randbelow(16384), 1)
            token = StatusListToken.create(uri=f"https://registry.example/v1/lists/{list_id}", status_list=lst,
                                           signer=KEYS.status.did, ttl=300, now=now).sign(KEYS.status)
            reg.publish(list_id, token, now=now)
        reg.close()
        full = _pg_bytes(dsn, tables) if dsn else _sqlite_bytes(home / "registry.db")
        rows.append({"party": "registry", "engine": engine, "per": "relationship (list)", "n": n,
                     "bytes_each": round((full - empty) / n)})
    return rows


def projection(rows: list[dict[str, Any]], users_: int = 10_000_000, consents_each: int = 10,
               uses_per_day: float = 1.0) -> list[dict[str, Any]]:
    """Sizes for ``users_`` x ``consents_each`` consents, one relationship (list) per consent and
    ``uses_per_day`` releases per consent per day; the write rates that implies."""
    consents = users_ * consents_each
    out = []
    for row in rows:
        if row["engine"] != "postgresql":
            continue
        if row["party"] == "verifier":
            per_day = consents * uses_per_day
            out.append({"party": "verifier", "what": f"{uses_per_day:g} release/consent/day",
                        "size_gb": round(per_day * row["bytes_each"] / 1e9, 1), "size_is": "per day",
                        "writes_per_s": round(per_day / 86400)})
        elif row["party"] == "issuer":
            out.append({"party": "issuer", "what": f"{consents:,} consents", "size_gb":
                        round(consents * row["bytes_each"] / 1e9, 1), "size_is": "total",
                        "writes_per_s": round(consents * uses_per_day / 86400)})
        else:
            out.append({"party": "registry", "what": f"{consents:,} lists", "size_gb":
                        round(consents * row["bytes_each"] / 1e9, 1), "size_is": "total",
                        "writes_per_s": round(consents * 0.01 / 86400, 1)})
    return out


def dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2))
