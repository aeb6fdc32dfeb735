"""The consents table as a listing reads it: filters in SQL, keyset pages, a view per row.

The SQL behind :mod:`wallet.listing` (``copyme wallet list``, ``show``, the dashboard's list)
lives here, next to :mod:`wallet.store`, which creates the table and its ``consents_order``
index.  :func:`listed_consents` reads one page at a time, each page resuming after the last row
of the one before (so a page costs the same at the end of a 100,000-consent list as at its
start), never the credential bytes, and hands out each row as the
:class:`~wallet.consents.ConsentView` it is listed as (built only when it is consumed); the few
JSON columns are decoded through a small cache, since a long list names the same requesters,
holders and item sets over and over.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from protocol import InvalidArgument, NotFound

from .consents import ConsentView
from .store import Store, translate_db_errors

__all__ = ["CONSENT_STATES", "consent_ids_around", "has_consent", "listed_consent", "listed_consents"]

#: The states a consent listing can be filtered by (``expired`` is computed from ``expires_at``).
CONSENT_STATES = ("active", "suspended", "revoked", "expired")


def listed_consents(store: Store, *, state: str | None = None, holder: str | None = None, requester: str | None = None,
                    now: int, page: int = 500) -> Iterator[ConsentView]:
    """Views of the matching consents at ``now``, newest first (ties by id), read ``page`` rows at a time.

    ``state`` is one of :data:`CONSENT_STATES` (``expired``: not revoked and past ``expires_at``
    at ``now``; ``active`` and ``suspended`` are only those not expired); ``holder`` matches a
    data holder's DID exactly or a part of its URL or name, ``requester`` a data user's DID or a
    part of its name.  A bad filter and an unreadable database raise here, before the first row
    is handed out (the first page is read at once); a damaged page met later raises
    ``corrupt_store`` from the iteration.
    """
    where, params = _consent_filters(state=state, holder=holder, requester=requester, now=now)
    first_sql = _listed_sql(where) + _LISTED_ORDER + " LIMIT ?"
    # Resume after (issued_at, id) of the last row: a range on the index's first column, so SQLite
    # seeks instead of skipping rows the way OFFSET would.
    next_sql = (_listed_sql([*where, "c.issued_at <= ? AND (c.issued_at < ? OR c.id > ?)"]) + _LISTED_ORDER
                + " LIMIT ?")
    conn = store.db.conn
    with translate_db_errors():
        rows = conn.execute(first_sql, [*params, page]).fetchall()

    def pages(rows: list[tuple[Any, ...]]) -> Iterator[ConsentView]:
        while True:
            for row in rows:
                yield _view(row, now)
            if len(rows) < page:
                return
            last_id, last_at = rows[-1][0], rows[-1][10]
            with translate_db_errors():
                rows = conn.execute(next_sql, [*params, last_at, last_at, last_id, page]).fetchall()

    return pages(rows)

def listed_consent(store: Store, consent_id: str, now: int) -> ConsentView:
    """The view of one consent at ``now``, by its full id."""
    with translate_db_errors():
        row = store.db.conn.execute(_listed_sql(["c.id = ?"]), (consent_id,)).fetchone()
    if row is None:
        raise NotFound(f"no consent {consent_id}")
    return _view(row, now)

def has_consent(store: Store, consent_id: str) -> bool:
    """Whether a consent with exactly this id is stored."""
    return store.row("SELECT 1 AS found FROM consents WHERE id = ?", (consent_id,)) is not None

def consent_ids_around(store: Store, fragment: str, *, limit: int = 2) -> list[str]:
    """Up to ``limit`` consent ids that start or end with ``fragment``, which may not hold the
    ``LIKE`` wildcards ``%`` and ``_`` (``ValueError``)."""
    if "%" in fragment or "_" in fragment:
        raise ValueError(f"a consent id fragment without % or _ is needed, not {fragment!r}")
    return [str(r["id"]) for r in store.rows("SELECT id FROM consents WHERE id LIKE ? OR id LIKE ? LIMIT ?",
                                            (fragment + "%", "%" + fragment, limit))]


#: A consent has a status change the registry has not taken yet (answered from ``events_pending``).
_PENDING_SQL = "EXISTS (SELECT 1 FROM events e WHERE e.consent_id = c.id AND e.published_at IS NULL)"
#: What a listing reads of a consent: every column a view needs (never the credential's bytes).
_LISTED_COLUMNS = ("c.id, c.requester, c.requester_name, c.verified, c.holder, c.holder_name, c.holder_url, "
                   f"c.items, c.purposes, c.lang, c.issued_at, c.expires_at, c.state, {_PENDING_SQL}, c.delivered, "
                   "c.delivery_error, c.request_cid, c.list_id, c.idx")
_LISTED_ORDER = " ORDER BY c.issued_at DESC, c.id"


def _consent_filters(*, state: str | None, holder: str | None, requester: str | None,
                     now: int) -> tuple[list[str], list[Any]]:
    """SQL conditions (on ``consents c``) and their parameters for a listing's filters."""
    where: list[str] = []
    params: list[Any] = []
    if state is not None:
        if state not in CONSENT_STATES:
            raise InvalidArgument("state must be active, suspended, revoked or expired", field="state")
        if state == "expired":
            where.append("c.state != 'revoked' AND c.expires_at <= ?")
            params.append(now)
        else:
            where.append("c.state = ?")
            params.append(state)
            if state != "revoked":
                where.append("c.expires_at > ?")
                params.append(now)
    if holder:
        where.append("(c.holder = ? OR c.holder_url LIKE ? OR c.holder_name LIKE ?)")
        params += [holder, f"%{holder}%", f"%{holder}%"]
    if requester:
        where.append("(c.requester = ? OR c.requester_name LIKE ?)")
        params += [requester, f"%{requester}%"]
    return where, params


def _listed_sql(where: list[str]) -> str:
    """The query for one view per matching row (``ORDER BY`` not included)."""
    return f"SELECT {_LISTED_COLUMNS} FROM consents c" + (" WHERE " + " AND ".join(where) if where else "")


# A long list names the same requesters, holders and item sets over and over: their JSON is decoded once.
@functools.lru_cache(maxsize=4096)
def _names(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(json.loads(text).items())


@functools.lru_cache(maxsize=4096)
def _strings(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def _view(row: tuple[Any, ...], now: int) -> ConsentView:
    """The view of one row of :func:`_listed_sql` at ``now`` (not revoked and past ``expires_at``: ``expired``)."""
    (cid, requester, requester_name, verified, holder, holder_name, holder_url, items, purposes, lang,
     issued_at, expires_at, state, pending, delivered, delivery_error, request_cid, list_id, idx) = row
    if state != "revoked" and expires_at <= now:
        state = "expired"
    return ConsentView(
        id=cid, requester=requester, requester_name=dict(_names(requester_name)), verified=bool(verified),
        holder=holder, holder_name=dict(_names(holder_name)) if holder_name else None, holder_url=holder_url,
        items=_strings(items), purposes=_strings(purposes), lang=lang, issued_at=issued_at,
        expires_at=expires_at, state=state, pending=bool(pending), delivered=bool(delivered),
        delivery_error=delivery_error, request_cid=request_cid, list_id=list_id, index=idx,
    )
