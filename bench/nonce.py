"""Holder nonces: does issuing one cost the same however many are outstanding?

    python bench/nonce.py [--seconds 2] [--rounds 2] [--outstanding 0,10000,100000] [--quick]

Each issued nonce is remembered for 120 s; a data user that asks for nonces it never uses
leaves them piling up.  For each count of outstanding (unexpired, unused) nonces:

1. ``NonceStore.issue`` per second in this process, on a file-backed SQLite database that
   already holds that many nonces;
2. ``GET /v1/nonce`` per second against ``copyme verifier serve`` (a real process on loopback,
   the same pre-filled database), one client, from the load generator in its own process.

Rates are the best of ``--rounds``; the ratio is against no outstanding nonces (aim: flat).
Writes ``bench/results/nonce.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import ROOT, Service, best_rates, table, write_result

from verifier.replay import NonceStore
from verifier.store import open_database


def prefill(path: Path, count: int) -> None:
    """A verifier database holding ``count`` outstanding nonces (valid for an hour)."""
    db = open_database(path)
    NonceStore(db)
    until = int(time.time()) + 3600
    with db.lock, db.transaction() as conn:
        conn.executemany("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)",
                         ((i.to_bytes(16, "big"), until) for i in range(count)))
    db.conn.close()


def http_rate(url: str, seconds: float) -> float:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "_load.py"), url, "--clients", "1",
                          "--seconds", str(seconds)], check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    if set(result["statuses"]) != {"200"}:
        raise SystemExit(f"/v1/nonce answered {result['statuses']}")
    return float(result["requests"]) / float(result["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--outstanding", default="0,10000,100000")
    parser.add_argument("--quick", action="store_true", help="a tiny run that only proves the script works")
    args = parser.parse_args()
    counts = [int(c) for c in args.outstanding.split(",")]
    if args.quick:
        args.seconds, args.rounds, counts = 0.2, 1, [0, 1000]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            home = Path(tmp) / f"bank-{count}"
            home.mkdir()
            prefill(home / "verifier.db", count)
            db = open_database(home / "library.db")
            prefill(home / "library.db", count)
            store = NonceStore(db)
            library = best_rates({"issue": store.issue}, seconds=args.seconds, rounds=args.rounds)["issue"]
            db.conn.close()
            with Service.cli("verifier", "serve", "--home", str(home), "--registry", "http://127.0.0.1:9",
                             "--demo") as bank:
                served = max(http_rate(bank.url + "/v1/nonce", args.seconds) for _ in range(args.rounds))
            rows.append({"outstanding": count, "library issue/s": round(library), "GET /v1/nonce req/s": round(served)})
    for row in rows:
        row["library ratio"] = round(row["library issue/s"] / rows[0]["library issue/s"], 2)
        row["HTTP ratio"] = round(row["GET /v1/nonce req/s"] / rows[0]["GET /v1/nonce req/s"], 2)
    print(table(rows, title="nonces: issue rate against outstanding nonces (aim: ratio ~1.0)"))
    write_result("nonce-quick" if args.quick else "nonce",
                 {"seconds": args.seconds, "rounds": args.rounds, "rows": rows})


if __name__ == "__main__":
    main()
