"""The issuer's storage: published requests, consents received, recipient records, rights requests.

:class:`IssuerStorage` is the interface; :class:`SqlIssuerStore` keeps it in SQL written once for
both engines of :mod:`issuer.engines`: :class:`IssuerStore` is one SQLite file (the default),
:class:`PostgresIssuerStore` a PostgreSQL database shared by several instances of one issuer;
:func:`open_store` picks one from a ``--db`` value.  The schema is the recorded steps of
:mod:`issuer.migrations`, the same on both; the same tests run on both.

A company must be able to show, per customer account, which consent it holds, what it received
under it, and what the user asked it to stop or erase, so every row carries the company's own
``account`` id for that user.  Rows cross this boundary as frozen dataclasses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from protocol import ConsentCredential, ConsentRequest, NotFound, Replayed

from .engines import Engine, PostgresEngine, SqliteEngine

__all__ = [
    "CopiedItem",
    "IssuerStorage",
    "IssuerStore",
    "PostgresIssuerStore",
    "SqlIssuerStore",
    "StoredConsent",
    "StoredRequest",
    "StoredRights",
    "open_store",
]


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
    #: When a wallet told us the user declined this request (0: not declined).
    declined_at: int = 0

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
    #: The id of the consent this one replaced (a re-consent or renewal), or "".
    replaces: str = ""

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
            "state_checked_at": self.state_checked_at, "replaces": self.replaces or None,
        }


@dataclass(frozen=True)
class StoredRights:
    """A rights request received, our signed acknowledgement and (once done) our completion."""

    id: str
    consent_id: str
    account: str
    user: str
    cti: str
    kind: str
    raw: bytes
    received_at: int
    due_at: int
    ack: bytes
    done: bytes = b""
    done_at: int = 0
    erased_items: tuple[str, ...] = ()
    erased_records: int = 0

    def state(self, now: int) -> str:
        """``done``, ``overdue`` (past its due date and not done) or ``pending``."""
        if self.done:
            return "done"
        return "overdue" if now >= self.due_at else "pending"

    def to_json(self, now: int) -> dict[str, Any]:
        """The JSON view for the company's API and CLI (no signed bytes)."""
        return {"rights_id": self.id, "consent_id": self.consent_id, "account": self.account,
                "user": self.user, "kind": self.kind, "state": self.state(now),
                "received_at": self.received_at, "due_at": self.due_at, "done_at": self.done_at or None,
                "erased_items": list(self.erased_items), "erased_records": self.erased_records}


@dataclass(frozen=True)
class CopiedItem:
    """One data item copied from the holder under a consent, as the company keeps it."""

    consent_id: str
    account: str
    item: str
    value: Any
    copied_at: int

    def to_json(self) -> dict[str, Any]:
        """The JSON view."""
        return {"consent_id": self.consent_id, "account": self.account, "item": self.item,
                "value": self.value, "copied_at": self.copied_at}


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
        """An unanswered, undeclined request for ``account`` still good for ``margin`` seconds, if any."""

    def set_declined(self, request_id: str, now: int) -> StoredRequest:
        """Record that the user declined this request (the first time only)."""

    def declined(self, account: str | None = None) -> list[StoredRequest]:
        """Requests the users declined (of ``account``), newest first."""

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

    def add_rights(self, rights: StoredRights) -> StoredRights:
        """Keep a rights request and our acknowledgement; ``replayed`` if its id or (user, cti) is known."""

    def rights_seen(self, user: str, cti: str) -> bool:
        """Whether a rights request with this id was already received from ``user``."""

    def rights(self, rights_id: str) -> StoredRights:
        """The rights request with this id (its CID), or ``not_found``."""

    def rights_list(self, *, account: str | None = None, consent_id: str | None = None,
                    open_only: bool = False) -> list[StoredRights]:
        """Rights requests received, oldest first; only unfinished ones with ``open_only``."""

    def finish_rights(self, rights_id: str, done: bytes, done_at: int, erased_items: tuple[str, ...],
                      erased_records: int) -> StoredRights:
        """Record our signed completion of a rights request (once: a second call changes nothing)."""

    def keep_copied(self, consent_id: str, account: str, items: dict[str, Any], now: int) -> None:
        """Keep the items just copied under a consent (each item's latest copy)."""

    def copied(self, *, account: str | None = None, consent_id: str | None = None) -> list[CopiedItem]:
        """The data we keep, copied from the holder (for an account or a consent)."""

    def erase_copied(self, consent_id: str) -> tuple[tuple[str, ...], int]:
        """Delete everything copied under a consent; returns the items and how many rows went."""


