"""The registry's storage interface: one :class:`RegistryStore`, two implementations.

What a registry keeps, whatever the engine:

``lists``
    one row per list: the latest token bytes, the key pinned by its first write, its size,
    ``iat``, ETag and the sequence number of the event that wrote it.
``events``
    append-only; one row per accepted write.  ``seq`` is the global sequence the change feed
    hands out as SSE ids; it grows by one per write and a reader never sees ``seq`` N+1 before
    N (writers are serialised), so a cursor never skips an event.  No token bytes: an event read
    while its version is still the list's newest carries the token from ``lists`` (the feed
    pushes it, so a subscriber need not fetch it); a superseded one carries none.
``organisations`` / ``registries`` / ``settings``
    the operator's trust list entries (organisations, and other registries it vouches for) and
    the signed TrustList bytes.

:class:`~registry.sqlite_store.SQLiteStore` (the default, one file) and
:class:`~registry.pg_store.PostgresStore` (a DSN; many workers and machines) implement it; the
same tests run against both.  :func:`registry.backend.open_store` picks one from a ``--db`` value
(it imports them; they import this module, never the other way).  Every SQL
statement lives in those two modules; their engine errors leave as
:class:`~protocol.errors.Unavailable`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from protocol import Organisation

__all__ = ["Event", "ListRow", "RegistryStore", "Signer"]


@dataclass(frozen=True)
class ListRow:
    """The stored state of one list (``seq`` is 0 on a row not yet written)."""

    list_id: str
    kid: str
    size: int
    iat: int
    exp: int | None
    ttl: int | None
    etag: str
    uri: str
    token: bytes
    seq: int


@dataclass(frozen=True)
class Event:
    """One accepted write, as the change feed sends it.

    ``token`` is the signed StatusListToken that write stored, when it is still the list's
    newest version (``None`` once a later write superseded it).
    """

    seq: int
    list_id: str
    iat: int
    etag: str
    uri: str
    token: bytes | None = None

    def to_json(self, token_limit: int = 0) -> dict[str, Any]:
        """The SSE ``data`` body; with ``token`` (base64url, unpadded) when there is one of at
        most ``token_limit`` bytes."""
        body: dict[str, Any] = {"list_id": self.list_id, "iat": self.iat, "etag": self.etag, "uri": self.uri}
        if self.token is not None and len(self.token) <= token_limit:
            body["token"] = base64.urlsafe_b64encode(self.token).rstrip(b"=").decode("ascii")
        return body


#: Signs the trust list for the organisations and registries now stored; returns the signed bytes.
Signer = Callable[[tuple[Organisation, ...], tuple[str, ...]], bytes]


class RegistryStore(Protocol):
    """Transactional storage of lists, the event log and the trust list; safe across threads."""

    #: True when reads cross a network (the app then runs them off the event loop).
    remote: bool

    def close(self) -> None:
        """Release every connection."""

    def get_list(self, list_id: str) -> ListRow | None:
        """The stored row of ``list_id``, if any."""

    def put_list(self, row: ListRow, now: int, check: Callable[[ListRow | None], None]) -> int:
        """Store ``row`` as the newest version of its list and log the event; returns its seq.

        ``check`` sees the currently stored row inside the write transaction and raises to
        refuse; then nothing is written.  Check and write are one atomic step.
        """

    def last_seq(self) -> int:
        """The sequence number of the newest event (0 when there is none)."""

    def events_after(self, seq: int, list_id: str | None = None, limit: int = 500) -> list[Event]:
        """Events with a sequence number above ``seq``, oldest first (one list's only, if given)."""

    def setting(self, name: str) -> bytes | None:
        """A stored setting (e.g. the signed trust list)."""

    def change_trust(self, now: int, sign: Signer, *, add: Organisation | None = None,
                     remove: str | None = None, add_registry: str | None = None,
                     remove_registry: str | None = None) -> bytes | None:
        """Add (or update) / remove an organisation or a registry's base URL, re-sign and store
        the trust list; one transaction.

        Returns the signed bytes, or ``None`` (and changes nothing) when ``remove`` or
        ``remove_registry`` names one that is not listed.  With none of them it only re-signs.
        """

    def listen(self, on_event: Callable[[int], None]) -> Callable[[], None]:
        """Call ``on_event(seq)`` (from another thread) when any process commits a write.

        Returns the function that stops listening.  Stores that cannot push (SQLite) never call
        it; the feed's periodic look at :meth:`last_seq` covers writes of other processes there.
        """
