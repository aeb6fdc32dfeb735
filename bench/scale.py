"""Scale: big status lists, a wallet with many consents, a registry with many lists.

    python bench/scale.py [--lists 100000] [--consents 10000,100000] [--quick]

1. Status lists of 16,384 / 131,072 / 1,048,576 entries with 1% revoked at random: the signed
   token's size, the time to compress+sign it, and the time a verifier spends to verify+decode
   it and look one entry up (best of several runs; the 16,384 list is the wallet's default and
   the baseline of the ratios).
2. ``Wallet.consents()`` (what ``copyme wallet list`` calls) at 10,000 and 100,000 consents, next
   to 100 consents, plus the real ``copyme wallet list --json`` process once at each size.  The
   wallet is a real one (one consent accepted through the library); the rest are copies of
   that consent's row with new ids, spread over status lists as the wallet fills them.
3. A registry process (``copyme registry serve``) holding 100,000 lists (real signed tokens
   written straight into its SQLite file): ``GET /v1/lists/<random id>`` p50/p99 at 8 clients,
   next to ``GET /health`` of the same process and to a registry holding 10x fewer lists.
4. Past one process (``bench/_scaleout.py``, on a throwaway PostgreSQL cluster): verifier
   throughput with 1, 2 and 4 workers on PostgreSQL next to 1 worker on SQLite; the change
   feed fanned out to 1,000 SSE subscribers over two registry workers (PUT to delivery p50/p99);
   storage bytes per consent at each party and the projection for 10 million users x 10 consents.
   ``--no-postgres`` skips this part; ``--postgres-only`` runs only it (``scale-postgres.json``).

Writes ``bench/results/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import ROOT, Service, best_time, table, write_result
from gate import load

from protocol import StatusList, StatusListToken, cbor, cid_of
from protocol.cose import sign1
from protocol.enums import Claim, Typ
from tests.support import samples
from tests.support.samples import KEYS

SIZES = (16_384, 131_072, 1_048_576)
PASSPHRASE = "bench passphrase"


# ---------------------------------------------------------------- status lists


def status_lists(repeat: int) -> list[dict[str, Any]]:
    rows = []
    rng = random.Random(8)
    uri = "https://registry.example/v1/lists/bench-scale-0000000"
    for size in SIZES:
        lst = StatusList(size)
        for index in rng.sample(range(size), size // 100):
            lst.set(index, 1)
        token = StatusListToken.create(uri=uri, status_list=lst, signer=KEYS.status.did, ttl=300, now=samples.NOW)
        signed = token.sign(KEYS.status)
        probe = rng.randrange(size)
        sign_s = best_time(lambda token=token: token.sign(KEYS.status), repeat)
        decode_s = best_time(lambda signed=signed, probe=probe: StatusListToken.decode(signed).status_list.get(probe), repeat)
        rows.append({"entries": size, "token_bytes": len(signed), "raw_bytes": size // 4,
                     "sign_ms": round(sign_s * 1000, 2), "decode_lookup_ms": round(decode_s * 1000, 2)})
    base = rows[0]
    for row in rows:
        row["decode_vs_16k"] = round(row["decode_lookup_ms"] / base["decode_lookup_ms"], 1)
    return rows


# ---------------------------------------------------------------- wallet


def build_wallet(home: Path, registry_url: str, n: int) -> None:
    """A wallet at ``home`` with ``n`` consents: one accepted for real, the rest copied from it."""
    from wallet import Wallet

    w = Wallet.init(home, PASSPHRASE, registry=registry_url, kdf="min")
    now = int(time.time())
    request = samples.request(KEYS, now, request_id=secrets.token_bytes(16)).sign(KEYS.requester)
    view = w.accept(w.review_bytes(request, source="bench"), deliver=False)
    w.close()
    conn = sqlite3.connect(str(home / "wallet.db")) if (home / "wallet.db").exists() else None
    if conn is None:
        conn = sqlite3.connect(str(next(home.glob("*.db"))))
    conn.row_factory = sqlite3.Row
    consent = dict(conn.execute("SELECT * FROM consents WHERE id = ?", (view.id,)).fetchone())
    lst = dict(conn.execute("SELECT * FROM lists WHERE id = ?", (consent["list_id"],)).fetchone())
    event = dict(conn.execute("SELECT * FROM events WHERE consent_id = ?", (view.id,)).fetchone())
    per_list = int(lst["size"] * 0.75)
    list_ids = [lst["id"]] + [secrets.token_hex(16) for _ in range(math.ceil(n / per_list) - 1)]
    with conn:
        for list_id in list_ids[1:]:
            row = {**lst, "id": list_id}
            conn.execute(f"INSERT INTO lists ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
        consents, events = [], []
        rng = random.Random(n)
        for i in range(n - 1):
            list_id = list_ids[(i + 1) // per_list]
            cid = "bafirei" + secrets.token_hex(26)
            idx = (i + 1) % per_list
            if list_id == consent["list_id"] and idx == consent["idx"]:
                idx = per_list  # the real consent's random index; above the fill limit nothing else is there
            consents.append({**consent, "id": cid, "list_id": list_id, "idx": idx,
                             "issued_at": consent["issued_at"] - rng.randrange(86400 * 90),
                             "state": rng.choice(("active", "active", "active", "suspended", "revoked"))})
            events.append({**{k: v for k, v in event.items() if k != "seq"}, "consent_id": cid, "list_id": list_id})
        cols = list(consents[0]) if consents else []
        if consents:
            conn.executemany(f"INSERT INTO consents ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                             [list(c.values()) for c in consents])
            ecols = list(events[0])
            conn.executemany(f"INSERT INTO events ({', '.join(ecols)}) VALUES ({', '.join('?' * len(ecols))})",
                             [list(e.values()) for e in events])
    conn.close()


def wallet_list(tmp: Path, registry_url: str, counts: list[int], repeat: int) -> list[dict[str, Any]]:
    from wallet import Wallet

    rows = []
    for n in [100, *counts]:
        home = tmp / f"wallet-{n}"
        build_wallet(home, registry_url, n)
        w = Wallet.open(home)
        assert len(w.consents()) == n
        lib_s = best_time(w.consents, repeat)
        w.close()
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "copyme", "wallet", "list", "--json", "--home", str(home)],
                             check=True, capture_output=True, cwd=ROOT)
        cli_s = time.perf_counter() - start
        assert len(json.loads(out.stdout)) == n
        rows.append({"consents": n, "library_ms": round(lib_s * 1000, 1), "us_per_consent": round(lib_s * 1e6 / n, 1),
                     "cli_json_s": round(cli_s, 2)})
    return rows


# ---------------------------------------------------------------- registry


def build_registry(home: Path, n: int) -> list[str]:
    """A registry home with ``n`` lists (real signed tokens, one event each); returns the list ids."""
    from registry.service import Registry

    Registry.open(home, council_key=KEYS.council).close()
    lst = StatusList().compress()
    now = int(time.time())
    ids, rows, events = [], [], []
    base = "http://127.0.0.1/v1/lists/"
    for seq in range(1, n + 1):
        list_id = secrets.token_hex(16)
        claims = {Claim.SUB: base + list_id, Claim.IAT: now, Claim.STATUS_LIST: {"bits": 2, "lst": lst},
                  Claim.EXP: now + 86400, Claim.TTL: 300}
        token = sign1(cbor.encode(claims), KEYS.status, Typ.STATUS_LIST)
        etag = cid_of(token)
        ids.append(list_id)
        rows.append((list_id, KEYS.status.did, 16384, now, now + 86400, 300, etag, base + list_id, token, seq, now, now))
        events.append((seq, list_id, now, etag, base + list_id, now))
    conn = sqlite3.connect(str(home / "registry.db"))
    with conn:
        conn.executemany("INSERT INTO lists (list_id, kid, size, iat, exp, ttl, etag, uri, token, seq, created, updated)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        conn.executemany("INSERT INTO events (seq, list_id, iat, etag, uri, at) VALUES (?,?,?,?,?,?)", events)
    conn.close()
    return ids


def registry_gets(tmp: Path, counts: list[int], seconds: float, clients: int = 8) -> list[dict[str, Any]]:
    rows = []
    for n in counts:
        home = tmp / f"registry-{n}"
        start = time.perf_counter()
        ids = build_registry(home, n)
        built = time.perf_counter() - start
        with Service.cli("registry", "serve", "--home", str(home), "--log-level", "warning") as svc:
            rng = random.Random(n)
            paths = [f"/v1/lists/{rng.choice(ids)}" for _ in range(50_000)]
            gets = load(svc.url + "/v1/lists/x", clients, seconds, None, tmp, paths=paths)
            assert set(gets["statuses"]) == {"200"}, gets["statuses"]
            health = load(svc.url + "/health", clients, seconds, None, tmp)
            rss = svc.rss_mb()
        rows.append({"lists": n, "get_rps": gets["rps"], "get_p50_ms": gets["p50_ms"], "get_p99_ms": gets["p99_ms"],
                     "health_rps": health["rps"], "health_p99_ms": health["p99_ms"],
                     "ratio": round(gets["rps"] / health["rps"], 3), "rss_mb": rss[0], "peak_rss_mb": rss[1],
                     "db_mb": round((home / "registry.db").stat().st_size / 2**20, 1), "build_s": round(built, 1)})
    return rows


def scale_out(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Part 4: PostgreSQL, many workers, the feed's fan-out and storage (see ``bench/_scaleout.py``)."""
    import _scaleout

    from tests.support import postgres

    out: dict[str, Any] = {}
    cluster = postgres.start()
    try:
        workers = [int(w) for w in args.workers.split(",") if w]
        out["verifier_workers"] = rows = _scaleout.verifier_workers(tmp, cluster, workers, args.seconds * 2,
                                                                    args.clients)
        table(rows, title=f"Verifier POST /v1/data, {args.clients} clients: workers on PostgreSQL vs SQLite")
        out["feed_fanout"] = row = _scaleout.fanout(tmp, cluster, args.subscribers, args.puts)
        table([row], title="Change feed: PUT to delivery at every SSE subscriber, two registry workers")
        out["storage"] = rows = _scaleout.storage(tmp, cluster, args.storage_n)
        table(rows, title="Storage per item (through each party's library)")
        out["projection"] = rows = _scaleout.projection(out["storage"])
        table(rows, title="Projected for 10,000,000 users x 10 consents (PostgreSQL)")
    finally:
        cluster.destroy()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lists", type=int, default=100_000, help="lists in the big registry (10x fewer as baseline)")
    parser.add_argument("--consents", default="10000,100000", help="wallet sizes")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per registry load run")
    parser.add_argument("--workers", default="1,2,4", help="verifier worker counts on PostgreSQL")
    parser.add_argument("--clients", type=int, default=16, help="load clients for the verifier runs")
    parser.add_argument("--subscribers", type=int, default=1000, help="SSE subscribers in the fan-out run")
    parser.add_argument("--puts", type=int, default=20, help="PUTs in the fan-out run")
    parser.add_argument("--storage-n", type=int, default=1000, help="items written per party for the storage figures")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL measurements")
    parser.add_argument("--postgres-only", action="store_true", help="only the PostgreSQL measurements (part 4)")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    args = parser.parse_args()
    repeat = 5
    if args.quick:
        args.lists, args.consents, args.seconds, repeat = 200, "", 0.3, 1
        args.workers, args.subscribers, args.puts, args.storage_n = "2", 20, 3, 20
    consents = [int(c) for c in args.consents.split(",") if c]

    result: dict[str, Any] = {}
    if args.postgres_only:
        with tempfile.TemporaryDirectory() as folder:
            result.update(scale_out(Path(folder), args))
        write_result("scale-postgres", result)
        return
    result["status_lists"] = rows = status_lists(repeat)
    table(rows, title="Status lists, 1% revoked (best of runs)")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        with Service.cli("registry", "serve", "--home", str(tmp / "wallet-registry"), "--log-level", "warning") as reg:
            result["wallet_list"] = rows = wallet_list(tmp, reg.url, consents, max(1, repeat // 2))
        table(rows, title="Wallet list (Wallet.consents) and `copyme wallet list --json`")
        sizes = [args.lists] if args.quick else [args.lists // 10, args.lists]
        result["registry"] = rows = registry_gets(tmp, sizes, args.seconds)
        table(rows, ["lists", "get_rps", "get_p50_ms", "get_p99_ms", "health_rps", "health_p99_ms", "ratio",
                     "rss_mb", "db_mb"], title="Registry GET /v1/lists/<random id>, 8 clients")
        if not args.no_postgres:
            result.update(scale_out(tmp, args))
    write_result("scale-quick" if args.quick else "scale", result)


if __name__ == "__main__":
    main()
