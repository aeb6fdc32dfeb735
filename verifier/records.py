"""Provision records: the append-only, hash-chained log an APPI provider must keep.

Japan's APPI (Art. 29, Enforcement Rules Art. 20) asks a provider of personal data to a third
party to record the date, the recipient (a matter sufficient to identify it), the person the
data is about, the data items, and that the person's consent was obtained.  Each release writes
one ``provision`` record with exactly these (plus the consent id, the CID of the credential);
each refusal writes a ``refusal`` record with its reason code, so an auditor sees both.  The
recipient is its DID and, when the registry's trust list knows it, its name in Japanese and
English (``recipient_name``): a DID alone is opaque to an auditor.

Each record's ``hash`` is SHA-256 over the previous record's hash and the record's canonical
JSON, so editing, deleting or reordering any record breaks :meth:`Records.verify_chain`.
SQLite triggers also refuse ``UPDATE`` and ``DELETE`` on the table.  Cutting off the *newest*
records leaves a shorter chain that still verifies; that is caught with the **head**
(``"<count>:<hash of the newest record>"``, :meth:`Records.head`): an auditor keeps a head
outside the holder, and ``verify_chain(expect_head=...)`` later checks that the chain still
holds that record at that position.

A record is written in one transaction together with the single-use values its request used up
(:class:`verifier.replay.Claims`), and a crash keeps both or neither.  The holder writes through
:meth:`Records.write` inside a transaction that concurrent requests share
(:class:`verifier.commits.GroupCommit`: one commit for the batch); :meth:`Records.provision` and
:meth:`Records.refusal` commit one record on their own.  The writer reads the chain's head inside
the transaction, after taking the records lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock
on PostgreSQL), so writers in many threads, processes or workers extend one chain and never fork it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from protocol import clock
from protocol.errors import InvalidArgument

from .errors import RecordsTampered
from .grant import Grant
from .replay import Claims
from .store import HolderDatabase

__all__ = ["CSV_FIELDS", "GENESIS", "Records"]

GENESIS = "0" * 64
#: The advisory lock key (PostgreSQL) that serialises writers of the records chain.
RECORDS_LOCK = 0x636F70_7965_7263
#: Columns of ``copyme verifier records --csv``, in APPI's order.
CSV_FIELDS = ("seq", "date", "kind", "recipient", "recipient_name", "person", "items", "purpose",
              "consent_obtained", "consent_id", "reason", "detail", "user", "hash")
_CHAINED = ("seq", "at", "kind", "recipient", "person", "user", "items", "purpose", "consent_obtained",
            "consent_id", "reason", "detail", "prev")
_COLUMNS = ("seq, at, kind, recipient, person, user, items, purpose, consent_obtained, consent_id, reason, detail,"
            " prev, hash, recipient_name")


#: ``json.dumps`` with these arguments builds a new encoder on every call; one kept is the same text.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
#: The ``recipient_name`` column's text (``json.dumps(name, ensure_ascii=False, sort_keys=True)``), kept likewise.
_NAME_TEXT = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def _digest(row: dict[str, Any]) -> str:
    body = {k: row[k] for k in _CHAINED}
    if row.get("recipient_name") is not None:  # records written before names were kept hash without it
        body["recipient_name"] = row["recipient_name"]
    text = _CANONICAL.encode(body)
    return hashlib.sha256(text.encode()).hexdigest()


def _parse_head(value: str) -> tuple[int, str]:
    count, sep, digest = value.strip().partition(":")
    if not sep or not count.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidArgument("a records head is '<count>:<64 hex digits>', as `copyme verifier records --head` prints")
    return int(count), digest


class Records:
    """The provision and refusal log of one data holder."""

    def __init__(self, db: HolderDatabase) -> None:
        self._db = db
        # the chain's head as last written, and the database generation it is good for
        self._head: tuple[int | None, tuple[int, str] | None] = (None, None)
        with db.lock:
            db.execute("""CREATE TABLE IF NOT EXISTS records (
                seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,
                recipient TEXT, person TEXT, user TEXT, items TEXT NOT NULL, purpose TEXT,
                consent_obtained INTEGER NOT NULL, consent_id TEXT, reason TEXT, detail TEXT,
                prev TEXT NOT NULL, hash TEXT NOT NULL, recipient_name TEXT)""")
            if db.dialect == "sqlite":
                columns = {r[1] for r in db.execute("PRAGMA table_info(records)").fetchall()}
                if "recipient_name" not in columns:  # a log from before names were kept
                    db.execute("ALTER TABLE records ADD COLUMN recipient_name TEXT")
                db.execute("""CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
                    BEGIN SELECT RAISE(ABORT, 'provision records are append-only'); END""")
                db.execute("""CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
                    BEGIN SELECT RAISE(ABORT, 'provision records are append-only'); END""")
            else:
                db.execute("""CREATE OR REPLACE FUNCTION copyme_records_append_only() RETURNS trigger
                    LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'provision records are append-only'; END $$""")
                db.execute("""CREATE OR REPLACE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
                    FOR EACH ROW EXECUTE FUNCTION copyme_records_append_only()""")

    def provision(self, grant: Grant, now: int | None = None, *, recipient_name: dict[str, str] | None = None,
                  claims: Claims | None = None, also: Callable[[int], object] | None = None) -> dict[str, Any]:
        """Record a release under ``grant`` (consent obtained, with its id), in a transaction of its own.

        ``claims`` (the request's replay entry and nonce) are written in the same transaction,
        so the data may leave once this returns; a lost race raises ``replayed`` and writes nothing.
        ``also(at)`` runs inside that transaction too (the holder writes the usage receipt there).
        The holder itself writes through :meth:`write` inside a shared transaction
        (:class:`verifier.commits.GroupCommit`).
        """
        return self._append(self.provision_entry(grant, now, recipient_name=recipient_name), claims, also)

    def refusal(self, code: str, detail: str, *, recipient: str | None = None, person: str | None = None,
                user: str | None = None, items: tuple[str, ...] = (), purpose: str | None = None,
                consent_id: str | None = None, recipient_name: dict[str, str] | None = None,
                claims: Claims | None = None, now: int | None = None,
                also: Callable[[int], object] | None = None) -> dict[str, Any]:
        """Record a refused request with its reason code (nothing was provided); ``also`` as in :meth:`provision`."""
        entry = self.refusal_entry(code, detail, recipient=recipient, person=person, user=user, items=items,
                                   purpose=purpose, consent_id=consent_id, recipient_name=recipient_name, now=now)
        return self._append(entry, claims, also)

    @staticmethod
    def provision_entry(grant: Grant, now: int | None = None, *,
                        recipient_name: dict[str, str] | None = None) -> dict[str, Any]:
        """The (not yet chained) provision record of a release under ``grant``, for :meth:`write`."""
        return dict(at=clock.now(now), kind="provision", recipient=grant.recipient, recipient_name=recipient_name,
                    person=grant.customer_id, user=grant.user, items=list(grant.items), purpose=grant.purpose,
                    consent_obtained=True, consent_id=grant.consent_id, reason=None, detail=None)

    @staticmethod
    def refusal_entry(code: str, detail: str, *, recipient: str | None = None, person: str | None = None,
                      user: str | None = None, items: tuple[str, ...] = (), purpose: str | None = None,
                      consent_id: str | None = None, recipient_name: dict[str, str] | None = None,
                      now: int | None = None) -> dict[str, Any]:
        """The (not yet chained) refusal record of a request refused with ``code``, for :meth:`write`."""
        return dict(at=clock.now(now), kind="refusal", recipient=recipient, recipient_name=recipient_name,
                    person=person, user=user, items=list(items), purpose=purpose, consent_obtained=False,
                    consent_id=consent_id, reason=code, detail=detail[:500])

    def _append(self, row: dict[str, Any], claims: Claims | None = None,
                also: Callable[[int], object] | None = None) -> dict[str, Any]:
        with self._db.lock:
            with self._db.transaction():
                self.write(row, claims, also)
            if claims:
                claims.committed()
        return row

    def write(self, row: dict[str, Any], claims: Claims | None = None,
              also: Callable[[int], object] | None = None) -> dict[str, Any]:
        """Chain and insert ``row`` (an entry of :meth:`provision_entry` / :meth:`refusal_entry`).

        Call inside the caller's transaction with the database lock held; ``claims`` are written
        first (``replayed`` if another request used them: the caller rolls back), then
        ``also(at)``, then the record.  The caller runs ``claims.committed()`` after its commit.
        """
        name = row["recipient_name"]
        conn = self._db.conn
        self._db.serialise(RECORDS_LOCK)
        if claims:
            claims.write(row["at"])
        if also is not None:
            also(row["at"])
        last = self._last(conn)
        row["seq"] = last[0] + 1 if last else 1
        row["prev"] = last[1] if last else GENESIS
        row["hash"] = _digest(row)
        conn.execute(
            f"INSERT INTO records ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [row["seq"], row["at"], row["kind"], row["recipient"], row["person"], row["user"],
             json.dumps(row["items"]), row["purpose"], int(row["consent_obtained"]), row["consent_id"],
             row["reason"], row["detail"], row["prev"], row["hash"],
             None if name is None else _NAME_TEXT.encode(name)])
        self._head = (self._db.generation, (row["seq"], row["hash"]))
        return row

    def _last(self, conn: Any) -> tuple[int, str] | None:
        """``(seq, hash)`` of the newest record: kept from the last write while the database
        generation holds (SQLite, one writer: a release reads no chain head), else read."""
        generation, head = self._head
        if generation is not None and generation == self._db.generation:
            return head
        last = conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        head = (int(last[0]), str(last[1])) if last else None
        self._head = (self._db.generation, head)
        return head

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with self._db.lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM records ORDER BY seq").fetchall()
        for r in rows:
            yield dict(seq=r[0], at=r[1], kind=r[2], recipient=r[3], person=r[4], user=r[5],
                       items=json.loads(r[6]), purpose=r[7], consent_obtained=bool(r[8]), consent_id=r[9],
                       reason=r[10], detail=r[11], prev=r[12], hash=r[13],
                       recipient_name=None if r[14] is None else json.loads(r[14]))

    def all(self) -> list[dict[str, Any]]:
        """Every record, oldest first."""
        return list(self)

    def head(self) -> str:
        """``"<count>:<hash>"`` of the newest stored record (``"0:000…"`` when empty).

        Keep it somewhere the holder cannot edit (an auditor's notes, a ticket, a signed mail):
        :meth:`verify_chain` with ``expect_head`` then proves no record up to it was cut off.
        """
        with self._db.lock:
            last = self._db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return f"{last[0]}:{last[1]}" if last else f"0:{GENESIS}"

    def verify_chain(self, expect_head: str | None = None) -> int:
        """Recompute the chain; return the number of records, or raise ``records_tampered``.

        With ``expect_head`` (a value :meth:`head` gave earlier) the chain must also still hold
        that record at that position: the newest records were not cut off (it may have grown).
        """
        return int(self.verified_head(expect_head).partition(":")[0])

    def verified_head(self, expect_head: str | None = None) -> str:
        """:meth:`verify_chain`, returning the head of the chain it checked (``"<count>:<hash>"``)."""
        expected = _parse_head(expect_head) if expect_head is not None else None
        prev, count = GENESIS, 0
        for row in self:
            count += 1
            if row["seq"] != count:
                raise RecordsTampered(f"record {count} is missing (found seq {row['seq']})")
            if row["prev"] != prev or _digest(row) != row["hash"]:
                raise RecordsTampered(f"record {row['seq']} does not match the hash chain")
            prev = row["hash"]
            if expected is not None and count == expected[0] and prev != expected[1]:
                raise RecordsTampered(f"record {count} is not the one the expected head names (rewritten)")
        if expected is not None and count < expected[0]:
            raise RecordsTampered(f"the log holds {count} records but the expected head names record "
                                  f"{expected[0]}: the newest records were cut off")
        if expected is not None and expected[0] == 0 and expected[1] != GENESIS:
            raise RecordsTampered("the expected head names no record but is not the empty head")
        return f"{count}:{prev}"

    def to_csv(self) -> str:
        """The log as CSV (UTF-8, ISO dates in UTC) for an auditor or a spreadsheet."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        for row in self:
            date = datetime.fromtimestamp(row["at"], UTC).isoformat().replace("+00:00", "Z")
            name = row["recipient_name"] or {}
            label = " / ".join(v for v in (name.get("ja"), name.get("en")) if v)
            writer.writerow([row["seq"], date, row["kind"], row["recipient"] or "", label, row["person"] or "",
                             " ".join(row["items"]), row["purpose"] or "", "yes" if row["consent_obtained"] else "no",
                             row["consent_id"] or "", row["reason"] or "", row["detail"] or "", row["user"] or "",
                             row["hash"]])
        return out.getvalue()
