"""The wallet database (SQLite via sqlite-utils, WAL): schema, migrations, transactions, damage detection.

Every change the wallet makes happens inside one :meth:`Store.transaction`, so a crash or an
error leaves either the old or the new state.  Any ``sqlite3`` error that means the file is not
(or no longer) a database becomes :class:`~wallet.errors.CorruptStore`; the file is never reset.

Damage detection is split by cost.  Opening reads the header, the schema and the ``meta`` row
(a file that is not one of our databases fails here, in well under a millisecond).  The full
``PRAGMA quick_check`` (it reads every page: ~70 ms for a 32 MB wallet) runs once per open
store, before its first write, so a damaged database is refused before anything is written to
it, while ``list`` and ``show`` stay fast.  A damaged page met by a read is still reported as
``corrupt_store`` by :func:`translate_db_errors`.

Older databases are migrated when opened (:data:`MIGRATIONS`, one transaction, after the
quick check); a database from a newer wallet is refused rather than guessed at.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from protocol import Conflict, ConsentCredential, ConsentRequest, NotFound

from .errors import CorruptStore, NotInitialised

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "TABLES", "AsReceived", "ConsentEntry", "Delivery", "LiveConsent",
           "ReceivedRequest", "StatusEvent", "Store", "dumps", "translate_db_errors"]

SCHEMA_VERSION = 6

#: Tables in the order a backup writes and restores them.
TABLES = ("meta", "requests", "relationships", "lists", "consents", "events", "links", "usage_receipts",
          "receipt_pulls", "rights")

#: Stop-use / erasure requests sent to data users, with their signed answers (schema 6).
_RIGHTS_SQL = """CREATE TABLE IF NOT EXISTS rights (
    id INTEGER PRIMARY KEY AUTOINCREMENT, consent_id TEXT NOT NULL REFERENCES consents(id),
    kind TEXT NOT NULL, endpoint TEXT NOT NULL, raw BLOB NOT NULL, cid TEXT NOT NULL,
    created_at INTEGER NOT NULL, sent_at INTEGER, send_error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    ack BLOB, due_at INTEGER, done BLOB, done_at INTEGER, checked_at INTEGER
);
CREATE INDEX IF NOT EXISTS rights_consent ON rights (consent_id, id)"""

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE requests (
    cid TEXT PRIMARY KEY, raw BLOB NOT NULL, source TEXT NOT NULL, received_at INTEGER NOT NULL,
    requester TEXT NOT NULL, decision TEXT NOT NULL DEFAULT 'pending', decided_at INTEGER,
    lang TEXT
);
CREATE TABLE relationships (
    id INTEGER PRIMARY KEY AUTOINCREMENT, holder TEXT NOT NULL, requester TEXT NOT NULL,
    generation INTEGER NOT NULL, did TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,
    linked_at INTEGER, link_error TEXT, replaced_at INTEGER, link_proof BLOB,
    UNIQUE (holder, requester, generation)
);
CREATE TABLE lists (
    id TEXT PRIMARY KEY, uri TEXT NOT NULL, key_did TEXT NOT NULL, key_box BLOB NOT NULL,
    size INTEGER NOT NULL, bits BLOB NOT NULL, iat INTEGER NOT NULL DEFAULT 0, token BLOB,
    published_iat INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_at INTEGER NOT NULL,
    relationship INTEGER REFERENCES relationships(id)
);
CREATE TABLE consents (
    id TEXT PRIMARY KEY, raw BLOB NOT NULL, request_cid TEXT NOT NULL REFERENCES requests(cid),
    requester TEXT NOT NULL, requester_name TEXT NOT NULL, verified INTEGER NOT NULL,
    holder TEXT NOT NULL, holder_name TEXT, holder_url TEXT NOT NULL,
    items TEXT NOT NULL, purposes TEXT NOT NULL, lang TEXT NOT NULL,
    issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    list_id TEXT NOT NULL REFERENCES lists(id), idx INTEGER NOT NULL, state TEXT NOT NULL,
    callback TEXT NOT NULL, delivered INTEGER NOT NULL DEFAULT 0, delivery_error TEXT,
    UNIQUE (list_id, idx)
);
CREATE INDEX consents_order ON consents (issued_at DESC, id);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, consent_id TEXT NOT NULL REFERENCES consents(id),
    status TEXT NOT NULL, at INTEGER NOT NULL, list_id TEXT NOT NULL, iat INTEGER NOT NULL,
    published_at INTEGER
);
CREATE INDEX events_consent ON events (consent_id, seq);
CREATE INDEX events_unpublished ON events (list_id, published_at);
CREATE INDEX events_pending ON events (consent_id) WHERE published_at IS NULL;
CREATE TABLE links (holder TEXT PRIMARY KEY, holder_url TEXT NOT NULL, linked_at INTEGER NOT NULL, did TEXT);
"""

