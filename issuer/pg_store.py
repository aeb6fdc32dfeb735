"""The issuer's records on PostgreSQL: the same :class:`~issuer.store.IssuerStorage` as the
SQLite file, for a company running its issuer on several instances over one database.

Tables and columns are those of :data:`issuer.store.SCHEMA` (created by the recorded migrations
in :data:`MIGRATIONS`); the status watchers of every instance write the same consent states,
which is harmless (each write is the state of one verified list).  psycopg errors become
:class:`~protocol.errors.Unavailable` (HTTP 503) here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from protocol import ConsentCredential, ConsentRequest, NotFound
from storage import Migration, describe, migrate_postgres, open_pool, pg_errors

from .store import StoredConsent, StoredRequest, _consent, _request

__all__ = ["MIGRATIONS", "PostgresIssuerStore"]

_ERR = "issuer database error"
_MIGRATE_LOCK = 0x636F70_7969_7373

_POSTGRES_1 = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY, account TEXT, cid TEXT, raw BYTEA, issued_at BIGINT, expires_at BIGINT,
    answered BIGINT
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_requests_cid ON requests (cid);
CREATE TABLE IF NOT EXISTS consents (
    id TEXT PRIMARY KEY, account TEXT, request_id TEXT, "user" TEXT, items TEXT, purposes TEXT,
    raw BYTEA, received_at BIGINT, expires_at BIGINT, status_uri TEXT, status_index BIGINT,
    status_key TEXT, state TEXT, state_detail TEXT, state_checked_at BIGINT,
    stored BIGSERIAL
);
CREATE INDEX IF NOT EXISTS idx_consents_account ON consents (account);
CREATE INDEX IF NOT EXISTS idx_consents_status_uri ON consents (status_uri);
CREATE TABLE IF NOT EXISTS records (
    id BIGSERIAL PRIMARY KEY, received_at BIGINT, provider TEXT, provider_name TEXT,
    provider_address TEXT, provider_representative TEXT, acquisition TEXT, person TEXT,
    account TEXT, items TEXT, purpose TEXT, obtained_by TEXT, consent_id TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)
"""

#: The issuer's PostgreSQL schema steps, oldest first (the SQLite file is made from ``SCHEMA``).
MIGRATIONS = (Migration("0001_requests_consents_records_meta", "", _POSTGRES_1),)

_REQUEST = "id, account, cid, raw, issued_at, expires_at, answered"
_CONSENT = ('id, account, request_id, "user", items, purposes, raw, received_at, expires_at, status_uri, '
            "status_index, status_key, state, state_detail, state_checked_at")
_CONSENT_KEYS = [c.strip().strip('"') for c in _CONSENT.split(",")]
_REQUEST_KEYS = [c.strip() for c in _REQUEST.split(",")]


