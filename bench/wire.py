"""Protocol benchmark: sign and verify+decode per wire object, next to raw pynacl in the same run.

    python bench/wire.py [--seconds 0.3] [--rounds 5] [--quick]
    python bench/wire.py --instructions [--calls 400]

The floor is pynacl's own Ed25519 verify (and sign) of a message of the same size, measured in
the same process and interleaved with the object measurements, so the ratio says how much of
the time is the signature itself and how much is CBOR, COSE and validation.  Prints a table and
writes ``bench/results/wire.json``.

``--instructions`` counts machine instructions instead of time, with valgrind's callgrind,
which gives the same count on a busy machine as on an idle one.  Each case runs in its own
process under callgrind twice, once doing everything but the measured calls and once with
``--calls`` of them added; the difference over ``--calls`` is the count of one call, with
interpreter start-up, imports and set-up cancelled out.  It also counts ``verify_presentation``
as ``bench/peers.py`` runs it (a credential never seen before on every call) next to its floor
of two raw verifies, the count behind that noisier timing.  Writes ``bench/results/wire-instructions.json``.
Without valgrind on the PATH it says so and exits 0 (CI does not install it).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))  # first: bench/verifier.py must not shadow the verifier package

import nacl.signing  # noqa: E402
from _harness import callgrind_instructions, write_result  # noqa: E402

from tests.support import samples  # noqa: E402
from tests.support.samples import KEYS  # noqa: E402

#: The cases ``--instructions`` counts: the floor and the two objects on the data path, then the
#: holder's whole decision on a fresh credential next to its own floor (two raw verifies).
COUNTED = ("raw pynacl verify (floor)", "ConsentCredential verify+decode", "Presentation verify+decode",
           "2 raw pynacl verifies (floor)", "verify_presentation, fresh credential")


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


def build_cases(only: str | None = None) -> tuple[dict[str, Callable[[], Any]], dict[str, bytes], bytes]:
    """Every measured case by name (or the floors and ``only``), the signed bytes of each object,
    and the floor's message."""
    makers: dict[str, Callable[[], Any]] = {
        "ConsentRequest": lambda: (samples.request(), KEYS.requester),
        "ConsentCredential": lambda: (samples.credential(), KEYS.user),
        "Presentation": lambda: (samples.presentation(), KEYS.requester),
        "StatusListToken (16,384)": lambda: (samples.status_list_token(), KEYS.status),
        "TrustList (2 orgs)": lambda: (samples.trust_list(), KEYS.council),
        "LinkProof": lambda: (samples.link_proof(), KEYS.user),
    }
    objects = {name: make() for name, make in makers.items()
               if only is None or only.startswith(name + " ") or name == "ConsentCredential"}
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
    return cases, signed, message


# ---------------------------------------------------------------- instruction counts


def presentation_cases(pool: int) -> dict[str, Callable[[], Any]]:
    """``verify_presentation`` as ``bench/peers.py`` runs it (a credential never seen before on
    every call: its own id, status index and signature), and its floor of two raw verifies.

    ``pool`` presentations are made up front, so that making them is set-up, not measured.
    """
    from common.registry_client import FetchResult
    from protocol import Presentation, StatusList, StatusListToken, StatusRef, cbor, cose
    from verifier import ReplayCache, StatusCache, open_database, verify_presentation

    uri = "https://registry.example/v1/lists/bench-wire-000000"

    class Registry:
        base_url = "https://registry.example"

        def fetch(self, uri: str, etag: str | None = None, version: str | None = None) -> FetchResult:
            return FetchResult(token, "etag", 3600)

        def events(self, last_event_id: str | None = None, list_id: str | None = None) -> Any:
            return iter(())

    token = StatusListToken.create(uri=uri, status_list=StatusList(), signer=KEYS.status.did, ttl=3600,
                                   lifetime=86400, now=samples.NOW).sign(KEYS.status)
    db = open_database(None)
    replay, status = ReplayCache(db), StatusCache(Registry(), db)
    links = {KEYS.user.did: "C-1001"}.get
    base = samples.credential()
    rng = random.Random(15)  # the same pool in every process (callgrind compares two of them)

    def presentation() -> bytes:
        credential = type(base)(**{**base.__dict__, "raw": b"", "status": StatusRef(uri, rng.randrange(1, 4096),
                                                                                   KEYS.status.did),
                                   "credential_id": rng.randbytes(16)}).sign(KEYS.user)
        return Presentation(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=credential,
                            items=("transactions",), purpose="dpv:ServiceProvision", issued_at=samples.NOW,
                            presentation_id=rng.randbytes(16)).sign(KEYS.requester)

    presentations = [presentation() for _ in range(pool + 10)]
    raw = []
    for data in (presentations[0], Presentation.decode(presentations[0]).credential):
        parts = cose._split_fast(data)
        assert parts is not None
        raw.append((nacl.signing.VerifyKey(cbor.decode(parts[0])[4]), cose.sig_structure(parts[0], parts[1]),
                    parts[2]))

    def floor() -> None:
        for key, message, signature in raw:
            key.verify(message, signature)

    def verify() -> None:
        verify_presentation(presentations.pop(), holder=KEYS.holder.did, customer_for=links, replay=replay,
                            status=status, now=samples.NOW)

    return {"2 raw pynacl verifies (floor)": floor, "verify_presentation, fresh credential": verify}


