"""Wallet benchmark: ``list`` and ``show`` with 10,000 consents, and revoke-to-published time.

Also the cost of opening the database for a read (``open_read``: header and schema only) next
to the full ``PRAGMA quick_check`` (``open_quick_check``) that now runs only before a write.

Seeds consents through the library (real signed requests and credentials, real status list
allocation) against a real registry running as its own process (``copyme registry serve``).
Baselines measured in the same run: the same commands on a 100-consent wallet, and a bare
registry PUT of a pre-signed list token (the network/registry floor under a revoke).

    python bench/wallet.py [--consents 10000] [--revokes 30]

Prints a table and writes ``bench/results/wallet.json``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _harness import write_result  # noqa: E402

os.environ.setdefault("COPYME_KDF", "interactive")
PASSPHRASE = "bench passphrase"


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(samples), 2), "min_ms": round(min(samples), 2),
            "max_ms": round(max(samples), 2), "runs": repeat}


def seed(wallet: Any, count: int) -> float:
    from tests.support import samples

    start = time.perf_counter()
    now = int(time.time())
    batch = 500
    for first in range(0, count, batch):
        with wallet.store.transaction():
            for _ in range(min(batch, count - first)):
                raw = samples.request(now=now, callback="http://127.0.0.1:9/callback",
                                      request_id=secrets.token_bytes(16)).sign(samples.KEYS.requester)
                review = wallet.review_bytes(raw, source="bench", lang="en", now=now)
                wallet.accept(review, lang="en", now=now, deliver=False)
    return time.perf_counter() - start


def run_cli(args: list[str]) -> None:
    from typer.testing import CliRunner

    from copyme.cli import app

    result = CliRunner().invoke(app, ["wallet", *args])
    if result.exit_code != 0:
        raise RuntimeError(result.output)


def open_store(home: Path, *, check: bool) -> None:
    from wallet.store import Store

    store = Store.open(home / "wallet.db")
    if check:
        store.verify()
    store.close()


def measure_wallet(tmp: Path, registry_url: str, count: int, label: str) -> tuple[dict[str, Any], Any]:
    from wallet import Wallet

    home = tmp / f"wallet-{label}"
    wallet = Wallet.init(home, PASSPHRASE, registry=registry_url)
    seconds = seed(wallet, count)
    ids = [c.id for c in wallet.consents()]
    probe = ids[len(ids) // 2]
    reader = Wallet.open(home)  # list/show need no passphrase
    repeat = 5 if count > 1000 else 20
    out = {
        "consents": count,
        "seed_s": round(seconds, 2),
        "seed_per_consent_ms": round(seconds * 1000 / count, 3),
        "list_library": timed(lambda: reader.consents(), repeat),
        "list_cli_json": timed(lambda: run_cli(["list", "--home", str(home), "--json"]), repeat),
        "list_cli_table": timed(lambda: run_cli(["list", "--home", str(home)]), max(2, repeat // 2)),
        "show_library": timed(lambda: reader.detail(probe), repeat * 4),
        "show_cli_json": timed(lambda: run_cli(["show", probe[-12:], "--home", str(home), "--json"]), repeat * 2),
        # what opening costs a read-only command now (header + schema), next to the full
        # PRAGMA quick_check that every open used to run (now only before the first write)
        "open_read": timed(lambda: open_store(home, check=False), repeat * 4),
        "open_quick_check": timed(lambda: open_store(home, check=True), repeat * 4),
        "db_bytes": (home / "wallet.db").stat().st_size,
    }
    reader.close()
    return out, wallet


def measure_revokes(wallet: Any, registry_url: str, revokes: int) -> dict[str, Any]:
    from common.registry_client import RegistryClient
    from protocol import Status, StatusList, StatusListToken
    from tests.support import samples

    ids = [c.id for c in wallet.consents(state="active")][:revokes]
    client = RegistryClient(registry_url)
    to_published, to_visible = [], []
    for consent_id in ids:
        start = time.perf_counter()
        result = wallet.revoke(consent_id)
        to_published.append((time.perf_counter() - start) * 1000)
        assert result.published, result
        view = wallet.consent(consent_id)
        fetched = client.fetch(view.list_id)
        assert fetched is not None
        assert StatusListToken.decode(fetched.token).status_list.get(view.index) == Status.REVOKED
        to_visible.append((time.perf_counter() - start) * 1000)
    # baseline: a bare PUT of pre-signed tokens of the same size to a fresh list
    list_id = secrets.token_hex(16)
    key = samples.KEYS.status
    base = int(time.time())
    tokens = [StatusListToken.create(uri=client.list_uri(list_id), status_list=StatusList(), signer=key.did,
                                     now=base + i).sign(key) for i in range(revokes)]
    bare = []
    for token in tokens:
        start = time.perf_counter()
        client.publish(list_id, token)
        bare.append((time.perf_counter() - start) * 1000)
    client.close()

    def stats(values: list[float]) -> dict[str, float]:
        return {"median_ms": round(statistics.median(values), 2), "p95_ms": round(sorted(values)[int(len(values) * 0.95) - 1], 2),
                "max_ms": round(max(values), 2), "runs": len(values)}

    return {"revoke_to_published": stats(to_published), "revoke_to_fetched_revoked": stats(to_visible),
            "baseline_bare_put": stats(bare)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consents", type=int, default=10_000)
    parser.add_argument("--revokes", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="tiny run (200 consents, 3 revokes)")
    args = parser.parse_args()
    if args.quick:
        args.consents, args.revokes = 200, 3
    from tests.support.servers import serve_cli

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        with serve_cli(["registry", "serve", "--home", str(tmp / "registry")]) as (registry_url, _):
            base, small = measure_wallet(tmp, registry_url, 100, "baseline")
            big, wallet = measure_wallet(tmp, registry_url, args.consents, "big")
            revokes = measure_revokes(wallet, registry_url, args.revokes)
            wallet.close()
            small.close()
    rows = []
    for key in ("list_library", "list_cli_json", "list_cli_table", "show_library", "show_cli_json", "open_read",
                "open_quick_check"):
        b, m = base[key]["median_ms"], big[key]["median_ms"]
        rows.append((key.replace("_", " "), b, m, round(m / b, 1) if b else None))
    rev = revokes["revoke_to_published"]["median_ms"]
    bare = revokes["baseline_bare_put"]["median_ms"]
    print(f"\nwallet benchmark ({args.consents} consents; baseline 100 consents)")
    print(f"{'operation':<22}{'100 (ms)':>12}{f'{args.consents} (ms)':>16}{'ratio':>8}")
    for name, b, m, r in rows:
        print(f"{name:<22}{b:>12}{m:>16}{r:>8}")
    print(f"\nseeding: {big['seed_per_consent_ms']} ms per consent ({big['seed_s']} s), db {big['db_bytes'] // 1024} KiB")
    print(f"revoke to published (median / p95): {rev} / {revokes['revoke_to_published']['p95_ms']} ms")
    print(f"revoke to fetched-as-revoked (median): {revokes['revoke_to_fetched_revoked']['median_ms']} ms")
    print(f"baseline bare registry PUT (median): {bare} ms; ratio revoke/PUT {round(rev / bare, 1) if bare else None}")
    results = {"baseline_100": base, "big": big, "revokes": revokes,
               "ratios": {name: r for name, _, _, r in rows} | {"revoke_vs_bare_put": round(rev / bare, 2) if bare else None}}
    write_result("wallet-quick" if args.quick else "wallet", results)


if __name__ == "__main__":
    main()