#: Schema 4: usage receipts signed by data holders, pulled by the wallet (one chain per holder),
#: and the outcome of the last pull from each holder (a chain problem stays visible until fixed).
_RECEIPTS = (
    """CREATE TABLE IF NOT EXISTS usage_receipts (
        holder TEXT NOT NULL, seq INTEGER NOT NULL, cid TEXT NOT NULL, consent_id TEXT NOT NULL,
        at INTEGER NOT NULL, presenter TEXT NOT NULL, items TEXT NOT NULL, purpose TEXT NOT NULL,
        outcome TEXT NOT NULL, reason TEXT, raw BLOB NOT NULL, received_at INTEGER NOT NULL,
        PRIMARY KEY (holder, seq))""",
    "CREATE INDEX IF NOT EXISTS usage_receipts_consent ON usage_receipts (consent_id, at)",
    """CREATE TABLE IF NOT EXISTS receipt_pulls (
        holder TEXT PRIMARY KEY, holder_url TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0,
        pulled_at INTEGER, error TEXT, detail TEXT, failed_at INTEGER)""",
)

_SCHEMA += ";\n".join(_RECEIPTS) + ";\n" + _RIGHTS_SQL + ";\n"

#: Statements that bring a database from schema ``n`` to ``n + 1``.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: a consent's "pending" flag (an event the registry has not accepted yet) is looked up per
    # listed row; a partial index holds only the unpublished events, so the lookup stays O(1).
    1: ("CREATE INDEX IF NOT EXISTS events_pending ON events (consent_id) WHERE published_at IS NULL",),
    # 3: pairwise DIDs: one identity per relationship (holder x data user), a status list per
    # relationship, and the DID linked at each holder (null: the wallet's own DID, as before)
    2: ("""CREATE TABLE IF NOT EXISTS relationships (
            id INTEGER PRIMARY KEY AUTOINCREMENT, holder TEXT NOT NULL, requester TEXT NOT NULL,
            generation INTEGER NOT NULL, did TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,
            linked_at INTEGER, link_error TEXT, replaced_at INTEGER,
            UNIQUE (holder, requester, generation))""",
        "ALTER TABLE lists ADD COLUMN relationship INTEGER REFERENCES relationships(id)",
        "ALTER TABLE links ADD COLUMN did TEXT"),
    # 4: signed usage receipts replace the unsigned ones that only a demo relay ever wrote (they
    # proved nothing and no holder signed them), so the old table goes.
    3: ("DROP INDEX IF EXISTS receipts_consent", "DROP TABLE IF EXISTS receipts", *_RECEIPTS),
    # 5: key replacement: the DidLink that linked a replacement key, sent again with its re-signed
    # consents so the data user can check them
    4: ("ALTER TABLE relationships ADD COLUMN link_proof BLOB",),
    # 6: stop-use / erasure requests sent to data users, with their signed answers.
    5: tuple(_RIGHTS_SQL.split(";")),
}


_ADD_COLUMN = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN (\w+) ")


@contextlib.contextmanager
def translate_db_errors() -> Iterator[None]:
    """Turn sqlite3 errors into the wallet's errors: damage is ``corrupt_store``, a lock is ``conflict``."""
    try:
        yield
    except sqlite3.OperationalError as err:
        if "locked" in str(err) or "busy" in str(err):
            raise Conflict("the wallet is busy in another process; try again") from err
        raise CorruptStore(f"the wallet database cannot be read: {err}") from err
    except sqlite3.DatabaseError as err:
        raise CorruptStore(f"the wallet database is damaged: {err}") from err


@dataclass(frozen=True)
class Delivery:
    """A stored consent as it is delivered: the credential's bytes and the request's callback URL."""

    raw: bytes
    callback: str


@dataclass(frozen=True)
class ConsentEntry:
    """A consent's state (``active``, ``suspended``, ``revoked``) and its status list entry."""

    state: str
    list_id: str
    idx: int


@dataclass(frozen=True)
class LiveConsent:
    """A consent still in force (``active`` or ``suspended``): its credential and its status list entry."""

    id: str
    raw: bytes
    state: str
    list_id: str
    idx: int


