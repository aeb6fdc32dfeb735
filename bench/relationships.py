"""Pairwise identities: what one user costs the registry and the wallet at 10 and 100 relationships.

    python bench/relationships.py [--counts 10,100] [--quick]

A real registry (``copyme registry serve``) and a wallet (the library, Argon2id at its ``min``
cost): the user consents once to each of N data users of one bank, so the wallet makes N
relationship DIDs and N status lists (1,024 entries each) and publishes every list.  Then:

- registry bytes per relationship: the signed token the registry serves, the payload of its
  ``lists`` row and its ``events`` rows, and the growth of its SQLite file (after ``VACUUM``,
  so page slack is not counted), divided by N;
- per user: lists, keys derived from the recovery phrase (wallet identity, data key, one per
  holder linked, one per relationship) and keys stored sealed (one per list), the key file and
  the wallet database.

Writes ``bench/results/relationships.json``.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import Service, table, write_result

from protocol import KeyPair
from tests.support import samples
from wallet import Wallet

PASSPHRASE = "bench passphrase"


def _registry_db(home: Path) -> Path:
    [db] = [p for p in home.glob("*.db")]
    return db


def _vacuumed_size(db: Path, tmp: Path) -> int:
    copy = tmp / f"copy-{secrets.token_hex(4)}.db"
    shutil.copy(db, copy)
    for suffix in ("-wal", "-shm"):
        if Path(str(db) + suffix).exists():
            shutil.copy(str(db) + suffix, str(copy) + suffix)
    conn = sqlite3.connect(copy)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("VACUUM")
    conn.close()
    return copy.stat().st_size


def measure(n: int, tmp: Path) -> dict[str, Any]:
    registry_home = tmp / f"registry-{n}"
    with Service.cli("registry", "serve", "--home", str(registry_home)) as registry:
        db = _registry_db(registry_home)
        empty = _vacuumed_size(db, tmp)
        home = tmp / f"wallet-{n}"
        started = time.perf_counter()
        with Wallet.init(home, PASSPHRASE, registry=registry.url, kdf="min") as wallet:
            for _ in range(n):
                requester = KeyPair.generate()
                keys = samples.Keys(samples.KEYS.user, requester, samples.KEYS.holder, samples.KEYS.status,
                                    samples.KEYS.council, samples.KEYS.stranger)
                raw = samples.request(keys, int(time.time()), request_id=secrets.token_bytes(16)).sign(requester)
                wallet.accept(wallet.review_bytes(raw, source="bench"), deliver=False)
            assert not wallet.pending(), "every list must be published"
            relationships = len(wallet.relationships.all())
            lists = wallet.store.rows("SELECT size FROM lists")
            holders = wallet.store.row("SELECT COUNT(*) AS n FROM links")["n"]  # type: ignore[index]
        seconds = time.perf_counter() - started
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    token, row = conn.execute(
        "SELECT AVG(LENGTH(token)), AVG(LENGTH(list_id) + LENGTH(kid) + LENGTH(etag) + LENGTH(uri) + LENGTH(token) "
        "+ 8 * 6) FROM lists").fetchone()
    events = conn.execute("SELECT COUNT(*), SUM(LENGTH(list_id) + LENGTH(etag) + LENGTH(uri) + 8 * 3) "
                          "FROM events").fetchone()
    conn.close()
    full = _vacuumed_size(db, tmp)
    return {
        "relationships": relationships, "lists": len(lists), "list_entries": lists[0]["size"],
        "keys_derived": 2 + holders + relationships, "keys_sealed": len(lists),
        "key_file_bytes": (home / "wallet.key").stat().st_size, "wallet_db_bytes": (home / "wallet.db").stat().st_size,
        "token_bytes": round(token), "registry_row_bytes": round(row),
        "registry_event_bytes": round(events[1] / n), "registry_events": events[0],
        "registry_file_bytes_per_relationship": round((full - empty) / n), "registry_file_bytes": full,
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10,100", help="relationship counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test")
    args = parser.parse_args()
    counts = [3] if args.quick else [int(c) for c in args.counts.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(n, Path(folder)) for n in counts]
    table(rows, ["relationships", "lists", "list_entries", "keys_derived", "keys_sealed", "token_bytes",
                       "registry_row_bytes", "registry_event_bytes", "registry_file_bytes_per_relationship",
                       "wallet_db_bytes", "seconds"], title="One user, N relationships (one bank, N data users)")
    write_result("relationships-quick" if args.quick else "relationships", {"rows": rows})


if __name__ == "__main__":
    main()
