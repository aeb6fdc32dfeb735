"""Protocol benchmark: sign and verify+decode per wire object, next to raw pynacl in the same run.

    python bench/wire.py [--seconds 0.3] [--rounds 5]

The floor is pynacl's own Ed25519 verify (and sign) of a message of the same size, measured in
the same process and interleaved with the object measurements, so the ratio says how much of
the time is the signature itself and how much is CBOR, COSE and validation.  Prints a table and
writes ``bench/results/wire.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nacl.signing  # noqa: E402

from tests.support import samples  # noqa: E402
from tests.support.samples import KEYS  # noqa: E402


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Operations per CPU-second of ``fn`` over about ``seconds`` of this thread's CPU time.

    CPU time rather than wall time, so that other processes on a shared 2-core machine do not
    move the figures; both the floor and the objects are single-threaded, so the ratio is fair.
    """
    n, start = 0, time.thread_time()
    deadline = start + seconds
    while True:
        for _ in range(50):
            fn()
        n += 50
        now = time.thread_time()
        if now >= deadline:
            return n / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best is kept")
    args = parser.parse_args()

    objects = {
        "ConsentRequest": (samples.request(), KEYS.requester),
        "ConsentCredential": (samples.credential(), KEYS.user),
        "Presentation": (samples.presentation(), KEYS.requester),
        "StatusListToken (16,384)": (samples.status_list_token(), KEYS.status),
        "TrustList (2 orgs)": (samples.trust_list(), KEYS.council),
        "LinkProof": (samples.link_proof(), KEYS.user),
    }
    signed = {name: obj.sign(key) for name, (obj, key) in objects.items()}
    raw_key = nacl.signing.SigningKey(KEYS.user.seed)
    message = b"x" * len(signed["ConsentCredential"])
    raw_signed = raw_key.sign(message)
    verify_key = raw_key.verify_key

    cases: dict[str, Callable[[], Any]] = {
        "raw pynacl sign": lambda: raw_key.sign(message),
        "raw pynacl verify (floor)": lambda: verify_key.verify(raw_signed),
    }
    for name, (obj, key) in objects.items():
        cases[f"{name} sign"] = lambda obj=obj, key=key: obj.sign(key)
        cases[f"{name} verify+decode"] = lambda obj=obj, data=signed[name]: type(obj).decode(data)

    best: dict[str, float] = {name: 0.0 for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            best[name] = max(best[name], rate(fn, args.seconds))

    floor_verify = best["raw pynacl verify (floor)"]
    floor_sign = best["raw pynacl sign"]
    rows = []
    for name, ops in best.items():
        floor = floor_sign if name.endswith("sign") else floor_verify
        obj_name = name.rsplit(" ", 1)[0]
        size = len(signed[obj_name]) if obj_name in signed else len(message) + 64
        rows.append({"case": name, "ops_per_s": round(ops), "vs_floor": round(ops / floor, 3), "bytes": size})

    width = max(len(r["case"]) for r in rows)
    print(f"{'case':<{width}}  {'ops/s':>9}  {'vs raw':>7}  {'bytes':>6}")
    for r in rows:
        print(f"{r['case']:<{width}}  {r['ops_per_s']:>9,}  {r['vs_floor']:>6.0%}  {r['bytes']:>6}")
    cred = best["ConsentCredential verify+decode"] / floor_verify
    print(f"\nConsentCredential verify+decode at {cred:.0%} of the raw verify rate (aim >= 70%); "
          f"typical consent {len(signed['ConsentCredential'])} bytes (aim <= 400).")

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "wire.json").write_text(json.dumps({
        "machine": platform.platform(), "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"), "rows": rows, "credential_vs_floor": round(cred, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
