"""A release cut short after one of its stages, to decompose the data gate's cost (bench only).

    stage "lane":    the ``POST /v1/data`` lane reads the body and answers a constant (no check at all)
    stage "decode":  + the presentation's strict decode and its Ed25519 signature check
    stage "decide":  + every check of spec 7.3 and the data source's copy (no record, no commit)
    stage "rows":    + the release's three rows (replay entry, receipt, record) written by three
                     bare INSERTs into tables shaped like the real ones, through the same group
                     commit: SQLite's own part of the durable write, with none of the Python
                     around it (no hash chain, no receipt numbering, no answer with the data)
    stage "release": the whole release (the product as served)

Each stage replaces ``Holder.release_async`` on one holder object with a function that stops
after the stage; the answers of the cut-short stages are the same small JSON object, so the
HTTP work after the handler is that of a tiny answer (a release's answer is a few hundred bytes).
Used by ``bench/_serve.py --stage`` (timed) and ``bench/_gate_count.py`` (instructions).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

STAGES = ("lane", "decode", "decide", "rows", "release")


class _Constant:
    def to_json(self) -> dict[str, Any]:
        return {"stage": "cut short"}


_CONSTANT = _Constant()


def cut_short(holder: Any, stage: str) -> None:
    """Make ``holder`` (a :class:`verifier.holder.Holder`) stop every release after ``stage``."""
    if stage not in STAGES:
        raise SystemExit(f"--stage is one of {', '.join(STAGES)}")
    if stage == "release":
        return
    from protocol import Presentation
    from verifier.replay import Claims

    if stage == "rows":
        _shadow_tables(holder.db)
    written = itertools.count(1)

    async def after_stage(data: bytes, now: int | None = None) -> Any:
        if stage == "decode":
            Presentation.decode(data)
        elif stage in ("decide", "rows"):
            claims = Claims(holder.db, holder.replay, holder.nonces)
            decided = holder._decide(data, holder.now(now), claims)
            assert decided.error is None, decided.error
            if stage == "rows":
                await holder.commits.run_async(_bare_rows(holder.db, decided, claims, next(written)))
        return _CONSTANT

    holder.release_async = after_stage


#: The tables a release writes, copied (same columns, keys and indexes; no triggers) as ``stage_*``.
_TABLES = ("replay", "receipts", "records")


def _shadow_tables(db: Any) -> None:
    """Create the ``stage_*`` copies of :data:`_TABLES` from the real tables' own DDL."""
    with db.lock:
        ddl = db.conn.execute("SELECT type, sql FROM sqlite_master WHERE tbl_name IN (?, ?, ?) AND sql IS NOT NULL "
                              "AND type IN ('table', 'index')", _TABLES).fetchall()
        for _kind, sql in sorted(ddl, key=lambda row: row[0] != "table"):  # tables before their indexes
            for table in _TABLES:
                for quoted in (f"[{table}]", f"[{table}_", f'"{table}"', f" {table} ", f" {table}(", f" {table}\n"):
                    sql = sql.replace(quoted, quoted.replace(table, f"stage_{table}"))
            db.conn.execute(sql.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
                            .replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))


def _bare_rows(db: Any, decided: Any, claims: Any, n: int) -> Callable[[], None]:
    """The three rows of a release as bare INSERTs of values already at hand (``n``: a fresh number)."""
    entry, attempt = decided.entry, decided.attempt
    (key, expires_at), = claims._keys

    def write() -> None:
        conn = db.conn
        conn.execute("INSERT INTO stage_replay (key, expires_at) VALUES (?, ?)", [key, expires_at])
        conn.execute("INSERT INTO stage_receipts (customer_id, seq, at, user, consent_id, outcome, reason, presenter,"
                     " items, purpose) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [attempt.customer_id, n, entry["at"], attempt.user, entry["consent_id"], "released", None,
                      attempt.presenter, "balance transactions", attempt.purpose])
        conn.execute("INSERT INTO stage_records (seq, at, kind, recipient, person, user, items, purpose,"
                     " consent_obtained, consent_id, reason, detail, prev, hash, recipient_name)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [n, entry["at"], "provision", entry["recipient"], entry["person"], entry["user"],
                      '["balance","transactions"]', entry["purpose"], 1, entry["consent_id"], None, None,
                      _HASH, _HASH, '{"en": "Budget app", "ja": "家計簿アプリ"}'])

    return write


_HASH = "0" * 64
