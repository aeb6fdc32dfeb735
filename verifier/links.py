"""Account links: which customer a wallet DID belongs to, established with one-time codes.

The holder gives its customer a short code (at the branch, in online banking).  The wallet signs
it with the user's DID key for this holder (:class:`protocol.LinkProof`) and posts the proof; the
holder checks the signature, the audience, the time, and that the code is one it issued, unused
and unexpired, then links the DID to the customer.  Codes are stored only as SHA-256 hashes, so
a copy of the database does not hand out usable codes, and each code links at most one DID.

A customer has several DIDs here: the wallet uses one per relationship (this holder x a data
user) and links each further one with a :class:`protocol.DidLink` signed by a DID already linked
to the customer and by the new DID (:meth:`LinkStore.link_did`).  Each link id is used once
(``did_links`` keeps them, and says which DID vouched for which).  A ``replace`` link unlinks
the vouching DID for good: presenting under it is then ``key_replaced``, and it cannot be
linked again.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass

from protocol import DidLink, LinkProof, clock
from protocol.errors import Conflict, CopyMeError, Expired, KeyReplaced, NotLinked, Replayed, WrongAudience

from .errors import LinkCodeInvalid
from .store import HolderDatabase

__all__ = ["CODE_ALPHABET", "DEFAULT_CODE_TTL", "DidLinked", "LinkStore", "normalise_code"]

#: Crockford's base32: no I, L, O or U, so codes read out over a counter are not misheard.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: How long a link code may be used after it was issued (seconds).
DEFAULT_CODE_TTL = 15 * 60
_CODE_GROUPS = 3  # 3 x 4 characters = 60 random bits
_LOOKALIKES = str.maketrans("ILO", "110")


def normalise_code(code: str) -> str:
    """The canonical form of a typed code: upper case, no spaces or dashes, I/L as 1, O as 0."""
    text = code.upper().replace("-", "").replace(" ", "")
    return text.translate(_LOOKALIKES)


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


@dataclass(frozen=True)
class DidLinked:
    """An accepted :class:`protocol.DidLink`: ``did`` now counts as the customer's; ``replaced``
    is the DID it unlinked (a key replacement), if any."""

    did: str
    customer_id: str
    replaced: str | None = None


class LinkStore:
    """Link codes (hashed, single-use, with expiry) and the DID -> customer links they create."""

    def __init__(self, db: HolderDatabase) -> None:
        self._db = db
        with db.lock:
            db.execute("""CREATE TABLE IF NOT EXISTS link_codes (
                code_hash TEXT PRIMARY KEY, customer_id TEXT NOT NULL, issued_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL, used_at INTEGER, used_by TEXT)""")
            db.execute("""CREATE TABLE IF NOT EXISTS links (
                did TEXT PRIMARY KEY, customer_id TEXT NOT NULL, linked_at INTEGER NOT NULL,
                replaced_by TEXT, replaced_at INTEGER)""")
            if db.dialect == "sqlite":
                columns = {row[1] for row in db.execute("PRAGMA table_info(links)").fetchall()}
                if "replaced_by" not in columns:  # added with pairwise DIDs; older databases gain it here
                    db.execute("ALTER TABLE links ADD COLUMN replaced_by TEXT")
                    db.execute("ALTER TABLE links ADD COLUMN replaced_at INTEGER")
            db.execute("""CREATE TABLE IF NOT EXISTS did_links (
                link_id BLOB PRIMARY KEY, did TEXT NOT NULL, linked_by TEXT NOT NULL, customer_id TEXT NOT NULL,
                replace INTEGER NOT NULL, at INTEGER NOT NULL)""")
            self._links: dict[str, str] = dict(
                db.execute("SELECT did, customer_id FROM links WHERE replaced_by IS NULL").fetchall())
            self._replaced: set[str] = {
                row[0] for row in db.execute("SELECT did FROM links WHERE replaced_by IS NOT NULL").fetchall()}

    def new_code(self, customer_id: str, *, ttl: int = DEFAULT_CODE_TTL, now: int | None = None,
                 code: str | None = None) -> str:
        """A fresh one-time code for ``customer_id``, shown once and stored only as a hash."""
        current = clock.now(now)
        if code is None:
            chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(4 * _CODE_GROUPS))
            code = "-".join(chars[i:i + 4] for i in range(0, len(chars), 4))
        with self._db.lock:
            self._db.execute(
                "INSERT INTO link_codes (code_hash, customer_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                [_hash(code), customer_id, current, current + ttl])
        return code

    def link(self, proof: bytes, *, holder: str, now: int | None = None) -> tuple[str, str]:
        """Check a signed :class:`LinkProof` and link its DID; returns ``(did, customer_id)``.

        Raises ``malformed``/``bad_signature``/... for the proof itself, ``wrong_audience`` if it
        is meant for another holder, ``expired``/``not_yet_valid`` for its time,
        ``link_code_invalid`` for a code never issued, ``replayed`` for a used code, ``expired``
        for an out-of-date code, and ``conflict`` if the DID already belongs to another customer.
        """
        current = clock.now(now)
        checked = LinkProof.decode(proof)
        if checked.holder != holder:
            raise WrongAudience("this link proof is meant for another data holder")
        checked.check_validity(current)
        code_hash = _hash(checked.code)
        with self._db.lock:
            row = self._db.execute(
                "SELECT customer_id, expires_at, used_at FROM link_codes WHERE code_hash = ?", [code_hash]).fetchone()
            if row is None:
                raise LinkCodeInvalid("no such link code; ask the holder for a new one")
            customer_id, expires_at, used_at = row
            if used_at is not None:
                raise Replayed("this link code was already used")
            if current >= expires_at:
                raise Expired("this link code has expired; ask the holder for a new one")
            if self._is_replaced(checked.user):
                raise KeyReplaced("this DID was replaced by its owner and cannot be linked again")
            existing = self.customer_for(checked.user)
            if existing is not None and existing != customer_id:
                raise Conflict("this DID is already linked to another customer")
            try:
                with self._db.transaction() as conn:
                    taken = conn.execute("UPDATE link_codes SET used_at = ?, used_by = ? "
                                         "WHERE code_hash = ? AND used_at IS NULL",
                                         [current, checked.user, code_hash]).rowcount
                    if taken != 1:  # another worker used it since the read above
                        raise Replayed("this link code was already used")
                    conn.execute("INSERT INTO links (did, customer_id, linked_at) VALUES (?, ?, ?) "
                                 "ON CONFLICT (did) DO UPDATE SET customer_id = excluded.customer_id, "
                                 "linked_at = excluded.linked_at",
                                 [checked.user, customer_id, current])
            except sqlite3.Error as err:
                raise CopyMeError(f"the link could not be stored: {type(err).__name__}") from None
            self._links[checked.user] = customer_id
        return checked.user, customer_id

    def link_did(self, proof: bytes, *, holder: str, now: int | None = None) -> DidLinked:
        """Check a signed :class:`protocol.DidLink` and link its new DID to the vouching DID's customer.

        In order: the proof's decode and signature codes; ``wrong_audience``; ``expired`` /
        ``not_yet_valid`` (5-minute window); the new DID's own proof (``bad_signature`` when it
        is missing or names something else); the vouching DID is linked here (``not_linked``, or
        ``key_replaced``); the link id is unused (``replayed``); the new DID was never replaced
        (``key_replaced``) nor belongs to another customer (``conflict``).
        """
        current = clock.now(now)
        checked = DidLink.decode(proof)
        if checked.holder != holder:
            raise WrongAudience("this link proof is meant for another data holder")
        checked.check_validity(current)
        checked.check_possession()
        with self._db.lock:
            customer_id = self.customer_for(checked.linked)
            if customer_id is None:
                raise NotLinked("the DID that signed this link is not linked to a customer of this holder")
            used = self._db.execute("SELECT 1 FROM did_links WHERE link_id = ?", [checked.link_id]).fetchone()
            if used is not None:
                raise Replayed("this link proof was already used")
            if self._is_replaced(checked.did):
                raise KeyReplaced("the new DID was replaced before and cannot be linked again")
            existing = self.customer_for(checked.did)
            if existing is not None and existing != customer_id:
                raise Conflict("this DID is already linked to another customer")
            try:
                with self._db.transaction() as conn:
                    fresh = conn.execute("INSERT INTO did_links (link_id, did, linked_by, customer_id, replace, at) "
                                         "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (link_id) DO NOTHING",
                                         [checked.link_id, checked.did, checked.linked, customer_id,
                                          int(checked.replace), current]).rowcount
                    if fresh != 1:  # another worker took this link id since the read above
                        raise Replayed("this link proof was already used")
                    conn.execute("INSERT INTO links (did, customer_id, linked_at) VALUES (?, ?, ?) "
                                 "ON CONFLICT (did) DO NOTHING", [checked.did, customer_id, current])
                    if checked.replace:
                        conn.execute("UPDATE links SET replaced_by = ?, replaced_at = ? WHERE did = ?",
                                     [checked.did, current, checked.linked])
            except sqlite3.Error as err:
                raise CopyMeError(f"the link could not be stored: {type(err).__name__}") from None
            self._links[checked.did] = customer_id
            if checked.replace:
                self._links.pop(checked.linked, None)
                self._replaced.add(checked.linked)
        return DidLinked(checked.did, customer_id, checked.linked if checked.replace else None)

    def customer_for(self, did: str) -> str | None:
        """The customer a DID is linked to, if any; a DID its owner replaced is ``key_replaced``.

        Links made in this process are answered from memory; any other DID is looked up (another
        process or worker sharing the database may have linked or replaced it since this one
        started).
        """
        if did in self._replaced:
            raise KeyReplaced("the consent's signer is a key its owner replaced")
        customer = self._links.get(did)
        if customer is None:
            with self._db.lock:
                row = self._db.execute("SELECT customer_id, replaced_by FROM links WHERE did = ?", [did]).fetchone()
            if row is not None and row[1] is not None:
                self._replaced.add(did)
                raise KeyReplaced("the consent's signer is a key its owner replaced")
            if row is not None:
                customer = self._links[did] = str(row[0])
        return customer

    def _is_replaced(self, did: str) -> bool:
        try:
            self.customer_for(did)
        except KeyReplaced:
            return True
        return False

    def dids_of(self, customer_id: str) -> list[str]:
        """Every DID currently linked to ``customer_id`` (read from the database, which every worker shares)."""
        with self._db.lock:
            rows = self._db.execute("SELECT did FROM links WHERE customer_id = ? AND replaced_by IS NULL "
                                    "ORDER BY did", [customer_id]).fetchall()
        return [str(row[0]) for row in rows]