def open_store(location: str | Path) -> IssuerStorage:
    """A PostgreSQL store for a ``postgresql://`` URL, else the SQLite file at ``location``."""
    from storage import is_postgres

    if is_postgres(location):
        return PostgresIssuerStore(str(location))
    return IssuerStore(location)


_REQUEST = "id, account, cid, raw, issued_at, expires_at, answered, declined_at"
_CONSENT = ('id, account, request_id, "user", items, purposes, raw, received_at, expires_at, status_uri, '
            "status_index, status_key, state, state_detail, state_checked_at, replaces")
_RIGHTS = ('id, consent_id, account, "user", cti, kind, raw, received_at, due_at, ack, done, done_at, '
           "erased_items, erased_records")
_RECORD = ("id, received_at, provider, provider_name, provider_address, provider_representative, "
           "acquisition, person, account, items, purpose, obtained_by, consent_id")


def _marks(columns: str) -> str:
    return ", ".join("?" for _ in columns.split(","))


def _where(**equal: str | None) -> tuple[str, list[Any]]:
    """``column = ?`` for each value given (``None``: any), joined with AND, and the values."""
    given = {column: value for column, value in equal.items() if value is not None}
    return " AND ".join(["1 = 1", *(f"{column} = ?" for column in given)]), list(given.values())


