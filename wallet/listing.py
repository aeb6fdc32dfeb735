"""Listing consents without holding them all: filters in SQL, keyset pages, views built lazily.

A wallet may hold 100,000 consents; ``copyme wallet list`` must neither wait for nor keep all of
them.  :func:`iter_consents` asks the store for one page at a time (``PAGE`` rows, ordered by the
``consents_order`` index, each page resuming after the last row of the one before, so a page
costs the same at the end of the list as at its start; see
:func:`wallet.listing_store.listed_consents`), which turns each row into a
:class:`~wallet.consents.ConsentView` only when it is consumed.  Only the columns a view needs are
read (never the credential bytes), and :mod:`wallet.listing_store` decodes the few JSON columns through a
small cache, since a long list names the same requesters, holders and item sets over and over.

:func:`write_json` writes any iterable of views as one JSON array, one consent per line, so its
memory does not grow with the list either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TextIO

from protocol import InvalidArgument, NotFound, clock

from .consents import ConsentView
from .listing_store import CONSENT_STATES, consent_ids_around, has_consent, listed_consent, listed_consents
from .store import Store

__all__ = ["PAGE", "STATES", "iter_consents", "one", "resolve", "write_json"]

#: Rows fetched per query.
PAGE = 500
#: The states a listing can be filtered by (``expired`` is computed from ``expires_at``).
STATES = CONSENT_STATES


def resolve(store: Store, consent_id: str) -> str:
    """The full id for an id, or a unique prefix or suffix of at least 6 characters."""
    if not isinstance(consent_id, str) or not consent_id:
        raise InvalidArgument("a consent id is needed", field="id")
    if has_consent(store, consent_id):
        return consent_id
    if len(consent_id) >= 6 and "%" not in consent_id and "_" not in consent_id:
        found = consent_ids_around(store, consent_id, limit=2)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InvalidArgument(f"{consent_id!r} matches more than one consent", field="id")
    raise NotFound(f"no consent {consent_id}")


def one(store: Store, consent_id: str, now: int | None = None) -> ConsentView:
    """The view of one consent, by its full id (see :func:`resolve`)."""
    return listed_consent(store, consent_id, clock.now(now))


def iter_consents(store: Store, *, state: str | None = None, holder: str | None = None,
                  requester: str | None = None, now: int | None = None, page: int = PAGE) -> Iterator[ConsentView]:
    """Matching consents, newest first, one page of rows in memory at a time.

    Bad filters and an unreadable database raise here, before the first view is handed out
    (the first page is read at once), so a caller can report them before writing any output.
    A damaged page met later raises ``corrupt_store`` from the iteration.
    """
    return listed_consents(store, state=state, holder=holder, requester=requester, now=clock.now(now), page=page)


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
