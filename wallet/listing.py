"""Listing consents without holding them all: filters in SQL, keyset pages, views built lazily.

A wallet may hold 100,000 consents; ``copyme wallet list`` must neither wait for nor keep all of
them.  :func:`iter_consents` asks SQLite for one page at a time (``PAGE`` rows, ordered by the
``consents_order`` index, each page resuming after the last row of the one before, so a page
costs the same at the end of the list as at its start) and turns each row into a
:class:`~wallet.consents.ConsentView` only when it is consumed.  Only the columns a view needs are
read (never the credential bytes), and the few JSON columns are decoded through a small cache,
since a long list names the same requesters, holders and item sets over and over.

:func:`write_json` writes any iterable of views as one JSON array, one consent per line, so its
memory does not grow with the list either.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from protocol import InvalidArgument, NotFound, clock

from .consents import ConsentView
from .store import Store, translate_db_errors

__all__ = ["PAGE", "STATES", "iter_consents", "one", "resolve", "write_json"]

#: Rows fetched per query.
PAGE = 500
#: The states a listing can be filtered by (``expired`` is computed from ``expires_at``).
STATES = ("active", "suspended", "revoked", "expired")

PENDING_SQL = "EXISTS (SELECT 1 FROM events e WHERE e.consent_id = c.id AND e.published_at IS NULL)"
_COLUMNS = ("c.id, c.requester, c.requester_name, c.verified, c.holder, c.holder_name, c.holder_url, c.items, "
            f"c.purposes, c.lang, c.issued_at, c.expires_at, c.state, {PENDING_SQL}, c.delivered, "
            "c.delivery_error, c.request_cid, c.list_id, c.idx")
_ORDER = " ORDER BY c.issued_at DESC, c.id"


def filters(*, state: str | None, holder: str | None, requester: str | None, now: int) -> tuple[list[str], list[Any]]:
    """SQL conditions (on ``consents c``) and their parameters for a listing's filters."""
    where: list[str] = []
    params: list[Any] = []
    if state is not None:
        if state not in STATES:
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


def select_sql(where: list[str]) -> str:
    """The query for one view per matching row (``ORDER BY`` not included)."""
    return f"SELECT {_COLUMNS} FROM consents c" + (" WHERE " + " AND ".join(where) if where else "")


@functools.lru_cache(maxsize=4096)
def _names(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(json.loads(text).items())


@functools.lru_cache(maxsize=4096)
def _strings(text: str) -> tuple[str, ...]:
    return tuple(json.loads(text))


def view_of(row: tuple[Any, ...], now: int) -> ConsentView:
    """A view of one row of :func:`select_sql`."""
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


def resolve(store: Store, consent_id: str) -> str:
    """The full id for an id, or a unique prefix or suffix of at least 6 characters."""
    if not isinstance(consent_id, str) or not consent_id:
        raise InvalidArgument("a consent id is needed", field="id")
    if store.row("SELECT 1 FROM consents WHERE id = ?", (consent_id,)):
        return consent_id
    if len(consent_id) >= 6 and "%" not in consent_id and "_" not in consent_id:
        found = store.rows("SELECT id FROM consents WHERE id LIKE ? OR id LIKE ? LIMIT 2",
                           (consent_id + "%", "%" + consent_id))
        if len(found) == 1:
            return str(found[0]["id"])
        if len(found) > 1:
            raise InvalidArgument(f"{consent_id!r} matches more than one consent", field="id")
    raise NotFound(f"no consent {consent_id}")


def one(store: Store, consent_id: str, now: int | None = None) -> ConsentView:
    """The view of one consent, by its full id (see :func:`resolve`)."""
    with translate_db_errors():
        row = store.db.conn.execute(select_sql(["c.id = ?"]), (consent_id,)).fetchone()
    if row is None:
        raise NotFound(f"no consent {consent_id}")
    return view_of(row, clock.now(now))


def iter_consents(store: Store, *, state: str | None = None, holder: str | None = None,
                  requester: str | None = None, now: int | None = None, page: int = PAGE) -> Iterator[ConsentView]:
    """Matching consents, newest first, one page of rows in memory at a time.

    Bad filters and an unreadable database raise here, before the first view is handed out
    (the first page is read at once), so a caller can report them before writing any output.
    A damaged page met later raises ``corrupt_store`` from the iteration.
    """
    current = clock.now(now)
    where, params = filters(state=state, holder=holder, requester=requester, now=current)
    first_sql = select_sql(where) + _ORDER + " LIMIT ?"
    # Resume after (issued_at, id) of the last row: a range on the index's first column, so SQLite
    # seeks instead of skipping rows the way OFFSET would.
    next_sql = select_sql([*where, "c.issued_at <= ? AND (c.issued_at < ? OR c.id > ?)"]) + _ORDER + " LIMIT ?"
    conn = store.db.conn
    with translate_db_errors():
        rows = conn.execute(first_sql, [*params, page]).fetchall()

    def pages(rows: list[tuple[Any, ...]]) -> Iterator[ConsentView]:
        while True:
            for row in rows:
                yield view_of(row, current)
            if len(rows) < page:
                return
            last_id, last_at = rows[-1][0], rows[-1][10]
            with translate_db_errors():
                rows = conn.execute(next_sql, [*params, last_at, last_at, last_id, page]).fetchall()

    return pages(rows)


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def write_json(views: Iterable[ConsentView], out: TextIO, *, flush_every: int = PAGE) -> int:
    """Write ``views`` to ``out`` as one JSON array, one consent object per line; the count.

    The compact C encoder runs once per consent and lines are written a page at a time, so
    the output starts at once and memory stays flat however long the list is.
    """
    encode = _ENCODER.encode
    buffer: list[str] = []
    count = 0
    for view in views:
        buffer.append(("[\n  " if count == 0 else ",\n  ") + encode(view.to_json()))
        count += 1
        if len(buffer) >= flush_every:
            out.write("".join(buffer))
            buffer.clear()
    buffer.append("\n]\n" if count else "[]\n")
    out.write("".join(buffer))
    return count
