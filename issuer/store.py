"""The issuer's storage: published requests, consents received, recipient records.

:class:`IssuerStorage` is the interface; :class:`IssuerStore` keeps it in one SQLite file (the
default), :class:`issuer.pg_store.PostgresIssuerStore` in PostgreSQL for several instances of
one issuer; :func:`open_store` picks one from a ``--db`` value.  The same tests run on both.

A company must be able to show, per customer account, which consent it holds and what it
received under it, so every row carries the company's own ``account`` id for that user.  The
file lives in the service's home folder, in WAL mode so the status watcher can write while
pages read.

Opening an older file adds the columns a newer version introduced (empty for old rows), so a
company's existing records stay readable: the recipient records gained the provider's address,
its representative and how it acquired the data (APPI Art. 30(1)).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from common import private_file
from protocol import ConsentCredential, ConsentRequest, NotFound

__all__ = ["IssuerStorage", "IssuerStore", "StoredConsent", "StoredRequest", "open_store"]

SCHEMA: dict[str, tuple[dict[str, Any], str]] = {
    "requests": ({"id": str, "account": str, "cid": str, "raw": bytes, "issued_at": int,
                  "expires_at": int, "answered": int}, "id"),
    "consents": ({"id": str, "account": str, "request_id": str, "user": str, "items": str,
                  "purposes": str, "raw": bytes, "received_at": int, "expires_at": int,
                  "status_uri": str, "status_index": int, "status_key": str, "state": str,
                  "state_detail": str, "state_checked_at": int}, "id"),
    "records": ({"id": int, "received_at": int, "provider": str, "provider_name": str,
                 "provider_address": str, "provider_representative": str, "acquisition": str,
                 "person": str, "account": str, "items": str, "purpose": str,
                 "obtained_by": str, "consent_id": str}, "id"),
    "meta": ({"key": str, "value": str}, "key"),
}


@dataclass(frozen=True)
class StoredRequest:
    """A request this issuer published, and the account it was made for."""

    id: str
    account: str
    cid: str
    raw: bytes
    issued_at: int
    expires_at: int
    answered: bool

    @property
    def request(self) -> ConsentRequest:
        """The signed request, decoded (our own bytes, so this cannot fail in practice)."""
        return ConsentRequest.decode(self.raw)


@dataclass(frozen=True)
class StoredConsent:
    """A consent credential received for one of our accounts, with its last known state."""

    id: str
    account: str
    request_id: str
    user: str
    items: tuple[str, ...]
    purposes: tuple[str, ...]
    raw: bytes
    received_at: int
    expires_at: int
    status_uri: str
    status_index: int
    status_key: str
    state: str
    state_detail: str
    state_checked_at: int

    @property
    def credential(self) -> ConsentCredential:
        """The signed credential, decoded again."""
        return ConsentCredential.decode(self.raw)

    def to_json(self) -> dict[str, Any]:
        """A JSON view without the credential bytes."""
        return {
            "consent_id": self.id, "account": self.account, "request_id": self.request_id,
            "user": self.user, "items": list(self.items), "purposes": list(self.purposes),
            "received_at": self.received_at, "expires_at": self.expires_at,
            "status": {"uri": self.status_uri, "index": self.status_index},
            "state": self.state, "state_detail": self.state_detail,
            "state_checked_at": self.state_checked_at,
        }


class IssuerStorage(Protocol):
    """What the issuer keeps, whatever the engine; every method is safe across threads."""

    def close(self) -> None:
        """Release the database."""

    def add_request(self, request: ConsentRequest, account: str) -> StoredRequest:
        """Keep a signed request, published for ``account``."""

    def request(self, request_id: str) -> StoredRequest:
        """The request with this hex id, or ``not_found``."""

    def request_by_cid(self, cid: str) -> StoredRequest | None:
        """The request whose signed bytes have this CID."""

    def open_request(self, account: str, now: int, margin: int = 120) -> StoredRequest | None:
        """An unanswered request for ``account`` still good for ``margin`` seconds, if any."""

    def add_consent(self, credential: ConsentCredential, request: StoredRequest, now: int,
                    state: str = "unknown") -> StoredConsent:
        """Keep a verified credential for the request's account and mark the request answered (one transaction)."""

    def consent(self, consent_id: str) -> StoredConsent:
        """The consent with this id (CID), or ``not_found``."""

    def consent_for_request(self, request_id: str) -> StoredConsent | None:
        """The consent that answered this request, if one did."""

    def consents_for_request(self, request_id: str) -> list[StoredConsent]:
        """Every consent that answered this request: the first, and any re-signed after a key replacement."""

    def consents(self, account: str | None = None) -> list[StoredConsent]:
        """Every consent held (newest first; of two received in one second, the later stored first),
        or only those of ``account``."""

    def consents_on_list(self, uri: str) -> list[StoredConsent]:
        """The consents whose status lives in the list at ``uri``."""

    def status_uris(self) -> list[str]:
        """Every distinct status list URI our consents point to."""

    def set_state(self, consent_id: str, state: str, detail: str, now: int) -> None:
        """Record the last known status of a consent (``valid``, ``revoked``, ...)."""

    def add_record(self, row: dict[str, Any]) -> int:
        """Append one recipient record; returns its id."""

    def records(self, account: str | None = None) -> Iterator[dict[str, Any]]:
        """Recipient records in the order they were written."""

    def get_meta(self, key: str) -> str | None:
        """A small persistent setting (e.g. the last registry event id seen)."""

    def set_meta(self, key: str, value: str) -> None:
        """Set a small persistent setting."""


