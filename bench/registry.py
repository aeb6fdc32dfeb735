"""Benchmark the status registry: GET/PUT throughput and latency, and the size of status lists.

Starts ``copyme registry serve`` as a real process on a free loopback port (one uvicorn worker,
SQLite in WAL mode with synchronous=FULL) and drives it with httpx.AsyncClient at 1, 8 and 64
concurrent clients.  ``GET /health`` (no database, no body) is measured in the same run as the
baseline; every other row is also given as a ratio of its requests/s to the baseline's.

Rows:
- ``health``   GET /health (trivial endpoint of the same app: the framework's floor)
- ``get``      GET /v1/lists/{id} of a 16,384-entry list (token bytes from SQLite)
- ``get 304``  the same with a matching If-None-Match
- ``put``      PUT /v1/lists/{id}: verify the signature, check the pinned key and iat, commit with fsync

Also the size of a 2-bit list of 16,384 and 1,048,576 entries with 1% revoked at random indexes,
raw, zlib-compressed (``lst``) and as a signed token.

Run: ``python bench/registry.py [--quick]``; prints a table and writes bench/results/registry.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import write_result  # noqa: E402

from protocol import KeyPair, Status, StatusList, StatusListToken, cid_of  # noqa: E402
from tests.support.servers import free_port, wait_until_up  # noqa: E402

CONCURRENCY = (1, 8, 64)


def make_token(base: str, list_id: str, iat: int, key: KeyPair, size: int = 16384,
               revoked: tuple[int, ...] = ()) -> bytes:
    lst = StatusList(size)
    for index in revoked:
        lst.set(index, Status.REVOKED)
    return StatusListToken.create(uri=f"{base}/v1/lists/{list_id}", status_list=lst, signer=key.did,
                                  ttl=300, lifetime=86400, now=iat).sign(key)


async def run_cell(url: str, concurrency: int, requests: list[tuple[str, str, bytes | None, dict[str, str]]],
                   expect: tuple[int, ...]) -> dict[str, Any]:
    """Send ``requests`` (split round-robin over ``concurrency`` workers); latency in ms."""
    latencies: list[float] = []
    errors = 0
    per_worker = [requests[i::concurrency] for i in range(concurrency)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        for method, path, _body, headers in requests[: min(concurrency, len(requests))]:  # warm connections
            if method == "GET":
                await client.get(path, headers=headers)

        async def worker(jobs: list[tuple[str, str, bytes | None, dict[str, str]]]) -> None:
            nonlocal errors
            for method, path, body, headers in jobs:
                started = time.perf_counter()
                response = await client.request(method, path, content=body, headers=headers)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code not in expect:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(jobs) for jobs in per_worker))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
    }


def http_bench(quick: bool) -> list[dict[str, Any]]:
    home = Path(tempfile.mkdtemp(prefix="copyme-bench-registry-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "copyme", "registry", "serve", "--home", str(home), "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    rows: list[dict[str, Any]] = []
    try:
        wait_until_up(url + "/health", proc=proc)
        key = KeyPair.from_seed(b"\x42" * 32)
        now = int(time.time())
        get_id = "bench-get-list-000001"
        token = make_token(url, get_id, now - 86000, key, revoked=(7, 42))
        assert httpx.put(f"{url}/v1/lists/{get_id}", content=token).status_code == 201
        etag = f'"{cid_of(token)}"'
        n_get = 400 if quick else 2000
        n_put = 150 if quick else 600
        for concurrency in CONCURRENCY:
            gets = {
                "health": [("GET", "/health", None, {})] * n_get,
                "get": [("GET", f"/v1/lists/{get_id}", None, {})] * n_get,
                "get 304": [("GET", f"/v1/lists/{get_id}", None, {"If-None-Match": etag})] * n_get,
            }
            # PUT: one list per worker, iat strictly increasing per list, signed before timing
            puts: list[tuple[str, str, bytes | None, dict[str, str]]] = []
            per_list = -(-n_put // concurrency)
            lists = [f"bench-put-c{concurrency}-w{w:03d}-x" for w in range(concurrency)]
            for i in range(per_list):
                for list_id in lists:
                    body = make_token(url, list_id, now - 80000 + i, key, revoked=(i % 16384,))
                    puts.append(("PUT", f"/v1/lists/{list_id}", body,
                                 {"Content-Type": "application/statuslist+cwt"}))
            puts = puts[:n_put] if concurrency == 1 else puts
            cells = {name: (reqs, (200,)) for name, reqs in gets.items()}
            cells["get 304"] = (gets["get 304"], (304,))
            cells["put"] = (puts, (200, 201))
            for name, (reqs, expect) in cells.items():
                result = asyncio.run(run_cell(url, concurrency, reqs, expect))
                rows.append({"endpoint": name, "concurrency": concurrency, **result})
        baseline = {r["concurrency"]: r["rps"] for r in rows if r["endpoint"] == "health"}
        for row in rows:
            row["vs_health"] = round(row["rps"] / baseline[row["concurrency"]], 3)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return rows


def size_bench() -> list[dict[str, Any]]:
    rows = []
    key = KeyPair.from_seed(b"\x43" * 32)
    for size in (16_384, 1_048_576):
        rng = random.Random(size)
        revoked = tuple(rng.sample(range(size), size // 100))
        lst = StatusList(size)
        for index in revoked:
            lst.set(index, Status.REVOKED)
        token = StatusListToken.create(uri="https://registry.example/v1/lists/bench-size-list-0001",
                                       status_list=lst, signer=key.did, now=int(time.time())).sign(key)
        rows.append({
            "entries": size, "revoked": len(revoked), "raw_bytes": len(lst.to_bytes()),
            "lst_bytes": len(lst.compress()), "token_bytes": len(token),
            "ratio": round(len(lst.compress()) / len(lst.to_bytes()), 4),
            "bits_per_revoked": round(len(lst.compress()) * 8 / len(revoked), 1),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests per cell (smoke run)")
    args = parser.parse_args()
    started = time.time()
    http = http_bench(args.quick)
    sizes = size_bench()
    print(f"{'endpoint':<9} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs health':>9} {'errors':>6}")
    for r in http:
        print(f"{r['endpoint']:<9} {r['concurrency']:>7} {r['rps']:>8.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
              f"{r['vs_health']:>9.3f} {r['errors']:>6}")
    print()
    print(f"{'entries':>9} {'revoked':>8} {'raw B':>8} {'lst B':>8} {'token B':>8} {'lst/raw':>8} {'bits/revoked':>12}")
    for s in sizes:
        print(f"{s['entries']:>9} {s['revoked']:>8} {s['raw_bytes']:>8} {s['lst_bytes']:>8} {s['token_bytes']:>8} "
              f"{s['ratio']:>8.4f} {s['bits_per_revoked']:>12}")
    write_result("registry-quick" if args.quick else "registry", {
        "server": "copyme registry serve (1 uvicorn worker, SQLite WAL, synchronous=FULL)",
        "client": "httpx.AsyncClient in one process on the same machine",
        "http": http, "sizes": sizes, "seconds": round(time.time() - started, 1),
    })


if __name__ == "__main__":
    main()