class PostgresIssuerStore:
    """:class:`~issuer.store.IssuerStorage` over a PostgreSQL database named by a DSN."""

    def __init__(self, dsn: str, *, max_size: int = 6) -> None:
        self.where = describe(dsn)
        self._pool = open_pool(dsn, name="copyme-issuer", max_size=max_size)
        with pg_errors(f"cannot prepare the issuer database at {self.where}"):
            migrate_postgres(self._pool, MIGRATIONS, int(time.time()), _MIGRATE_LOCK)

    def close(self) -> None:
        """Close the pool."""
        self._pool.close(timeout=2)

    def _rows(self, sql: str, params: list[Any], keys: list[str]) -> list[dict[str, Any]]:
        with pg_errors(_ERR), self._pool.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [{k: bytes(v) if isinstance(v, memoryview) else v for k, v in zip(keys, r, strict=True)} for r in rows]

    def _run(self, sql: str, params: list[Any]) -> int:
        with pg_errors(_ERR), self._pool.connection() as conn:
            return int(conn.execute(sql, params).rowcount)

    # ------------------------------------------------------------ requests

    def add_request(self, request: ConsentRequest, account: str) -> StoredRequest:
        """Keep a signed request, published for ``account``."""
        row = {"id": request.request_id.hex(), "account": account, "cid": request.cid,
               "raw": request.raw, "issued_at": request.issued_at,
               "expires_at": request.expires_at, "answered": 0}
        self._run(f"INSERT INTO requests ({_REQUEST}) VALUES (%s, %s, %s, %s, %s, %s, %s)", list(row.values()))
        return _request(row)

    def request(self, request_id: str) -> StoredRequest:
        """The request with this hex id, or ``not_found``."""
        rows = self._rows(f"SELECT {_REQUEST} FROM requests WHERE id = %s", [request_id], _REQUEST_KEYS)
        if not rows:
            raise NotFound(f"no request {request_id[:40]!r}")
        return _request(rows[0])

    def request_by_cid(self, cid: str) -> StoredRequest | None:
        """The request whose signed bytes have this CID."""
        rows = self._rows(f"SELECT {_REQUEST} FROM requests WHERE cid = %s", [cid], _REQUEST_KEYS)
        return _request(rows[0]) if rows else None

    def open_request(self, account: str, now: int, margin: int = 120) -> StoredRequest | None:
        """An unanswered request for ``account`` still good for ``margin`` seconds, if any."""
        rows = self._rows(f"SELECT {_REQUEST} FROM requests WHERE account = %s AND answered = 0 AND expires_at > %s "
                          "ORDER BY issued_at DESC LIMIT 1", [account, now + margin], _REQUEST_KEYS)
        return _request(rows[0]) if rows else None

    # ------------------------------------------------------------ consents

    def add_consent(self, credential: ConsentCredential, request: StoredRequest, now: int,
                    state: str = "unknown") -> StoredConsent:
        """Keep a verified credential for the request's account and mark the request answered."""
        row = {
            "id": credential.cid, "account": request.account, "request_id": request.id,
            "user": credential.issuer, "items": json.dumps(list(credential.items)),
            "purposes": json.dumps(list(credential.purposes)), "raw": credential.raw,
            "received_at": now, "expires_at": credential.expires_at,
            "status_uri": credential.status.uri, "status_index": credential.status.index,
            "status_key": credential.status.key, "state": state, "state_detail": "",
            "state_checked_at": 0,
        }
        with pg_errors(_ERR), self._pool.connection() as conn, conn.transaction():
            conn.execute(f"INSERT INTO consents ({_CONSENT}) VALUES ({', '.join(['%s'] * 15)})",
                         [row[k] for k in _CONSENT_KEYS])
            conn.execute("UPDATE requests SET answered = 1 WHERE id = %s", [request.id])
        return _consent(row)

    def consent(self, consent_id: str) -> StoredConsent:
        """The consent with this id (CID), or ``not_found``."""
        rows = self._rows(f"SELECT {_CONSENT} FROM consents WHERE id = %s", [consent_id], _CONSENT_KEYS)
        if not rows:
            raise NotFound(f"no consent {consent_id[:80]!r}")
        return _consent(rows[0])

    def consent_for_request(self, request_id: str) -> StoredConsent | None:
        """The consent that answered this request, if one did."""
        rows = self._rows(f"SELECT {_CONSENT} FROM consents WHERE request_id = %s LIMIT 1", [request_id],
                          _CONSENT_KEYS)
        return _consent(rows[0]) if rows else None

    def consents_for_request(self, request_id: str) -> list[StoredConsent]:
        """Every consent that answered this request: the first, and any re-signed after a key replacement."""
        rows = self._rows(f"SELECT {_CONSENT} FROM consents WHERE request_id = %s ORDER BY received_at, id",
                          [request_id], _CONSENT_KEYS)
        return [_consent(r) for r in rows]

    def consents(self, account: str | None = None) -> list[StoredConsent]:
        """Every consent held (newest first; of two received in one second, the later stored first),
        or only those of ``account``."""
        if account is None:
            rows = self._rows(f"SELECT {_CONSENT} FROM consents ORDER BY received_at DESC, stored DESC", [],
                              _CONSENT_KEYS)
        else:
            rows = self._rows(f"SELECT {_CONSENT} FROM consents WHERE account = %s "
                              "ORDER BY received_at DESC, stored DESC", [account], _CONSENT_KEYS)
        return [_consent(r) for r in rows]

    def consents_on_list(self, uri: str) -> list[StoredConsent]:
        """The consents whose status lives in the list at ``uri``."""
        rows = self._rows(f"SELECT {_CONSENT} FROM consents WHERE status_uri = %s", [uri], _CONSENT_KEYS)
        return [_consent(r) for r in rows]

    def status_uris(self) -> list[str]:
        """Every distinct status list URI our consents point to."""
        return [r["u"] for r in self._rows("SELECT DISTINCT status_uri FROM consents", [], ["u"])]

    def set_state(self, consent_id: str, state: str, detail: str, now: int) -> None:
        """Record the last known status of a consent (``valid``, ``revoked``, ...)."""
        self._run("UPDATE consents SET state = %s, state_detail = %s, state_checked_at = %s WHERE id = %s",
                  [state, detail, now, consent_id])

    # ------------------------------------------------------------ records and metadata

    def add_record(self, row: dict[str, Any]) -> int:
        """Append one recipient record; returns its id."""
        names = [k for k in row if k != "id"]
        with pg_errors(_ERR), self._pool.connection() as conn:
            found = conn.execute(
                f"INSERT INTO records ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) RETURNING id",
                [row[k] for k in names]).fetchone()
        return int(found[0])

    def records(self, account: str | None = None) -> Iterator[dict[str, Any]]:
        """Recipient records in the order they were written."""
        keys = ["id", "received_at", "provider", "provider_name", "provider_address", "provider_representative",
                "acquisition", "person", "account", "items", "purpose", "obtained_by", "consent_id"]
        sql = f"SELECT {', '.join(keys)} FROM records"
        if account is None:
            yield from self._rows(sql + " ORDER BY id", [], keys)
        else:
            yield from self._rows(sql + " WHERE account = %s ORDER BY id", [account], keys)

    def get_meta(self, key: str) -> str | None:
        """A small persistent setting (e.g. the last registry event id seen)."""
        rows = self._rows("SELECT value FROM meta WHERE key = %s", [key], ["value"])
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a small persistent setting."""
        self._run("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                  [key, value])
