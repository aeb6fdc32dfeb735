"""The registry's rules: which status list writes are accepted, and the operator's trust list.

A registry is trusted with very little, and checks everything it can without knowing whose
list it serves:

- the token must verify (COSE_Sign1, EdDSA, ``typ`` statuslist+cwt) under the key it names;
- its ``sub`` must be this list's URI (``.../v1/lists/<list_id>``), so a token cannot be
  replayed onto another list;
- the first accepted write pins the list's key; later writes signed by any other key are
  ``status_invalid`` — a stranger cannot overwrite someone's list;
- each later write carries a strictly newer ``iat`` (an equal or older one is
  ``status_rollback``: replaying an old list would silently un-revoke a consent);
- the list size never changes (``conflict``), an already expired token is ``expired``, and one
  issued more than :data:`MAX_CLOCK_SKEW` seconds in the future is ``not_yet_valid`` (it would
  lock its owner out of later updates);
- a new list is no larger than the registry takes, fits its body cap, and its client has not
  used up its allowance of new lists (:mod:`registry.admission`: ``too_large``,
  ``rate_limited``).  The allowance is counted inside the write transaction, so a refused
  creation stores nothing and a burst of concurrent ones cannot slip past it.

A refused write changes nothing.  Nothing but the signed tokens is stored: no consents, no
names, no user DIDs (the list key is per list and says nothing about its owner).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol import (
    Conflict,
    DecodeError,
    Expired,
    KeyPair,
    NotFound,
    NotYetValid,
    Organisation,
    StatusInvalid,
    StatusListToken,
    StatusRollback,
    TooLarge,
    TrustList,
    check_registry_url,
    cid_of,
    clock,
)

from .admission import Admission
from .backend import open_store
from .council import COUNCIL_KEY_FILE, load_council_key
from .store import Event, ListRow, RegistryStore, Signer

__all__ = [
    "DB_FILE",
    "LIST_ID_PATTERN",
    "MAX_CLOCK_SKEW",
    "MAX_TOKEN_SIZE",
    "Published",
    "Registry",
    "TRUST_LIST_VALIDITY",
    "check_list_id",
]

log = logging.getLogger("copyme.registry")

#: What a list id looks like: 16 to 64 URL-safe characters (random, so it names nobody).
LIST_ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
_LIST_ID = re.compile(LIST_ID_PATTERN)
#: The largest token body accepted (the protocol's own decode limit).
MAX_TOKEN_SIZE = StatusListToken.MAX_SIZE
#: How far in the future a token's ``iat`` may lie (seconds).
MAX_CLOCK_SKEW = 300
#: How long a signed trust list is valid; it is re-signed after half of this.
TRUST_LIST_VALIDITY = 30 * 86400
#: The database file name inside a registry home folder.
DB_FILE = "registry.db"
_DB_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_TRUST_LIST = "trust_list"


def check_list_id(list_id: str) -> str:
    """``list_id`` if it is well formed, else ``malformed`` (with ``field="list_id"``)."""
    if not isinstance(list_id, str) or _LIST_ID.fullmatch(list_id) is None:
        raise DecodeError("a list id is 16 to 64 characters of A-Z a-z 0-9 _ -", field="list_id")
    return list_id


@dataclass(frozen=True)
class Published:
    """The outcome of an accepted write."""

    list_id: str
    iat: int
    etag: str
    seq: int
    created: bool
    #: The list's URI (the token's ``sub``) and the token stored: what the change event carries.
    uri: str = ""
    token: bytes = b""

    def to_json(self) -> dict[str, Any]:
        """The PUT response body."""
        return {"list_id": self.list_id, "iat": self.iat, "etag": self.etag, "seq": self.seq}


def resolve_paths(home_or_db: str | Path) -> tuple[Path, Path]:
    """(database file, council key file) for a home folder or a database file path.

    A path ending in ``.db``/``.sqlite``/``.sqlite3`` (or naming an existing file) is the database
    itself, with the council key beside it; anything else is a home folder holding both.
    """
    path = Path(home_or_db).expanduser()
    if path.suffix in _DB_SUFFIXES or path.is_file():
        return path, path.parent / COUNCIL_KEY_FILE
    return path / DB_FILE, path / COUNCIL_KEY_FILE


class Registry:
    """A status registry over a :class:`~registry.store.RegistryStore` (a SQLite file or a
    PostgreSQL database); every method is safe to call from many threads and many processes."""

    def __init__(self, store: RegistryStore, council_key: KeyPair, *,
                 clock_fn: Callable[[], int] | None = None, admission: Admission | None = None) -> None:
        self.store = store
        self.admission = admission or Admission()
        self.council_key = council_key
        self._clock = clock_fn

    @classmethod
    def open(cls, home_or_db: str | Path, *, dsn: str | None = None, council_key: KeyPair | None = None,
             clock_fn: Callable[[], int] | None = None, admission: Admission | None = None) -> Registry:
        """Open (creating if needed) the registry at a home folder or database path.

        With ``dsn`` (a ``postgresql://`` URL) the lists live in that PostgreSQL database and
        ``home_or_db`` only holds the council key.  The council key is read from the home
        folder, or generated there on first start, unless ``council_key`` is given.
        ``admission`` is the policy for new lists (default :class:`~registry.admission.Admission`).
        """
        db_path, key_path = resolve_paths(home_or_db)
        store = open_store(dsn if dsn is not None else db_path)
        try:
            key = council_key or load_council_key(key_path)
        except BaseException:
            store.close()
            raise
        return cls(store, key, clock_fn=clock_fn, admission=admission)

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def now(self, now: int | None = None) -> int:
        """The registry's notion of the current time (injectable for tests)."""
        if now is None and self._clock is not None:
            return int(self._clock())
        return clock.now(now)

    # -- status lists -----------------------------------------------------------------------

    def publish(self, list_id: str, token: bytes, now: int | None = None, *, client: str = "local") -> Published:
        """Accept ``token`` as the newest version of ``list_id``, or raise why not.

        Verification happens before the write lock is taken; the pinned-key, ``iat`` and size
        checks and the write itself are one transaction, so of concurrent writers to one list
        exactly the newest token ends up stored.  ``client`` (the caller's address) is what the
        admission policy counts new lists against.
        """
        check_list_id(list_id)
        cap = self.admission.max_token_size
        if len(token) > cap:
            raise TooLarge(f"a status list token at this registry is at most {cap} bytes")
        decoded = StatusListToken.decode(bytes(token))
        if not decoded.uri.endswith(f"/v1/lists/{list_id}"):
            raise StatusInvalid("the token's sub names another list", field="sub")
        current = self.now(now)
        if decoded.expires_at is not None and decoded.expires_at <= current:
            raise Expired("the token has already expired")
        if decoded.issued_at > current + MAX_CLOCK_SKEW:
            raise NotYetValid("the token's iat lies in the future")
        etag = cid_of(token)
        created = False

        def check(stored: ListRow | None) -> None:
            nonlocal created
            created = stored is None
            if stored is None:
                self.admission.check_new_list(decoded.status_list.size)
                self.admission.admit_new_list(client)
                return
            if decoded.signer != stored.kid:
                raise StatusInvalid("the token is not signed by this list's key")
            if decoded.issued_at <= stored.iat:
                raise StatusRollback(f"iat {decoded.issued_at} is not newer than the stored {stored.iat}")
            if decoded.status_list.size != stored.size:
                raise Conflict(f"the list has {stored.size} entries; its size cannot change")

        row = ListRow(list_id, decoded.signer, decoded.status_list.size, decoded.issued_at,
                      decoded.expires_at, decoded.ttl, etag, decoded.uri, bytes(token), 0)
        seq = self.store.put_list(row, current, check)
        log.info("list %s %s iat=%d seq=%d", list_id, "created" if created else "updated",
                 decoded.issued_at, seq)
        return Published(list_id, decoded.issued_at, etag, seq, created, decoded.uri, bytes(token))

    def get(self, list_id: str) -> ListRow:
        """The stored state of ``list_id``; ``not_found`` if nothing was ever published there."""
        check_list_id(list_id)
        row = self.store.get_list(list_id)
        if row is None:
            raise NotFound("no status list with this id")
        return row

    def max_age(self, row: ListRow, now: int | None = None) -> int:
        """How long a fetched copy may be cached: the token's ``ttl``, never past its ``exp``."""
        age = row.ttl if row.ttl is not None else 300
        if row.exp is not None:
            age = min(age, row.exp - self.now(now))
        return max(0, age)

    def events_after(self, seq: int, list_id: str | None = None, limit: int = 500) -> list[Event]:
        """Accepted writes after sequence number ``seq``, oldest first."""
        return self.store.events_after(seq, list_id, limit)

    def last_seq(self) -> int:
        """The newest event's sequence number."""
        return self.store.last_seq()

    # -- trust list -------------------------------------------------------------------------

    def trust_add(self, did: str, name_ja: str, name_en: str, role: str,
                  now: int | None = None) -> TrustList:
        """List (or update) an organisation and re-sign the trust list."""
        org = Organisation(did, name_ja, name_en, role)
        current = self.now(now)
        raw = self.store.change_trust(current, self._signer(current), add=org)
        assert raw is not None  # only a removal can find nothing to change
        return TrustList.decode(raw)

    def trust_remove(self, did: str, now: int | None = None) -> TrustList:
        """Take an organisation off the trust list and re-sign it; ``not_found`` if it is not on it."""
        current = self.now(now)
        raw = self.store.change_trust(current, self._signer(current), remove=did)
        if raw is None:
            raise NotFound("this organisation is not on the trust list")
        return TrustList.decode(raw)

    def trust_add_registry(self, url: str, now: int | None = None) -> TrustList:
        """Name another registry (its base URL) on the trust list, whose status lists the parties
        following this council may fetch, and re-sign it; naming one twice changes nothing."""
        check_registry_url(url, "url")
        current = self.now(now)
        raw = self.store.change_trust(current, self._signer(current), add_registry=url)
        assert raw is not None
        return TrustList.decode(raw)

    def trust_remove_registry(self, url: str, now: int | None = None) -> TrustList:
        """Take a registry off the trust list and re-sign it; ``not_found`` if it is not on it."""
        current = self.now(now)
        raw = self.store.change_trust(current, self._signer(current), remove_registry=url)
        if raw is None:
            raise NotFound("this registry is not on the trust list")
        return TrustList.decode(raw)

    def trust_list(self, now: int | None = None) -> TrustList:
        """The current signed trust list, re-signed first when it is missing or half expired."""
        current = self.now(now)
        raw = self.store.setting(_TRUST_LIST)
        if raw is not None:
            stored = TrustList.decode(raw)
            fresh = current < stored.issued_at + (stored.expires_at - stored.issued_at) // 2
            if fresh and stored.issuer == self.council_key.did and stored.issued_at <= current:
                return stored
        resigned = self.store.change_trust(current, self._signer(current))
        assert resigned is not None
        return TrustList.decode(resigned)

    def _signer(self, now: int) -> Signer:
        def sign(organisations: tuple[Organisation, ...], registries: tuple[str, ...]) -> bytes:
            unsigned = TrustList(issuer=self.council_key.did, organisations=organisations,
                                 issued_at=now, expires_at=now + TRUST_LIST_VALIDITY, registries=registries)
            log.info("trust list re-signed with %d organisations and %d other registries",
                     len(organisations), len(registries))
            return unsigned.sign(self.council_key)

        return sign