def _child(case: str, calls: int, pool: int) -> None:
    """Run inside callgrind: set up everything, warm ``case`` up, then call it ``calls`` times."""
    if case in ("2 raw pynacl verifies (floor)", "verify_presentation, fresh credential"):
        fn = presentation_cases(pool)[case]
    else:
        cases, _, _ = build_cases(case)
        fn = cases[case]
    for _ in range(5):  # caches, lazy imports and first-call work are set-up, not the measured call
        fn()
    for _ in range(calls):
        fn()


def _instructions(case: str, calls: int, pool: int, folder: Path) -> int:
    """Total instructions (callgrind ``Ir``) of a child process running ``case`` ``calls`` times
    (with ``pool`` fresh presentations made in set-up, whatever ``calls`` is)."""
    out = folder / f"cg-{abs(hash((case, calls)))}.out"
    return callgrind_instructions([__file__, "--child", case, "--calls", str(calls), "--pool", str(pool)], out)


def count_instructions(calls: int) -> None:
    """Instructions per call of each counted case; writes ``bench/results/wire-instructions.json``."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: the instruction counts are skipped "
              "(Debian: apt-get install valgrind; CI does not run this mode)")
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in COUNTED:
            base = _instructions(case, 0, calls, Path(tmp))
            total = _instructions(case, calls, calls, Path(tmp))
            rows.append({"case": case, "instructions_per_call": round((total - base) / calls)})
    print(f"{'case':<38}  {'instructions':>12}  {'floor / case':>12}")
    for row in rows:
        floor = rows[3 if row["case"] in COUNTED[3:] else 0]["instructions_per_call"]
        row["vs_floor"] = round(floor / row["instructions_per_call"], 3)
        print(f"{row['case']:<38}  {row['instructions_per_call']:>12,}  {row['vs_floor']:>11.0%}")
    cred, fresh = rows[1]["vs_floor"], rows[4]["vs_floor"]
    print(f"\nConsentCredential verify+decode at {cred:.0%} of a raw verify in instructions (aim >= 85%); "
          f"verify_presentation with a fresh credential at {fresh:.0%} of two raw verifies")
    write_result("wire-instructions", {"rows": rows, "calls": calls, "credential_vs_floor": cred,
                                       "verify_presentation_vs_floor": fresh})


# ---------------------------------------------------------------- CPU time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best is kept")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    parser.add_argument("--instructions", action="store_true", help="count instructions with valgrind instead")
    parser.add_argument("--calls", type=int, default=400, help="measured calls per case with --instructions")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--pool", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.calls, args.pool)
        return
    if args.instructions:
        count_instructions(args.calls)
        return
    if args.quick:
        args.seconds, args.rounds = 0.02, 1

    cases, signed, message = build_cases()
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
          f"typical consent {len(signed['ConsentCredential'])} bytes (aim <= 500).")
    write_result("wire-quick" if args.quick else "wire", {
        "rows": rows, "credential_vs_floor": round(cred, 3), "consent_bytes": len(signed["ConsentCredential"]),
        "seconds": args.seconds, "rounds": args.rounds})


if __name__ == "__main__":
    main()
