"""Verifier benchmark: the library next to two raw Ed25519 verifies, and the HTTP service under load.

    python bench/verifier.py [--seconds 1.0] [--rounds 3] [--http-requests 600]

1. ``verify_presentation`` per second with a warm status cache (file-backed SQLite replay cache,
   every presentation new), interleaved with the floor: two raw pynacl verifies (presentation +
   credential signature over the same Sig_structures), in the same process.  Measured twice:
   with the credential cache off (every credential verified: the like-for-like comparison with
   the floor) and on (the same credential presented again, the common case in production).
2. ``POST /v1/data`` against ``copyme verifier serve`` (a real process, with a real
   ``copyme registry serve`` process behind it) at 1, 8 and 64 concurrent clients: requests/s,
   p50 and p99 latency, next to ``GET /health`` on the same server as the trivial baseline.

Prints a table and writes ``bench/results/verifier.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import nacl.signing  # noqa: E402
from _harness import write_result  # noqa: E402

from common.registry_client import FetchResult, RegistryClient  # noqa: E402
from protocol import (  # noqa: E402
    ConsentCredential,
    LinkProof,
    Presentation,
    StatusList,
    StatusListToken,
    StatusRef,
    cbor,
)
from tests.support import samples  # noqa: E402
from tests.support.samples import KEYS  # noqa: E402
from tests.support.servers import free_port, wait_until_up  # noqa: E402
from verifier.holder import Holder  # noqa: E402
from verifier.sources import demo_source  # noqa: E402
from verifier.store import open_database  # noqa: E402

LIST_ID = "bench-list-0000000000"


class _WarmRegistry:
    """Serves one token once (the warm-up); a fetch in the timed loop would be a bench bug."""

    base_url = "https://registry.example"  # the trusted registry every sample status URI is on

    def __init__(self, token: bytes) -> None:
        self.token = token
        self.fetches = 0

    def fetch(self, uri: str, etag: str | None = None, version: str | None = None) -> FetchResult:
        self.fetches += 1
        return FetchResult(self.token, "etag", 3600)

    def events(self, last_event_id: str | None = None, list_id: str | None = None) -> Any:
        return iter(())


def _presentations(credential: bytes, n: int, now: int) -> list[bytes]:
    return [Presentation(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=credential,
                         items=("transactions",), purpose="dpv:ServiceProvision", issued_at=now,
                         presentation_id=secrets.token_bytes(16)).sign(KEYS.requester) for _ in range(n)]


def _sig_inputs(data: bytes) -> tuple[bytes, bytes, bytes]:
    """(public key, Sig_structure, signature) of a COSE_Sign1, for the raw floor."""
    from protocol.cose import sig_structure

    protected, _, payload, signature = cbor.decode(data, tags=(18,), max_size=1 << 20).value
    return cbor.decode(protected)[4], sig_structure(protected, payload), signature  # kid: the raw public key


def _holder(tmp: Path, name: str, token: bytes, now: int, cache: int) -> tuple[Holder, _WarmRegistry]:
    registry = _WarmRegistry(token)
    holder = Holder(KEYS.holder, open_database(tmp / f"{name}.db"), registry, clock_fn=lambda: now,
                    credential_cache=cache, source=demo_source())
    code = holder.new_link_code("C-1001", now=now)
    holder.link(LinkProof(user=KEYS.user.did, holder=KEYS.holder.did, code=code, issued_at=now).sign(KEYS.user))
    return holder, registry


def bench_library(seconds: float, rounds: int, tmp: Path) -> dict[str, Any]:
    now = samples.NOW
    uri = "https://registry.example/v1/lists/" + LIST_ID
    token = StatusListToken.create(uri=uri, status_list=StatusList(), signer=KEYS.status.did, ttl=3600,
                                   lifetime=86400, now=now).sign(KEYS.status)
    cached, cached_registry = _holder(tmp, "cached", token, now, 4096)
    full, full_registry = _holder(tmp, "full", token, now, 0)
    credential = ConsentCredential.grant(samples.signed_request(KEYS, now), user=KEYS.user.did,
                                         items=("transactions", "balance"), status=StatusRef(uri, 1234, KEYS.status.did),
                                         now=now).sign(KEYS.user)
    for holder in (cached, full):  # warm the status cache (the one fetch each)
        holder.verify(_presentations(credential, 1, now)[0])

    inputs = [_sig_inputs(_presentations(credential, 1, now)[0]), _sig_inputs(credential)]
    keys = [(nacl.signing.VerifyKey(pk), msg, sig) for pk, msg, sig in inputs]

    def floor_once() -> None:
        for key, msg, sig in keys:
            key.verify(msg, sig)

    def timed(holder: Holder) -> float:
        batch = _presentations(credential, max(200, int(seconds * 4000)), now)
        start = time.perf_counter()
        for data in batch:
            holder.verify(data)
        return len(batch) / (time.perf_counter() - start)

    rates: dict[str, list[float]] = {"full": [], "cached": [], "floor": []}
    for _ in range(rounds):
        rates["full"].append(timed(full))
        rates["cached"].append(timed(cached))
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(100):
                floor_once()
            n += 100
        rates["floor"].append(n / (time.perf_counter() - start))
    assert cached_registry.fetches == 1 and full_registry.fetches == 1, "the status cache was not warm"
    best = {name: max(values) for name, values in rates.items()}
    cached.close()
    full.close()
    return {
        "verify_full_per_s": round(best["full"]), "us_full": round(1e6 / best["full"], 1),
        "verify_cached_credential_per_s": round(best["cached"]), "us_cached": round(1e6 / best["cached"], 1),
        "floor_two_verifies_per_s": round(best["floor"]), "us_floor": round(1e6 / best["floor"], 1),
        "ratio_full": round(best["full"] / best["floor"], 3),
        "ratio_cached": round(best["cached"] / best["floor"], 3),
    }


def _run(*args: str, **kw: Any) -> str:
    return subprocess.run([sys.executable, "-m", "copyme", *args], check=True, capture_output=True,
                          text=True, **kw).stdout.strip()


async def _load(url: str, bodies: list[bytes] | None, requests: int, clients: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(bodies[i] if bodies is not None else None)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                start = time.perf_counter()
                if body is None:
                    response = await client.get(url)
                else:
                    response = await client.post(url, content=body)
                latencies.append(time.perf_counter() - start)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {"rps": round(requests / elapsed, 1), "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
            "statuses": {str(k): v for k, v in statuses.items()}}


def bench_http(requests: int, tmp: Path) -> dict[str, Any]:
    reg_port, ver_port = free_port(), free_port()
    reg_url, ver_url = f"http://127.0.0.1:{reg_port}", f"http://127.0.0.1:{ver_port}"
    home = tmp / "bank"
    procs = [
        subprocess.Popen([sys.executable, "-m", "copyme", "registry", "serve", "--host", "127.0.0.1", "--port",
                          str(reg_port), "--home", str(tmp / "registry"), "--log-level", "warning"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "copyme", "verifier", "serve", "--host", "127.0.0.1", "--port",
                          str(ver_port), "--home", str(home), "--registry", reg_url, "--demo"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        wait_until_up(reg_url + "/health", proc=procs[0])
        wait_until_up(ver_url + "/health", proc=procs[1])
        holder_did = httpx.get(ver_url + "/v1/holder").json()["did"]
        now = int(time.time())
        uri = f"{reg_url}/v1/lists/{LIST_ID}"
        token = StatusListToken.create(uri=uri, status_list=StatusList(), signer=KEYS.status.did, ttl=3600,
                                       now=now).sign(KEYS.status)
        RegistryClient(reg_url).publish(LIST_ID, token)
        code = _run("verifier", "link-code", "C-1001", "--home", str(home))
        proof = LinkProof(user=KEYS.user.did, holder=holder_did, code=code, issued_at=now).sign(KEYS.user)
        assert httpx.post(ver_url + "/v1/links", content=proof).status_code == 200
        request = samples.signed_request(KEYS, now, holder=holder_did)
        credential = ConsentCredential.grant(request, user=KEYS.user.did, items=("transactions", "balance"),
                                             status=StatusRef(uri, 1234, KEYS.status.did), now=now).sign(KEYS.user)

        def bodies(n: int) -> list[bytes]:
            issued = int(time.time())
            return [Presentation(presenter=KEYS.requester.did, audience=holder_did, credential=credential,
                                 items=("transactions",), purpose="dpv:ServiceProvision", issued_at=issued,
                                 presentation_id=secrets.token_bytes(16)).sign(KEYS.requester) for _ in range(n)]

        warm = asyncio.run(_load(ver_url + "/v1/data", bodies(20), 20, 1))
        assert warm["statuses"] == {"200": 20}, warm
        out: dict[str, Any] = {}
        for clients in (1, 8, 64):
            n = requests if clients == 1 else requests * 2
            data = asyncio.run(_load(ver_url + "/v1/data", bodies(n), n, clients))
            assert data["statuses"] == {"200": n}, data
            trivial = asyncio.run(_load(ver_url + "/health", None, n, clients))
            out[str(clients)] = {"data": data, "health": trivial,
                                 "ratio": round(data["rps"] / trivial["rps"], 3)}
        chain = _run("verifier", "records", "--home", str(home), "--verify-chain")
        out["records_chain"] = chain
        return out
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per library measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is kept")
    parser.add_argument("--http-requests", type=int, default=600, help="requests at 1 client (x2 at 8 and 64)")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.http_requests = 0.05, 1, 40
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        lib = bench_library(args.seconds, args.rounds, tmp)
        http = {} if args.skip_http else bench_http(args.http_requests, tmp)
    print("\nverify_presentation, warm status cache, SQLite replay cache (best of rounds)")
    print(f"{'':44}{'ops/s':>9}{'µs/op':>9}{'x floor':>9}")
    print(f"{'every credential verified (2 signatures)':44}{lib['verify_full_per_s']:>9}{lib['us_full']:>9}"
          f"{lib['ratio_full']:>9}")
    print(f"{'same credential again (credential cache)':44}{lib['verify_cached_credential_per_s']:>9}"
          f"{lib['us_cached']:>9}{lib['ratio_cached']:>9}")
    print(f"{'floor: 2 raw pynacl verifies':44}{lib['floor_two_verifies_per_s']:>9}{lib['us_floor']:>9}{1.0:>9}")
    if http:
        print("\nPOST /v1/data vs GET /health (separate server process, real registry)")
        print(f"{'clients':>8}{'data req/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'health req/s':>14}{'p50 ms':>9}"
              f"{'p99 ms':>9}{'ratio':>8}")
        for clients in ("1", "8", "64"):
            d, h = http[clients]["data"], http[clients]["health"]
            print(f"{clients:>8}{d['rps']:>12}{d['p50_ms']:>9}{d['p99_ms']:>9}{h['rps']:>14}{h['p50_ms']:>9}"
                  f"{h['p99_ms']:>9}{http[clients]['ratio']:>8}")
        print(f"\nrecords after the run: {http['records_chain']}")
    write_result("verifier-quick" if args.quick else "verifier", {"library": lib, "http": http})


if __name__ == "__main__":
    main()
