"""The data gate in machine instructions: ``POST /v1/data`` and ``GET /health`` of one verifier app.

    python bench/gate.py --instructions [--calls 320]

Load does not move an instruction count (valgrind's callgrind), so this is the gate's cost
where timed runs on the shared machine cannot be read.  The app is driven in process through
ASGI, eight requests at a time on one event loop (so group commit batches them as under eight
clients); uvicorn's HTTP parsing, the same for both routes, is left out.  Each count is the
difference of two processes that differ only in how many requests they serve (every
presentation is made in set-up in both), divided by the difference; the one Ed25519 operation
a release cannot avoid (verify the presentation; the credential's verify is cached, and the
usage receipt is signed when the wallet first asks for it) is counted on its own, as the floor.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from _harness import ROOT, callgrind_instructions
from _stages import STAGES

BATCH = 8
WARM = 2 * BATCH


def child(kind: str, calls: int, pool: int) -> None:
    """Run inside callgrind: a registry, a linked holder and its app; then ``calls`` requests of ``kind``."""
    import nacl.signing
    from _world import World, presentations, users

    from common.registry_client import RegistryClient
    from verifier.app import create_app
    from verifier.holder import Holder
    from verifier.sources import DEMO_CUSTOMERS

    if kind == "floor":
        key = nacl.signing.SigningKey(b"\x07" * 32)
        signed = [key.sign(secrets.token_bytes(400)) for _ in range(pool)]
        for message in signed[:calls]:
            key.verify_key.verify(message)
        return
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp))
        world.start_registry()
        try:
            people = users(3)
            world.prepare_holder(people)
            list_id = "bench-gate-" + secrets.token_hex(8)
            world.publish(list_id)
            creds = [world.credential(user, list_id, 100 + i) for i, user in enumerate(people)]
            holder = Holder.open(world.verifier_home, RegistryClient(world.registry.url if world.registry else ""),
                                 customers=DEMO_CUSTOMERS)
            app = create_app(holder, follow_feed=False)
            if kind.startswith("data-"):  # a release cut short after a stage (bench/_stages.py)
                from _stages import cut_short

                cut_short(holder, kind.removeprefix("data-"))
            bodies = iter(presentations(creds, pool + WARM))
            asyncio.run(_serve(app, kind, bodies, calls))
            holder.close()
        finally:
            world.stop()


async def _serve(app: Any, kind: str, bodies: Any, calls: int) -> None:
    async def one() -> None:
        if kind == "health":
            status = await _call(app, "GET", "/health", b"")
        else:
            status = await _call(app, "POST", "/v1/data", next(bodies))  # data, data-<stage>
        assert status == 200, status

    for _ in range(WARM // BATCH + calls // BATCH):
        await asyncio.gather(*(one() for _ in range(BATCH)))


async def _call(app: Any, method: str, path: str, body: bytes) -> int:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-length", str(len(body)).encode()), (b"host", b"127.0.0.1")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}
    await app(scope, receive, send)
    return int(sent[0]["status"])


def count(calls: int, stages: bool = False) -> dict[str, Any] | None:
    """Instructions per request of each kind, and the floor; ``None`` without valgrind.

    ``stages``: also releases cut short after each stage of ``bench/_stages.py`` (``data-lane``,
    ``data-decode``, ``data-decide``), to see where a release's instructions go.
    """
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: the instruction counts are skipped "
              "(Debian: apt-get install valgrind; CI does not run this mode)")
        return None
    calls -= calls % BATCH
    low = BATCH * 8
    per: dict[str, int] = {}
    kinds = (*(f"data-{stage}" for stage in STAGES[:-1] if stages), "data", "health", "floor")
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            totals = [callgrind_instructions([str(ROOT / "bench" / "gate.py"), "--child", kind, "--calls", str(n),
                                              "--pool", str(calls)], Path(folder) / f"{kind}-{n}.out")
                      for n in (low, calls)]
            per[kind] = round((totals[1] - totals[0]) / (calls - low))
    result: dict[str, Any] = {"data_instructions": per["data"], "health_instructions": per["health"],
                              "floor_instructions": per["floor"], "ratio": round(per["health"] / per["data"], 3),
                              "calls": calls}
    print(f"POST /v1/data {per['data']:,} instructions per release, GET /health {per['health']:,} "
          f"(in process, without uvicorn): ratio {result['ratio']:.0%}")
    print(f"the one Ed25519 operation of a release (verify the presentation) alone: {per['floor']:,} "
          f"({per['floor'] / per['data']:.0%} of a release)")
    if stages:
        before = 0
        result["stages"] = {}
        for stage in STAGES:
            total = per["data" if stage == "release" else f"data-{stage}"]
            result["stages"][stage] = total
            print(f"  cut short after {stage:8} {total:>10,} instructions (+{total - before:,})")
            before = total
    return result


if __name__ == "__main__":  # pragma: no cover - gate.py --child calls child()
    sys.exit("run: python bench/gate.py --instructions")
