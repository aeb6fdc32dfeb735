"""Memory: peak RSS of the verifier under load, the registry with many lists, the wallet listing.

    python bench/memory.py [--lists 100000] [--consents 100000] [--quick]

Each figure is the peak resident set (``VmHWM`` / ``ru_maxrss``) of a real process, next to the
same process at 10x less (6 instead of 64 clients; 10,000 instead of 100,000 lists or consents),
so the table shows what grows with load or data and what is the fixed cost of Python + FastAPI.

- verifier: ``copyme verifier serve`` after 6 clients, then after 64 clients of ``POST /v1/data``
  (``bench/gate.py`` set-up and load generator);
- registry: ``copyme registry serve`` holding N lists after serving random ``GET``s at 8 clients
  (``bench/scale.py`` builder);
- wallet: ``copyme wallet list --json`` on a wallet of N consents (``bench/scale.py`` builder).

Aim (issue 8): each under 200 MB.  Writes ``bench/results/memory.json``.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from _harness import ROOT, Service, table, write_result
from _world import presentations, setup_gate
from gate import load
from scale import build_wallet, registry_gets


def verifier_rss(tmp: Path, clients: list[int], seconds: float) -> list[dict[str, Any]]:
    rows = []
    world, creds = setup_gate(tmp)
    try:
        assert world.verifier is not None
        url = world.verifier.url
        assert httpx.post(url + "/v1/data", content=presentations(creds, 1)[0]).status_code == 200
        idle = world.verifier.rss_mb()
        rows.append({"process": "verifier", "scale": "idle, warm", "rss_mb": idle[0], "peak_rss_mb": idle[1]})
        for n in clients:
            out = load(url + "/v1/data", n, seconds, presentations(creds, int(seconds * 2500) + 100), tmp)
            assert set(out["statuses"]) == {"200"}, out["statuses"]
            rss = world.verifier.rss_mb()
            rows.append({"process": "verifier", "scale": f"{n} clients ({out['n']:,} requests)", "rss_mb": rss[0],
                         "peak_rss_mb": rss[1]})
    finally:
        world.stop()
    return rows


def wallet_rss(tmp: Path, registry_url: str, counts: list[int]) -> list[dict[str, Any]]:
    rows = []
    for n in counts:
        home = tmp / f"wallet-{n}"
        build_wallet(home, registry_url, n)
        # A fresh parent per measurement: RUSAGE_CHILDREN's peak covers every child it waited for.
        code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL);"
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "copyme", "wallet", "list", "--json",
                              "--home", str(home)], check=True, capture_output=True, text=True, cwd=ROOT)
        peak = round(int(out.stdout.strip()) / 1024, 1)
        rows.append({"process": "wallet list --json", "scale": f"{n:,} consents", "rss_mb": None, "peak_rss_mb": peak})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lists", type=int, default=100_000)
    parser.add_argument("--consents", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of load per step")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    args = parser.parse_args()
    clients = [6, 64]
    if args.quick:
        args.lists, args.consents, args.seconds, clients = 200, 200, 0.3, [4]
    fewer = 1 if args.quick else 10

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        rows += verifier_rss(tmp / "gate", clients, args.seconds)
        for r in registry_gets(tmp, sorted({args.lists // fewer, args.lists}), min(args.seconds, 2.0)):
            rows.append({"process": "registry", "scale": f"{r['lists']:,} lists (db {r['db_mb']} MB)",
                         "rss_mb": r["rss_mb"], "peak_rss_mb": r["peak_rss_mb"]})
        with Service.cli("registry", "serve", "--home", str(tmp / "wallet-registry"), "--log-level", "warning") as reg:
            rows += wallet_rss(tmp, reg.url, sorted({args.consents // fewer, args.consents}))
    table(rows, ["process", "scale", "rss_mb", "peak_rss_mb"], title="Peak resident memory (MiB)")
    worst = max(r["peak_rss_mb"] for r in rows)
    print(f"largest peak {worst} MiB (aim < 200 MB each); this process peaked at "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    write_result("memory-quick" if args.quick else "memory", {"rows": rows})


if __name__ == "__main__":
    main()
