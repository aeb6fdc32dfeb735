"""A data holder: its key, its stores and its data source, tied to one verification entry point.

:class:`Holder` is what the HTTP service and the CLI call.  ``release()`` is the only way data
leaves: it verifies, reads exactly the granted items from the source, writes the provision
record, and returns; every refusal on the way is recorded with its reason.  A request's replay
entry (and nonce) are checked during verification and written together with its provision or
refusal record and usage receipt (:class:`~verifier.replay.Claims`), in a transaction that
concurrent requests share (:class:`~verifier.commits.GroupCommit`: one commit for all of them);
that commit has returned before any data is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocol import KeyPair, Presentation, cid_bytes, cid_text, clock
from protocol.errors import CopyMeError, NotFound, Replayed, Unavailable
from protocol.keyfile import load_or_create_key_file

from .commits import GroupCommit
from .credentials import DEFAULT_CREDENTIAL_CACHE, CredentialCache
from .errors import NoDataSource
from .grant import Grant
from .links import DEFAULT_CODE_TTL, DidLinked, LinkStore
from .receipts import Attempt, ReceiptLog, ReceiptPage, consent_binary
from .records import Records
from .replay import Claims, NonceStore, ReplayCache
from .sources import DataSource, demo_source, fetch_items
from .status_cache import DEFAULT_MAX_STALENESS, RegistryLike, StatusCache, WouldBlock
from .store import HolderDatabase, open_database, open_store
from .trust import TRUST_REFRESH, TrustNames
from .verify import WINDOW, verify_presentation

__all__ = ["DB_FILE", "DEFAULT_NAME", "KEY_FILE", "Holder", "NoRegistry", "Release", "load_or_create_key"]

DB_FILE = "verifier.db"
KEY_FILE = "holder.key"
DEFAULT_NAME = {"ja": "さくら銀行", "en": "Sakura Bank"}


def load_or_create_key(home: Path) -> KeyPair:
    """The holder's signing key in ``home``, generated (file mode 0600) at first start."""
    return load_or_create_key_file(home / KEY_FILE)


class NoRegistry:
    """The registry of a holder opened for offline work (the CLI): every status check fails closed."""

    def fetch(self, uri_or_list_id: str, etag: str | None = None, version: str | None = None) -> Any:
        """Always ``unavailable``: a status check becomes ``status_unavailable``."""
        raise Unavailable("no registry configured")

    def events(self, last_event_id: str | None = None, list_id: str | None = None) -> Iterator[Any]:
        """Always ``unavailable``: there is no change feed to follow."""
        raise Unavailable("no registry configured")

    def trust_list(self) -> bytes:
        """Always ``unavailable``: records then name recipients by DID only."""
        raise Unavailable("no registry configured")


@dataclass(frozen=True)
class Release:
    """Data released under a grant."""

    grant: Grant
    items: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The body of ``POST /v1/data``."""
        return {"consent_id": self.grant.consent_id, "purpose": self.grant.purpose, "items": self.items}


@dataclass(frozen=True)
class _Decided:
    """A decided request before its record is written: the record, its receipt's attempt, and the outcome."""

    entry: dict[str, Any]
    attempt: Attempt | None
    release: Release | None = None
    error: CopyMeError | None = None