class SqlIssuerStore:
    """:class:`IssuerStorage` in SQL that both engines run (see :mod:`issuer.engines`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        """Release the database."""
        self.engine.close()

    # ------------------------------------------------------------ requests

    def add_request(self, request: ConsentRequest, account: str) -> StoredRequest:
        """Keep a signed request, published for ``account``."""
        stored = StoredRequest(request.request_id.hex(), account, request.cid, request.raw,
                               request.issued_at, request.expires_at, False, 0)
        self.engine.run(f"INSERT INTO requests ({_REQUEST}) VALUES ({_marks(_REQUEST)})",
                        [stored.id, account, stored.cid, stored.raw, stored.issued_at, stored.expires_at, 0, 0])
        return stored

    def request(self, request_id: str) -> StoredRequest:
        """The request with this hex id, or ``not_found``."""
        found = self._requests("id = ?", [request_id])
        if not found:
            raise NotFound(f"no request {request_id[:40]!r}")
        return found[0]

    def request_by_cid(self, cid: str) -> StoredRequest | None:
        """The request whose signed bytes have this CID."""
        found = self._requests("cid = ?", [cid])
        return found[0] if found else None

    def open_request(self, account: str, now: int, margin: int = 120) -> StoredRequest | None:
        """An unanswered, undeclined request for ``account`` still good for ``margin`` seconds, if any."""
        found = self._requests("account = ? AND answered = 0 AND declined_at = 0 AND expires_at > ? "
                               "ORDER BY issued_at DESC LIMIT 1", [account, now + margin])
        return found[0] if found else None

    def set_declined(self, request_id: str, now: int) -> StoredRequest:
        """Record that the user declined this request (the first time only)."""
        self.engine.run("UPDATE requests SET declined_at = ? WHERE id = ? AND declined_at = 0", [now, request_id])
        return self.request(request_id)

    def declined(self, account: str | None = None) -> list[StoredRequest]:
        """Requests the users declined (of ``account``), newest first."""
        if account is None:
            return self._requests("declined_at > 0 ORDER BY declined_at DESC", [])
        return self._requests("declined_at > 0 AND account = ? ORDER BY declined_at DESC", [account])

    def _requests(self, where: str, params: Sequence[Any]) -> list[StoredRequest]:
        rows = self.engine.rows(f"SELECT {_REQUEST} FROM requests WHERE {where}", params)
        return [StoredRequest(r["id"], r["account"], r["cid"], r["raw"], r["issued_at"], r["expires_at"],
                              bool(r["answered"]), r["declined_at"] or 0) for r in rows]

    # ------------------------------------------------------------ consents

    def add_consent(self, credential: ConsentCredential, request: StoredRequest, now: int,
                    state: str = "unknown") -> StoredConsent:
        """Keep a verified credential for the request's account and mark the request answered."""
        stored = StoredConsent(
            id=credential.cid, account=request.account, request_id=request.id, user=credential.issuer,
            items=tuple(credential.items), purposes=tuple(credential.purposes), raw=credential.raw,
            received_at=now, expires_at=credential.expires_at, status_uri=credential.status.uri,
            status_index=credential.status.index, status_key=credential.status.key, state=state,
            state_detail="", state_checked_at=0, replaces=request.request.replaces_cid or "",
        )
        values = [stored.id, stored.account, stored.request_id, stored.user, json.dumps(list(stored.items)),
                  json.dumps(list(stored.purposes)), stored.raw, now, stored.expires_at, stored.status_uri,
                  stored.status_index, stored.status_key, state, "", 0, stored.replaces]
        with self.engine.transaction() as tx:
            tx.run(f"INSERT INTO consents ({_CONSENT}) VALUES ({_marks(_CONSENT)})", values)
            tx.run("UPDATE requests SET answered = 1 WHERE id = ?", [request.id])
        return stored

    def consent(self, consent_id: str) -> StoredConsent:
        """The consent with this id (CID), or ``not_found``."""
        found = self._consents("id = ?", [consent_id])
        if not found:
            raise NotFound(f"no consent {consent_id[:80]!r}")
        return found[0]

    def consent_for_request(self, request_id: str) -> StoredConsent | None:
        """The consent that answered this request, if one did."""
        found = self._consents("request_id = ? LIMIT 1", [request_id])
        return found[0] if found else None

    def consents_for_request(self, request_id: str) -> list[StoredConsent]:
        """Every consent that answered this request: the first, and any re-signed after a key replacement."""
        return self._consents("request_id = ? ORDER BY received_at, id", [request_id])

    def consents(self, account: str | None = None) -> list[StoredConsent]:
        """Every consent held (newest first; of two received in one second, the later stored first),
        or only those of ``account``."""
        order = f"ORDER BY received_at DESC, {self.engine.insertion_order} DESC"
        if account is None:
            return self._consents(f"1 = 1 {order}", [])
        return self._consents(f"account = ? {order}", [account])

    def consents_on_list(self, uri: str) -> list[StoredConsent]:
        """The consents whose status lives in the list at ``uri``."""
        return self._consents("status_uri = ?", [uri])

    def status_uris(self) -> list[str]:
        """Every distinct status list URI our consents point to."""
        return [str(r["status_uri"]) for r in self.engine.rows("SELECT DISTINCT status_uri FROM consents")]

    def set_state(self, consent_id: str, state: str, detail: str, now: int) -> None:
        """Record the last known status of a consent (``valid``, ``revoked``, ...)."""
        self.engine.run("UPDATE consents SET state = ?, state_detail = ?, state_checked_at = ? WHERE id = ?",
                        [state, detail, now, consent_id])

    def _consents(self, where: str, params: Sequence[Any]) -> list[StoredConsent]:
        rows = self.engine.rows(f"SELECT {_CONSENT} FROM consents WHERE {where}", params)
        return [StoredConsent(
            id=r["id"], account=r["account"], request_id=r["request_id"], user=r["user"],
            items=tuple(json.loads(r["items"])), purposes=tuple(json.loads(r["purposes"])), raw=r["raw"],
            received_at=r["received_at"], expires_at=r["expires_at"], status_uri=r["status_uri"],
            status_index=r["status_index"], status_key=r["status_key"], state=r["state"],
            state_detail=r["state_detail"], state_checked_at=r["state_checked_at"], replaces=r["replaces"] or "",
        ) for r in rows]

    # ------------------------------------------------------------ records and metadata

    def add_record(self, row: dict[str, Any]) -> int:
        """Append one recipient record; returns its id."""
        names = [k for k in row if k != "id"]
        found = self.engine.rows(f"INSERT INTO records ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)}) "
                                 "RETURNING id", [row[k] for k in names])
        return int(found[0]["id"])

    def records(self, account: str | None = None) -> Iterator[dict[str, Any]]:
        """Recipient records in the order they were written."""
        if account is None:
            yield from self.engine.rows(f"SELECT {_RECORD} FROM records ORDER BY id")
        else:
            yield from self.engine.rows(f"SELECT {_RECORD} FROM records WHERE account = ? ORDER BY id", [account])

    def get_meta(self, key: str) -> str | None:
        """A small persistent setting (e.g. the last registry event id seen)."""
        rows = self.engine.rows("SELECT value FROM meta WHERE key = ?", [key])
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Set a small persistent setting."""
        self.engine.run("INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])

    # ------------------------------------------------------------ rights requests

    def add_rights(self, rights: StoredRights) -> StoredRights:
        """Keep a rights request and our acknowledgement; ``replayed`` if its id or (user, cti) is known."""
        changed = self.engine.run(
            f"INSERT INTO rights ({_RIGHTS}) VALUES ({_marks(_RIGHTS)}) ON CONFLICT DO NOTHING",
            [rights.id, rights.consent_id, rights.account, rights.user, rights.cti, rights.kind, rights.raw,
             rights.received_at, rights.due_at, rights.ack, rights.done, rights.done_at,
             json.dumps(list(rights.erased_items)), rights.erased_records])
        if changed != 1:
            raise Replayed("this rights request was already received")
        return rights

    def rights_seen(self, user: str, cti: str) -> bool:
        """Whether a rights request with this id was already received from ``user``."""
        return bool(self.engine.rows('SELECT id FROM rights WHERE "user" = ? AND cti = ?', [user, cti]))

    def rights(self, rights_id: str) -> StoredRights:
        """The rights request with this id (its CID), or ``not_found``."""
        found = self._rights("id = ?", [rights_id])
        if not found:
            raise NotFound(f"no rights request {rights_id[:80]!r}")
        return found[0]

    def rights_list(self, *, account: str | None = None, consent_id: str | None = None,
                    open_only: bool = False) -> list[StoredRights]:
        """Rights requests received, oldest first; only unfinished ones with ``open_only``."""
        where, params = _where(account=account, consent_id=consent_id)
        return self._rights(where + (" AND done_at = 0" if open_only else "") + " ORDER BY received_at, id", params)

    def finish_rights(self, rights_id: str, done: bytes, done_at: int, erased_items: tuple[str, ...],
                      erased_records: int) -> StoredRights:
        """Record our signed completion of a rights request (once: a second call changes nothing)."""
        self.engine.run("UPDATE rights SET done = ?, done_at = ?, erased_items = ?, erased_records = ? "
                        "WHERE id = ? AND done_at = 0",
                        [done, done_at, json.dumps(list(erased_items)), erased_records, rights_id])
        return self.rights(rights_id)

    def _rights(self, where: str, params: Sequence[Any]) -> list[StoredRights]:
        rows = self.engine.rows(f"SELECT {_RIGHTS} FROM rights WHERE {where}", params)
        return [StoredRights(
            id=r["id"], consent_id=r["consent_id"], account=r["account"], user=r["user"], cti=r["cti"],
            kind=r["kind"], raw=r["raw"], received_at=r["received_at"], due_at=r["due_at"], ack=r["ack"],
            done=r["done"] or b"", done_at=r["done_at"] or 0, erased_items=tuple(json.loads(r["erased_items"])),
            erased_records=r["erased_records"] or 0,
        ) for r in rows]

    # ------------------------------------------------------------ copied data

    def keep_copied(self, consent_id: str, account: str, items: dict[str, Any], now: int) -> None:
        """Keep the items just copied under a consent (each item's latest copy)."""
        with self.engine.transaction() as tx:
            for item, value in items.items():
                tx.run("INSERT INTO copied (consent_id, account, item, value, copied_at) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (consent_id, item) DO UPDATE SET account = excluded.account, "
                       "value = excluded.value, copied_at = excluded.copied_at",
                       [consent_id, account, item, json.dumps(value, ensure_ascii=False), now])

    def copied(self, *, account: str | None = None, consent_id: str | None = None) -> list[CopiedItem]:
        """The data we keep, copied from the holder (for an account or a consent)."""
        where, params = _where(account=account, consent_id=consent_id)
        rows = self.engine.rows(f"SELECT consent_id, account, item, value, copied_at FROM copied WHERE {where} "
                                "ORDER BY id", params)
        return [CopiedItem(r["consent_id"], r["account"], r["item"], json.loads(r["value"]), r["copied_at"])
                for r in rows]

    def erase_copied(self, consent_id: str) -> tuple[tuple[str, ...], int]:
        """Delete everything copied under a consent; returns the items and how many rows went."""
        with self.engine.transaction() as tx:
            items = tuple(str(r["item"]) for r in tx.rows(
                "SELECT DISTINCT item FROM copied WHERE consent_id = ? ORDER BY item", [consent_id]))
            count = tx.run("DELETE FROM copied WHERE consent_id = ?", [consent_id])
        return items, count


class IssuerStore(SqlIssuerStore):
    """:class:`IssuerStorage` in one SQLite file, ``issuer.db`` in the home folder (WAL mode, so the
    status watcher can write while pages read).  A file made by an older version is brought
    forward by the recorded steps; its old rows stay readable."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(SqliteEngine(self.path))


class PostgresIssuerStore(SqlIssuerStore):
    """:class:`IssuerStorage` in a PostgreSQL database named by a DSN, for a company running its
    issuer on several instances; the status watchers of every instance write the same consent
    states, which is harmless (each write is the state of one verified list)."""

    def __init__(self, dsn: str, *, max_size: int = 6) -> None:
        engine = PostgresEngine(dsn, max_size=max_size)
        self.where = engine.where
        super().__init__(engine)
