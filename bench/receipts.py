"""Usage receipts signed when a wallet pulls them: how long can a release wait for the database meanwhile?

    python bench/receipts.py [--receipts 500] [--rounds 3] [--quick]

A holder signs a customer's usage receipts when the customer's wallet first asks for them
(``POST /v1/receipts``, on a worker thread): about 0.1 ms of CPU per receipt, 100 to a page.
Every release commits through the same database lock (on the event loop, see
``verifier/commits.py``), so whatever the signer does while holding that lock, every release
waits for.  This script pulls ``--receipts`` unsigned receipts of one customer, page by page,
on a thread, as the service does, while the main thread takes and releases the lock every
0.2 ms as the group commit does; it reports the longest and the 99th-percentile wait against
the same loop with nothing else running (the baseline, measured in the same run: a wait there
is the interpreter's own thread switching).

Real parts: a file-backed SQLite holder database, real Ed25519 signatures.  The best round of
``--rounds`` is kept.  Writes ``bench/results/receipts.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _harness import percentile, table, write_result

from protocol import KeyPair
from verifier.holder import Holder
from verifier.receipts import Attempt
from verifier.store import open_database

_NOW = 1_795_000_000
_TICK = 0.0002
#: Longest a round may run, whatever happens (a bound, not a figure).
_DEADLINE = 120.0


def _holder(folder: Path, receipts: int) -> Holder:
    """A holder whose one customer has ``receipts`` usage receipts, none signed yet."""
    holder = Holder(KeyPair.from_seed(b"\x05" * 32), open_database(folder / "verifier.db"), None,
                    clock_fn=lambda: _NOW)
    attempt = Attempt("C-1", KeyPair.from_seed(b"\x06" * 32).did, b"\x01\x51\x12\x20" + bytes(32),
                      KeyPair.from_seed(b"\x07" * 32).did, ("balance", "transactions"), "dpv:ServiceProvision")
    with holder.db.lock, holder.db.transaction():
        for i in range(receipts):
            holder.receipts.append(attempt, "released", None, _NOW + i)
    return holder


def _waits(holder: Holder, busy: threading.Event) -> list[float]:
    """Take and release the database lock every tick while ``busy`` is set; each wait in seconds."""
    waits: list[float] = []
    deadline = time.monotonic() + _DEADLINE
    while busy.is_set() and time.monotonic() < deadline:
        start = time.perf_counter()
        with holder.db.lock:
            pass
        waits.append(time.perf_counter() - start)
        time.sleep(_TICK)
    return waits


def one_round(folder: Path, receipts: int) -> dict[str, Any]:
    holder = _holder(folder, receipts)
    try:
        busy = threading.Event()
        busy.set()
        idle = threading.Timer(0.3, busy.clear)  # the baseline: nothing else running
        idle.start()
        baseline = _waits(holder, busy)
        busy.set()
        spent: list[float] = []

        def pull() -> None:  # as a wallet pulls: page after page until nothing more
            start = time.thread_time()
            after, more = 0, True
            while more:
                page = holder.receipts.of_customer("C-1", after=after)
                after, more = after + len(page.receipts), page.more
            spent.append(time.thread_time() - start)
            busy.clear()

        puller = threading.Thread(target=pull)
        puller.start()
        pulling = _waits(holder, busy)
        puller.join(_DEADLINE)
        if not spent:
            raise SystemExit("the pull did not finish")
        return {"baseline_max_ms": max(baseline) * 1e3, "baseline_p99_ms": percentile(baseline, 99) * 1e3,
                "max_ms": max(pulling) * 1e3, "p99_ms": percentile(pulling, 99) * 1e3,
                "sign_us": spent[0] * 1e6 / receipts}
    finally:
        holder.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tiny run that only proves the script works")
    args = parser.parse_args()
    if args.quick:
        args.receipts, args.rounds = 120, 1
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            folder = Path(tmp) / f"round-{n}"
            folder.mkdir()
            runs.append(one_round(folder, args.receipts))
    best = min(runs, key=lambda r: r["max_ms"])
    rows = [{"while": "nothing else runs (baseline)", "longest wait ms": round(best["baseline_max_ms"], 2),
             "p99 wait ms": round(best["baseline_p99_ms"], 2)},
            {"while": f"a pull signs {args.receipts} receipts", "longest wait ms": round(best["max_ms"], 2),
             "p99 wait ms": round(best["p99_ms"], 2)}]
    print(table(rows, title=f"the holder's database lock, taken every {_TICK * 1e3:.1f} ms (best of {args.rounds})"))
    print(f"signing: {best['sign_us']:.0f} µs of CPU per receipt; longest wait "
          f"{best['max_ms'] / max(best['baseline_max_ms'], 1e-6):.1f}x the baseline's")
    write_result("receipts-quick" if args.quick else "receipts",
                 {"receipts": args.receipts, "rounds": args.rounds, "runs": runs, "rows": rows})


if __name__ == "__main__":
    main()