class Holder:
    """A data holder's verifier: key, links, replay cache, nonces, status cache, records, source."""

    def __init__(self, key: KeyPair, db: HolderDatabase, registry: RegistryLike | None, *,
                 source: DataSource | None = None, customers: dict[str, Any] | None = None,
                 name: dict[str, str] | None = None, max_staleness: int = DEFAULT_MAX_STALENESS,
                 window: int = WINDOW, credential_cache: int = DEFAULT_CREDENTIAL_CACHE,
                 council: str | None = None, trust_refresh: float = TRUST_REFRESH,
                 trusted_registries: Sequence[str] = (), clock_fn: Callable[[], int] | None = None) -> None:
        self.key = key
        self.db = db
        self.name = dict(name or DEFAULT_NAME)
        self.window = window
        self._clock = clock_fn or clock.now
        # no silent demo data: a holder serves its own source, or demo customers only when asked
        self.customers = customers or {}
        self.source: DataSource | None = source if source is not None else (
            demo_source(customers) if customers is not None else None)
        self.links = LinkStore(db)
        self.replay = ReplayCache(db)
        self.nonces = NonceStore(db)
        # status lists only from ``registry``, ``trusted_registries`` and the registries the council's
        # trust list names (read when a status is checked, so a refreshed list counts at once)
        self.status = StatusCache(registry or NoRegistry(), db, max_staleness=max_staleness, clock_fn=self._clock,
                                  trusted_registries=trusted_registries, named=lambda: self.trust.registries)
        self.records = Records(db)
        self.receipts = ReceiptLog(db, key, self.links.customer_for)
        self.credentials = CredentialCache(credential_cache)
        self.trust = TrustNames(registry or NoRegistry(), db, council=council, refresh=trust_refresh,
                                clock_fn=self._clock)
        #: The writer every release, refusal and decision commits through, batched with concurrent ones.
        # commits that never wait for the disk (SQLite, synchronous=normal) are made on the event
        # loop itself; the others (an fsync, a PostgreSQL round trip) on the writer thread
        self.commits = GroupCommit(db, inline=db.dialect == "sqlite" and getattr(db, "synchronous", "") == "normal")

    @classmethod
    def open(cls, home: str | Path, registry: RegistryLike | None = None, *, synchronous: str = "normal",
             database: str | None = None, **options: Any) -> Holder:
        """The holder kept in folder ``home`` (key and SQLite file created on first use).

        ``synchronous`` is SQLite's commit durability (``normal`` or ``full``; see
        :func:`verifier.store.open_database` for the trade-off).  ``database`` names another
        SQLite file, or a ``postgresql://`` URL: then the stores live in that PostgreSQL
        database, shared with every other worker of this holder, and ``home`` keeps only the key.
        """
        folder = Path(home)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # its state is the holder's only
        if database is not None:
            db: HolderDatabase = open_store(database, synchronous=synchronous)  # type: ignore[arg-type]
        else:
            db = open_database(folder / DB_FILE, synchronous=synchronous)  # type: ignore[arg-type]
        try:
            return cls(load_or_create_key(folder), db, registry, **options)
        except BaseException:
            with db.lock:
                db.conn.close()
            raise

    @property
    def did(self) -> str:
        """This holder's DID: the audience its customers' consents must name."""
        return self.key.did

    def now(self, now: int | None = None) -> int:
        """The holder's clock (injectable for tests)."""
        return self._clock() if now is None else now

    def start(self) -> None:
        """Start following the registry's change feed and its trust list (recipient names), and the
        database's upkeep (SQLite: WAL checkpoints on their own thread, not inside a commit).

        A holder built without a data source refuses (``no_data_source``): it could only ever
        refuse every release.
        """
        self.check_source()
        self.db.start_background()
        self.status.subscribe()
        self.trust.follow()

    def check_source(self) -> None:
        """Raise ``no_data_source`` unless this holder has a data source."""
        if self.source is None:
            raise NoDataSource("this holder has no data source: give source=load_source('module:function'), "
                               "SqlSource(...), or demo_source() for the demo (CLI: --source, --sql or --demo)")

    def stop(self) -> None:
        """Stop the background work (change feed, trust list refresh, WAL checkpoints); the stores stay open."""
        self.status.close()
        self.trust.close()
        self.db.stop_background()

    def close(self) -> None:
        """Stop the background work, commit what is queued, and close the database."""
        self.stop()
        self.commits.close()
        with self.db.lock:
            self.db.conn.close()

    # ------------------------------------------------------------------ verification and release

    def verify(self, data: bytes, now: int | None = None) -> Grant:
        """The decision for presentation bytes (using the presentation up), recording nothing."""
        return verify_presentation(data, holder=self.did, customer_for=self.links.customer_for,
                                   replay=self.replay, status=self.status, nonces=self.nonces,
                                   credentials=self.credentials,
                                   window=self.window, now=self.now(now))

    def decide(self, data: bytes, now: int | None = None) -> Grant:
        """The decision without data (``POST /v1/verify``): uses the presentation up, records a refusal."""
        current = self.now(now)
        claims = Claims(self.db, self.replay, self.nonces)
        try:
            grant = self._verify(data, current, claims)
        except CopyMeError as err:
            self._record(self._refused(err, data, current), claims, data, current)
            raise
        try:
            self.commits.run(lambda: claims.write(current), claims.committed)
        except Replayed as err:  # the same presentation won in another request meanwhile
            self._record(self._refused(err, data, current), None, data, current)
            raise
        return grant

    def release(self, data: bytes, now: int | None = None) -> Release:
        """Verify, read exactly the granted items, write the provision record; or refuse and record why.

        The provision record, its usage receipt and the presentation's replay entry are written
        in one transaction, which has committed before this returns (it may be shared with
        concurrent requests: :class:`~verifier.commits.GroupCommit`): once data leaves, the
        record exists and the presentation is used up.
        """
        current = self.now(now)
        claims = Claims(self.db, self.replay, self.nonces)
        return self._outcome(self._record(self._decide(data, current, claims), claims, data, current))

    @property
    def nonblocking(self) -> bool:
        """Whether a release can run on an event loop: an in-memory source and checks that read no disk.

        Commits never block the loop: they happen on the group-commit thread, whatever the
        ``synchronous`` setting.  On PostgreSQL the checks read the shared database (replay
        entries of other workers), so releases run on a thread there.
        """
        return bool(getattr(self.source, "nonblocking", False)) and self.db.dialect == "sqlite"

    async def release_async(self, data: bytes, now: int | None = None) -> Release | None:
        """:meth:`release` on an event loop, awaiting the group commit; ``None``: call :meth:`release` on a thread.

        The service calls this on its event loop: handing each request to a worker thread and
        back cost more CPU than the checks themselves (GIL hand-offs).  It gives up - before
        anything is written - when the status list would have to be fetched or the data source
        may block.  The response is sent only after the request's record has committed.
        """
        if not self.nonblocking:
            return None
        current = self.now(now)
        claims = Claims(self.db, self.replay, self.nonces)
        try:
            with self.status.cache_only():
                decided = self._decide(data, current, claims)
        except WouldBlock:
            return None
        try:
            await self.commits.run_async(self._writer(decided, claims), claims.committed)
        except Replayed as raced:  # another request used the same id or nonce first: record that instead
            decided = self._after_race(decided, raced, data, current)
            await self.commits.run_async(self._writer(decided, None))
        return self._outcome(decided)

    # ------------------------------------------------------------------ deciding and recording

    def _verify(self, data: bytes, current: int, claims: Claims) -> Grant:
        """:meth:`verify` with the single-use values only checked, into ``claims``."""
        return verify_presentation(data, holder=self.did, customer_for=self.links.customer_for,
                                   replay=claims, status=self.status, nonces=claims,
                                   credentials=self.credentials, window=self.window, now=current)

    def _decide(self, data: bytes, current: int, claims: Claims) -> _Decided:
        """Verify and read the granted items: the release or the refusal, with the record to write."""
        try:
            grant = self._verify(data, current, claims)
        except CopyMeError as err:
            return self._refused(err, data, current)
        name = self.trust.name_of(grant.recipient)
        attempt = Attempt(customer_id=grant.customer_id, user=grant.user, consent=consent_binary(grant.consent_id),
                          presenter=grant.recipient, items=grant.items, purpose=grant.purpose)
        try:
            items = fetch_items(self.source, grant.customer_id, grant.items)
        except CopyMeError as err:
            entry = Records.refusal_entry(err.code, err.detail, recipient=grant.recipient, recipient_name=name,
                                          person=grant.customer_id, user=grant.user, items=grant.items,
                                          purpose=grant.purpose, consent_id=grant.consent_id, now=current)
            return _Decided(entry, attempt, error=err)
        return _Decided(Records.provision_entry(grant, current, recipient_name=name), attempt,
                        release=Release(grant, items))

    def _refused(self, err: CopyMeError, data: bytes, now: int) -> _Decided:
        """A refusal with whatever of the request could be read (only from verified bytes).

        A refusal the holder can attribute to a customer also gets that customer's usage receipt.
        """
        recipient = None
        items: tuple[str, ...] = ()
        purpose = None
        attempt = None
        try:
            presentation = Presentation.decode(data)
            recipient, items, purpose = presentation.presenter, presentation.items, presentation.purpose
            attempt = self._attempt(presentation)
        except CopyMeError:
            pass
        fields: dict[str, Any] = {}
        if attempt is not None:
            fields = dict(person=attempt.customer_id, user=attempt.user, consent_id=cid_text(attempt.consent))
        entry = Records.refusal_entry(err.code, err.detail, recipient=recipient,
                                      recipient_name=self.trust.name_of(recipient), items=items, purpose=purpose,
                                      now=now, **fields)
        return _Decided(entry, attempt, error=err)

    def _writer(self, decided: _Decided, claims: Claims | None) -> Callable[[], object]:
        """The write of ``decided``'s record (and receipt, and ``claims``) inside the shared transaction."""
        entry = dict(decided.entry)  # written afresh on every try: the chain fields are added to the copy
        attempt = decided.attempt
        outcome, reason = ("released", None) if decided.error is None else ("refused", decided.error.code)

        def receipt(at: int) -> None:
            if attempt is not None:
                self.receipts.append(attempt, outcome, reason, at)

        return lambda: self.records.write(entry, claims, receipt)

    def _after_race(self, decided: _Decided, raced: Replayed, data: bytes, now: int) -> _Decided:
        """What to record when another request used ``decided``'s claims first: the refusal, without claims."""
        if decided.error is None:  # it would have been released: it is refused as replayed instead
            return self._refused(raced, data, now)
        return decided  # already a refusal: recorded with its own reason, the claims stay the winner's

    def _record(self, decided: _Decided, claims: Claims | None, data: bytes, now: int) -> _Decided:
        """Write ``decided``'s record with ``claims`` through the group commit (on this thread's wait)."""
        try:
            self.commits.run(self._writer(decided, claims), claims.committed if claims else None)
        except Replayed as raced:
            decided = self._after_race(decided, raced, data, now)
            self.commits.run(self._writer(decided, None))
        return decided

    @staticmethod
    def _outcome(decided: _Decided) -> Release:
        """The release of a recorded decision, or its refusal raised."""
        if decided.error is not None:
            raise decided.error
        assert decided.release is not None
        return decided.release

    def _attempt(self, presentation: Presentation) -> Attempt | None:
        """The customer a verified presentation is about, if its credential verifies and its signer is linked."""
        credential, _consent_id = self.credentials.decode(presentation.credential)
        customer_id = self.links.customer_for(credential.issuer)
        if customer_id is None:
            return None
        return Attempt(customer_id=customer_id, user=credential.issuer, consent=cid_bytes(presentation.credential),
                       presenter=presentation.presenter, items=presentation.items, purpose=presentation.purpose)

    # ------------------------------------------------------------------ usage receipts

    def answer_receipts(self, query: bytes, now: int | None = None) -> ReceiptPage:
        """A wallet's signed receipt query checked (spec 7.7), and its customer's receipts after ``after``."""
        return self.receipts.answer(query, now=self.now(now))

    # ------------------------------------------------------------------ links and nonces

    def new_link_code(self, customer_id: str, *, ttl: int = DEFAULT_CODE_TTL, now: int | None = None) -> str:
        """A one-time link code for a known customer."""
        if self.customers and customer_id not in self.customers:
            raise NotFound(f"no customer {customer_id!r}")
        return self.links.new_code(customer_id, ttl=ttl, now=self.now(now))

    def link(self, proof: bytes, now: int | None = None) -> tuple[str, str]:
        """Link the DID in a signed link proof to the customer its code was issued for."""
        return self.links.link(proof, holder=self.did, now=self.now(now))

    def link_did(self, proof: bytes, now: int | None = None) -> DidLinked:
        """Link one more DID of a customer, vouched for by a DID already linked (see :meth:`LinkStore.link_did`)."""
        return self.links.link_did(proof, holder=self.did, now=self.now(now))

    def issue_nonce(self, now: int | None = None) -> bytes:
        """A nonce for a data user to put in its next presentation."""
        return self.nonces.issue(self.now(now))