@dataclass(frozen=True)
class AsReceived:
    """A consent's credential and the request it answered, byte for byte, and the request's source."""

    credential: bytes
    request: bytes
    source: str


@dataclass(frozen=True)
class StatusEvent:
    """One status change of a consent: its new status, when, the list version that carries it
    (``iat``) and when the registry took that version (``None``: not yet)."""

    status: str
    at: int
    iat: int
    published_at: int | None

    def to_json(self) -> dict[str, Any]:
        """The change as ``show --json`` lists it."""
        return asdict(self)


@dataclass(frozen=True)
class ReceivedRequest:
    """A kept request: its bytes, where it came from and when, and the user's decision on it
    (``pending``, ``accepted``, ``declined``) with the language it was last shown or decided in."""

    cid: str
    raw: bytes
    source: str
    received_at: int
    requester: str
    decision: str
    decided_at: int | None
    lang: str | None


class Store:
    """An open wallet database."""

    def __init__(self, db: sqlite_utils.Database, *, checked: bool = False) -> None:
        self.db = db
        self._checked = checked

    @classmethod
    def create(cls, path: Path) -> Store:
        """A new, empty database at ``path`` (which must not exist)."""
        with translate_db_errors():
            conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
            db = sqlite_utils.Database(conn)
            db.enable_wal()
            with db.atomic():
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(statement)
                db.table("meta").insert({"key": "schema", "value": str(SCHEMA_VERSION)})
        return cls(db, checked=True)

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open an existing database and check cheaply that it is one of ours (see the module
        docstring); :class:`CorruptStore` if not.  Migrates an older schema."""
        if not path.exists():
            raise NotInitialised(f"no wallet at {path.parent} (run 'copyme wallet init')")
        with translate_db_errors():
            conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
            store = cls(sqlite_utils.Database(conn))
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            except sqlite3.DatabaseError as err:
                conn.close()
                if "no such table" in str(err):
                    raise CorruptStore(f"the wallet database has no wallet schema: {err}") from err
                raise
            version = int(row[0]) if row is not None and row[0].isdigit() else None
            if version is None or not 1 <= version <= SCHEMA_VERSION:
                conn.close()
                raise CorruptStore(f"unknown wallet database schema {row[0] if row else None!r}")
            conn.execute("PRAGMA foreign_keys = ON")
        if version < SCHEMA_VERSION:
            store.migrate(version)
        return store

    def verify(self) -> None:
        """Run ``PRAGMA quick_check`` (once per open store); :class:`CorruptStore` if it fails.

        Called before the first write; call it yourself to check a wallet that is only read.
        """
        if self._checked:
            return
        with translate_db_errors():
            check = self.db.conn.execute("PRAGMA quick_check(1)").fetchone()
        if not check or check[0] != "ok":
            raise CorruptStore(f"the wallet database failed its integrity check: {check[0] if check else '?'}")
        self._checked = True

    def migrate(self, version: int) -> None:
        """Bring a schema-``version`` database up to :data:`SCHEMA_VERSION` in one transaction."""
        with self.transaction() as db:
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step]:
                    if not self._has_column_added_by(statement):
                        db.conn.execute(statement)
            self.set_meta("schema", str(SCHEMA_VERSION))

    def _has_column_added_by(self, statement: str) -> bool:
        """Whether ``ALTER TABLE t ADD COLUMN c ...`` was already applied (so a step can run twice)."""
        match = _ADD_COLUMN.match(statement)
        if match is None:
            return False
        columns = {row[1] for row in self.db.conn.execute(f"PRAGMA table_info({match[1]})").fetchall()}
        return match[2] in columns

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One atomic change (nested calls become savepoints); the first one runs :meth:`verify`."""
        with translate_db_errors():
            self.verify()
            with self.db.atomic():
                yield self.db

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- small helpers --------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A value from ``meta``."""
        with translate_db_errors():
            row = self.db.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        """Set a value in ``meta`` (call inside a transaction)."""
        self.db.table("meta").upsert({"key": key, "value": value}, pk="key")

    def rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """Query rows as dicts."""
        with translate_db_errors():
            return list(self.db.query(sql, params))

    def row(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        """The first row of a query, or ``None``."""
        found = self.rows(sql, params)
        return found[0] if found else None

    def count(self, table: str, where: str = "") -> int:
        """How many rows of ``table`` (one of :data:`TABLES`) match the SQL condition ``where``."""
        if table not in TABLES:
            raise ValueError(f"no table {table!r}")
        found = self.row(f"SELECT COUNT(*) AS n FROM {table}" + (f" WHERE {where}" if where else ""))
        return int(found["n"]) if found else 0

    # -- one consent: the rows the wallet's front door reads and writes ----------------------

    def delivery(self, consent_id: str) -> Delivery:
        """What is sent when a stored consent is delivered, and where to."""
        row = self.row("SELECT raw, callback FROM consents WHERE id = ?", (consent_id,))
        if row is None:
            raise NotFound(f"no consent {consent_id}")
        return Delivery(raw=bytes(row["raw"]), callback=str(row["callback"]))

    def credential(self, consent_id: str) -> bytes:
        """A stored consent's credential, byte for byte."""
        row = self.row("SELECT raw FROM consents WHERE id = ?", (consent_id,))
        if row is None:
            raise NotFound(f"no consent {consent_id}")
        return bytes(row["raw"])

    def set_delivered(self, consent_id: str, error: str | None = None) -> None:
        """Record a delivery: taken (``error`` ``None``) or refused with ``error`` (call inside a transaction)."""
        self.db.conn.execute("UPDATE consents SET delivered = ?, delivery_error = ? WHERE id = ?",
                             (int(error is None), error, consent_id))

    def entry(self, consent_id: str) -> ConsentEntry:
        """A consent's state and its entry in the wallet's status list."""
        row = self.row("SELECT state, list_id, idx FROM consents WHERE id = ?", (consent_id,))
        if row is None:
            raise NotFound(f"no consent {consent_id}")
        return ConsentEntry(state=str(row["state"]), list_id=str(row["list_id"]), idx=int(row["idx"]))

    def set_state(self, consent_id: str, state: str) -> None:
        """Set a consent's state (call inside a transaction, with its status list entry)."""
        self.db.conn.execute("UPDATE consents SET state = ? WHERE id = ?", (state, consent_id))

    def as_received(self, consent_id: str) -> AsReceived:
        """A consent's credential and the request it answered, as stored, and where the request came from."""
        row = self.row("SELECT c.raw AS credential, r.raw AS request, r.source AS source FROM consents c "
                       "JOIN requests r ON r.cid = c.request_cid WHERE c.id = ?", (consent_id,))
        if row is None:
            raise NotFound(f"no consent {consent_id}")
        return AsReceived(credential=bytes(row["credential"]), request=bytes(row["request"]),
                          source=str(row["source"]))

    def events(self, consent_id: str) -> list[StatusEvent]:
        """A consent's status changes, oldest first."""
        return [StatusEvent(status=str(r["status"]), at=int(r["at"]), iat=int(r["iat"]),
                            published_at=None if r["published_at"] is None else int(r["published_at"]))
                for r in self.rows("SELECT status, at, iat, published_at FROM events WHERE consent_id = ? "
                                   "ORDER BY seq", (consent_id,))]

    def revocations(self) -> dict[str, int]:
        """When each revoked consent was revoked (the time of its last ``revoked`` event); consents
        never revoked are absent."""
        rows = self.rows("SELECT consent_id, MAX(at) AS at FROM events WHERE status = 'revoked' GROUP BY consent_id")
        return {str(r["consent_id"]): int(r["at"]) for r in rows}

    def add_consent(self, consent: ConsentCredential, request: ConsentRequest, *, requester_name: Mapping[str, str],
                    verified: bool, holder_name: Mapping[str, str] | None, list_id: str) -> None:
        """Keep a signed consent (decoded, so with its bytes) to ``request``, ``active`` and not
        delivered yet, with the names shown for its parties and its status list (call inside a
        transaction, with its status event)."""
        self.db.table("consents").insert({
            "id": consent.cid, "raw": consent.raw, "request_cid": request.cid, "requester": request.requester,
            "requester_name": dumps(dict(requester_name)), "verified": int(verified), "holder": request.holder,
            "holder_name": dumps(dict(holder_name)) if holder_name is not None else None,
            "holder_url": request.holder_url, "items": dumps(list(consent.items)),
            "purposes": dumps(list(consent.purposes)), "lang": consent.lang, "issued_at": consent.issued_at,
            "expires_at": consent.expires_at, "list_id": list_id, "idx": consent.status.index, "state": "active",
            "callback": request.callback, "delivered": 0, "delivery_error": None,
        })

    def live_consents(self, relationship: int, *, until: int) -> list[LiveConsent]:
        """The consents in the status lists of ``relationship`` still in force (``active`` or
        ``suspended``) and valid past ``until``, oldest first."""
        rows = self.rows(
            "SELECT c.id, c.raw, c.state, c.list_id, c.idx FROM consents c JOIN lists l ON l.id = c.list_id "
            "WHERE l.relationship = ? AND c.state IN ('active', 'suspended') AND c.expires_at > ? "
            "AND c.raw IS NOT NULL ORDER BY c.issued_at", (relationship, until))
        return [LiveConsent(id=str(r["id"]), raw=bytes(r["raw"]), state=str(r["state"]), list_id=str(r["list_id"]),
                            idx=int(r["idx"])) for r in rows]

    def add_renewal(self, old_id: str, *, consent_id: str, raw: bytes, list_id: str, idx: int, issued_at: int) -> None:
        """Keep consent ``consent_id`` (credential ``raw``, entry ``idx`` of ``list_id``, issued at
        ``issued_at``) as a copy of consent ``old_id`` re-signed: the same request, parties, names,
        items, purposes, language, end of validity, state and callback; not delivered yet (call
        inside a transaction)."""
        self.db.conn.execute(
            "INSERT INTO consents (id, raw, request_cid, requester, requester_name, verified, holder, holder_name, "
            "holder_url, items, purposes, lang, issued_at, expires_at, list_id, idx, state, callback, delivered, "
            "delivery_error) SELECT ?, ?, request_cid, requester, requester_name, verified, holder, holder_name, "
            "holder_url, items, purposes, lang, ?, expires_at, ?, ?, state, callback, 0, NULL FROM consents "
            "WHERE id = ?", (consent_id, raw, issued_at, list_id, idx, old_id))

    def request_cid(self, consent_id: str) -> str:
        """The CID of the request a stored consent answered."""
        row = self.row("SELECT request_cid FROM consents WHERE id = ?", (consent_id,))
        if row is None:
            raise NotFound(f"no consent {consent_id}")
        return str(row["request_cid"])

    # -- received requests and decisions ----------------------------------------------------

    def request(self, cid: str) -> ReceivedRequest:
        """A kept request, by its CID."""
        row = self.row("SELECT cid, raw, source, received_at, requester, decision, decided_at, lang "
                       "FROM requests WHERE cid = ?", (cid,))
        if row is None:
            raise NotFound(f"no received request {cid}")
        return ReceivedRequest(
            cid=str(row["cid"]), raw=bytes(row["raw"]), source=str(row["source"]),
            received_at=int(row["received_at"]), requester=str(row["requester"]), decision=str(row["decision"]),
            decided_at=None if row["decided_at"] is None else int(row["decided_at"]),
            lang=None if row["lang"] is None else str(row["lang"]))

    def decision(self, cid: str) -> str | None:
        """The decision on a kept request (``pending``, ``accepted``, ``declined``); ``None`` if not kept."""
        row = self.row("SELECT decision FROM requests WHERE cid = ?", (cid,))
        return None if row is None else str(row["decision"])

    def keep_request(self, request: ConsentRequest, *, source: str, lang: str, at: int) -> None:
        """Keep a request (the first time it is received) and, while it is pending, the language it
        is shown in (call inside a transaction)."""
        self.db.conn.execute(
            "INSERT OR IGNORE INTO requests (cid, raw, source, received_at, requester) VALUES (?, ?, ?, ?, ?)",
            (request.cid, request.raw, source, at, request.requester))
        self.db.conn.execute("UPDATE requests SET lang = ? WHERE cid = ? AND decision = 'pending'",
                             (lang, request.cid))

    def decide(self, cid: str, decision: str, *, at: int, lang: str) -> None:
        """Record the user's decision (``accepted`` or ``declined``) on a kept request, when, and in
        which language (call inside a transaction)."""
        if decision not in ("accepted", "declined"):
            raise ValueError(f"no decision {decision!r}")
        self.db.conn.execute("UPDATE requests SET decision = ?, decided_at = ?, lang = ? WHERE cid = ?",
                             (decision, at, lang, cid))

    # -- backups ----------------------------------------------------------------------------

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table (for backups)."""
        return {table: self.rows(f"SELECT * FROM {table} ORDER BY rowid") for table in TABLES}

    def load(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Insert a :meth:`dump` into this (new) database, in one transaction."""
        with self.transaction() as db:
            db.conn.execute("DELETE FROM meta")
            for table in TABLES:
                rows = tables.get(table, [])
                if rows:
                    db.table(table).insert_all(rows)
            # the tables were created at this version; rows of an older one fit them (new columns
            # have defaults, new indexes are built on insert)
            self.set_meta("schema", str(SCHEMA_VERSION))


def dumps(value: Any) -> str:
    """Compact JSON for list-valued columns."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
