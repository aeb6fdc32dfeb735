"""Provision records: the append-only, hash-chained log an APPI provider must keep.

Japan's APPI (Art. 29, Enforcement Rules Art. 20) asks a provider of personal data to a third
party to record the date, the recipient, the person the data is about, the data items, and
that the person's consent was obtained.  Each release writes one ``provision`` record with
exactly these (plus the consent id, the CID of the credential); each refusal writes a
``refusal`` record with its reason code, so an auditor sees both.

Each record's ``hash`` is SHA-256 over the previous record's hash and the record's canonical
JSON, so editing, deleting or reordering any record breaks :meth:`Records.verify_chain`.
SQLite triggers also refuse ``UPDATE`` and ``DELETE`` on the table.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from protocol import clock

from .errors import RecordsTampered
from .grant import Grant
from .store import Database

__all__ = ["CSV_FIELDS", "GENESIS", "Records"]

GENESIS = "0" * 64
#: Columns of ``copyme verifier records --csv``, in APPI's order.
CSV_FIELDS = ("seq", "date", "kind", "recipient", "person", "items", "purpose", "consent_obtained",
              "consent_id", "reason", "detail", "user", "hash")
_CHAINED = ("seq", "at", "kind", "recipient", "person", "user", "items", "purpose", "consent_obtained",
            "consent_id", "reason", "detail", "prev")


def _digest(row: dict[str, Any]) -> str:
    body = json.dumps({k: row[k] for k in _CHAINED}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class Records:
    """The provision and refusal log of one data holder."""

    def __init__(self, db: Database) -> None:
        self._db = db
        with db.lock:
            db.execute("""CREATE TABLE IF NOT EXISTS records (
                seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,
                recipient TEXT, person TEXT, user TEXT, items TEXT NOT NULL, purpose TEXT,
                consent_obtained INTEGER NOT NULL, consent_id TEXT, reason TEXT, detail TEXT,
                prev TEXT NOT NULL, hash TEXT NOT NULL)""")
            db.execute("""CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
                BEGIN SELECT RAISE(ABORT, 'provision records are append-only'); END""")
            db.execute("""CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
                BEGIN SELECT RAISE(ABORT, 'provision records are append-only'); END""")
            last = db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        self._seq: int = int(last[0]) if last else 0
        self._head: str = str(last[1]) if last else GENESIS

    def provision(self, grant: Grant, now: int | None = None) -> dict[str, Any]:
        """Record a release under ``grant`` (consent obtained, with its id)."""
        return self._append(dict(at=clock.now(now), kind="provision", recipient=grant.recipient,
                                 person=grant.customer_id, user=grant.user, items=list(grant.items),
                                 purpose=grant.purpose, consent_obtained=True, consent_id=grant.consent_id,
                                 reason=None, detail=None))

    def refusal(self, code: str, detail: str, *, recipient: str | None = None, person: str | None = None,
                user: str | None = None, items: tuple[str, ...] = (), purpose: str | None = None,
                consent_id: str | None = None, now: int | None = None) -> dict[str, Any]:
        """Record a refused request with its reason code (nothing was provided)."""
        return self._append(dict(at=clock.now(now), kind="refusal", recipient=recipient, person=person,
                                 user=user, items=list(items), purpose=purpose, consent_obtained=False,
                                 consent_id=consent_id, reason=code, detail=detail[:500]))

    def _append(self, row: dict[str, Any]) -> dict[str, Any]:
        with self._db.lock:
            row["seq"] = self._seq + 1
            row["prev"] = self._head
            row["hash"] = _digest(row)
            self._db.execute(
                "INSERT INTO records (seq, at, kind, recipient, person, user, items, purpose, consent_obtained,"
                " consent_id, reason, detail, prev, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [row["seq"], row["at"], row["kind"], row["recipient"], row["person"], row["user"],
                 json.dumps(row["items"]), row["purpose"], int(row["consent_obtained"]), row["consent_id"],
                 row["reason"], row["detail"], row["prev"], row["hash"]])
            self._seq, self._head = row["seq"], row["hash"]
        return row

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self._db.lock:
            rows = self._db.execute(
                "SELECT seq, at, kind, recipient, person, user, items, purpose, consent_obtained, consent_id,"
                " reason, detail, prev, hash FROM records ORDER BY seq").fetchall()
        for r in rows:
            yield dict(seq=r[0], at=r[1], kind=r[2], recipient=r[3], person=r[4], user=r[5],
                       items=json.loads(r[6]), purpose=r[7], consent_obtained=bool(r[8]), consent_id=r[9],
                       reason=r[10], detail=r[11], prev=r[12], hash=r[13])

    def all(self) -> list[dict[str, Any]]:
        """Every record, oldest first."""
        return list(self)

    def verify_chain(self) -> int:
        """Recompute the chain; return the number of records, or raise ``records_tampered``."""
        prev, count = GENESIS, 0
        for row in self:
            count += 1
            if row["seq"] != count:
                raise RecordsTampered(f"record {count} is missing (found seq {row['seq']})")
            if row["prev"] != prev or _digest(row) != row["hash"]:
                raise RecordsTampered(f"record {row['seq']} does not match the hash chain")
            prev = row["hash"]
        return count

    def to_csv(self) -> str:
        """The log as CSV (UTF-8, ISO dates in UTC) for an auditor or a spreadsheet."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        for row in self:
            date = datetime.fromtimestamp(row["at"], UTC).isoformat().replace("+00:00", "Z")
            writer.writerow([row["seq"], date, row["kind"], row["recipient"] or "", row["person"] or "",
                             " ".join(row["items"]), row["purpose"] or "", "yes" if row["consent_obtained"] else "no",
                             row["consent_id"] or "", row["reason"] or "", row["detail"] or "", row["user"] or "",
                             row["hash"]])
        return out.getvalue()