def open_store(location: str | Path) -> IssuerStorage:
    """A PostgreSQL store for a ``postgresql://`` URL, else the SQLite file at ``location``."""
    from storage import is_postgres

    if is_postgres(location):
        from .pg_store import PostgresIssuerStore

        return PostgresIssuerStore(str(location))
    return IssuerStore(location)


class IssuerStore:
    """:class:`IssuerStorage` in ``issuer.db`` (one connection, one lock: one instance's file)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        private_file(self.path)  # missing folders 0700, the database 0600
        conn = sqlite3.connect(str(self.path), check_same_thread=False)  # guarded by self._lock
        self._db = sqlite_utils.Database(conn)
        self._db.enable_wal()
        self._lock = threading.RLock()
        with self._lock:
            for name, (columns, pk) in SCHEMA.items():
                self._db[name].create(columns, pk=pk, if_not_exists=True)  # type: ignore[union-attr]
                _add_missing_columns(self._db[name], columns)  # type: ignore[arg-type]
            self._db["consents"].create_index(["account"], if_not_exists=True)  # type: ignore[union-attr]
            self._db["consents"].create_index(["status_uri"], if_not_exists=True)  # type: ignore[union-attr]
            self._db["requests"].create_index(["cid"], unique=True, if_not_exists=True)  # type: ignore[union-attr]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------ requests

    def add_request(self, request: ConsentRequest, account: str) -> StoredRequest:
        """Keep a signed request, published for ``account``."""
        row = {"id": request.request_id.hex(), "account": account, "cid": request.cid,
               "raw": request.raw, "issued_at": request.issued_at,
               "expires_at": request.expires_at, "answered": 0}
        with self._lock:
            self._db["requests"].insert(row)  # type: ignore[union-attr]
        return _request(row)

    def request(self, request_id: str) -> StoredRequest:
        """The request with this hex id, or ``not_found``."""
        with self._lock:
            rows = list(self._db["requests"].rows_where("id = ?", [request_id], limit=1))
        if not rows:
            raise NotFound(f"no request {request_id[:40]!r}")
        return _request(rows[0])

    def request_by_cid(self, cid: str) -> StoredRequest | None:
        """The request whose signed bytes have this CID."""
        with self._lock:
            rows = list(self._db["requests"].rows_where("cid = ?", [cid], limit=1))
        return _request(rows[0]) if rows else None

    def open_request(self, account: str, now: int, margin: int = 120) -> StoredRequest | None:
        """An unanswered request for ``account`` still good for ``margin`` seconds, if any."""
        with self._lock:
            rows = list(self._db["requests"].rows_where(
                "account = ? and answered = 0 and expires_at > ?", [account, now + margin],
                order_by="issued_at desc", limit=1))
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
        with self._lock, self._db.conn:
            self._db["consents"].insert(row)  # type: ignore[union-attr]
            self._db["requests"].update(request.id, {"answered": 1})  # type: ignore[union-attr]
        return _consent(row)

    def consent(self, consent_id: str) -> StoredConsent:
        """The consent with this id (CID), or ``not_found``."""
        with self._lock:
            rows = list(self._db["consents"].rows_where("id = ?", [consent_id], limit=1))
        if not rows:
            raise NotFound(f"no consent {consent_id[:80]!r}")
        return _consent(rows[0])

    def consent_for_request(self, request_id: str) -> StoredConsent | None:
        """The consent that answered this request, if one did."""
        with self._lock:
            rows = list(self._db["consents"].rows_where("request_id = ?", [request_id], limit=1))
        return _consent(rows[0]) if rows else None

    def consents_for_request(self, request_id: str) -> list[StoredConsent]:
        """Every consent that answered this request: the first, and any re-signed after a key replacement."""
        with self._lock:
            rows = list(self._db["consents"].rows_where("request_id = ?", [request_id], order_by="received_at, id"))
        return [_consent(r) for r in rows]

    def consents(self, account: str | None = None) -> list[StoredConsent]:
        """Every consent held (newest first), or only those of ``account``."""
        where, args = ("account = ?", [account]) if account is not None else (None, [])
        with self._lock:
            rows = list(self._db["consents"].rows_where(where, args, order_by="received_at desc, rowid desc"))
        return [_consent(r) for r in rows]

    def consents_on_list(self, uri: str) -> list[StoredConsent]:
        """The consents whose status lives in the list at ``uri``."""
        with self._lock:
            rows = list(self._db["consents"].rows_where("status_uri = ?", [uri]))
        return [_consent(r) for r in rows]

    def status_uris(self) -> list[str]:
        """Every distinct status list URI our consents point to."""
        with self._lock:
            return [r[0] for r in self._db.execute("select distinct status_uri from consents").fetchall()]

    def set_state(self, consent_id: str, state: str, detail: str, now: int) -> None:
        """Record the last known status of a consent (``valid``, ``revoked``, ...)."""
        with self._lock:
            self._db["consents"].update(  # type: ignore[union-attr]
                consent_id, {"state": state, "state_detail": detail, "state_checked_at": now})

    # ------------------------------------------------------------ records and metadata

    def add_record(self, row: dict[str, Any]) -> int:
        """Append one recipient record; returns its id."""
        with self._lock:
            table = self._db["records"]
            table.insert(row)  # type: ignore[union-attr]
            return int(table.last_pk)  # type: ignore[union-attr,arg-type]

    def records(self, account: str | None = None) -> Iterator[dict[str, Any]]:
        """Recipient records in the order they were written."""
        where, args = ("account = ?", [account]) if account is not None else (None, [])
        with self._lock:
            rows = list(self._db["records"].rows_where(where, args, order_by="id"))
        yield from rows

    def get_meta(self, key: str) -> str | None:
        """A small persistent setting (e.g. the last registry event id seen)."""
        with self._lock:
            rows = list(self._db["meta"].rows_where("key = ?", [key], limit=1))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a small persistent setting."""
        with self._lock:
            self._db["meta"].upsert({"key": key, "value": value}, pk="key")  # type: ignore[union-attr]


def _add_missing_columns(table: sqlite_utils.db.Table, columns: dict[str, Any]) -> None:
    """Migrate a table made by an older version: new columns get an empty default."""
    present = set(table.columns_dict)
    for column, kind in columns.items():
        if column not in present:
            table.add_column(column, kind, not_null_default="" if kind is str else 0)


def _request(row: dict[str, Any]) -> StoredRequest:
    return StoredRequest(row["id"], row["account"], row["cid"], row["raw"], row["issued_at"],
                         row["expires_at"], bool(row["answered"]))


def _consent(row: dict[str, Any]) -> StoredConsent:
    return StoredConsent(
        id=row["id"], account=row["account"], request_id=row["request_id"], user=row["user"],
        items=tuple(json.loads(row["items"])), purposes=tuple(json.loads(row["purposes"])),
        raw=row["raw"], received_at=row["received_at"], expires_at=row["expires_at"],
        status_uri=row["status_uri"], status_index=row["status_index"],
        status_key=row["status_key"], state=row["state"], state_detail=row["state_detail"],
        state_checked_at=row["state_checked_at"],
    )
