"""The wallet's front door: :class:`Wallet` ties the store, the keys, the status lists, the
trust list and the registry together, one method per thing a user does.

The CLI, the local JSON API and the dashboard are thin layers over these methods.
Every change is one database transaction; network calls (registry, callbacks, holders) happen
after the transaction, and their failure never loses what was stored.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from common import RegistryClient
from protocol import (
    DEFAULT_VOCABULARY,
    Conflict,
    ConsentCredential,
    ConsentRequest,
    CopyMeError,
    InvalidArgument,
    KeyPair,
    RightsKind,
    Status,
    Vocabulary,
    clock,
)

from . import consents as _consents
from . import decisions, linking, opening, reconsent
from . import listing as _listing
from .backup import restore_with_seed
from .consents import ConsentView, Review, check_lang
from .derive import Seed
from .errors import NotInitialised, Undelivered, WalletExists, WalletLocked
from .home import Home
from .keystore import KeyStore
from .pull import DEFAULT_DEADLINE, PullResult, pull_all
from .receipts import HeldReceipt, PullState
from .receipts_store import ReceiptStore
from .relationships import Relationship, Relationships
from .replacement import Replacement, replace_key, replacement_proof
from .results import ChangeResult, ConsentDetail, checks_when_consenting
from .rights import RightsDesk, RightsView
from .status import PublishResult, StatusLists
from .store import Store
from .trust import TrustCheck, TrustLists

__all__ = ["ChangeResult", "ConsentDetail", "Wallet"]

_STATUS_OF = {"active": Status.VALID, "suspended": Status.SUSPENDED, "revoked": Status.REVOKED}


class Wallet:
    """One open wallet.  Open with :meth:`open` (or create with :meth:`init`); close when done.

    Opened without a passphrase it can list and show, but not sign (``locked``).
    """

    def __init__(self, home: Home, store: Store, keys: KeyStore | None, *,
                 vocabulary: Vocabulary = DEFAULT_VOCABULARY, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 5.0) -> None:
        self.home = home
        self.store = store
        self.keys = keys
        self.vocabulary = vocabulary
        self.transport = transport
        self.timeout = timeout
        registry = store.get_meta("registry")
        if registry is None:
            raise NotInitialised("the wallet database has no registry (damaged init?)")
        self.registry = RegistryClient(registry, timeout=timeout, transport=transport)
        #: Guards the wallet's state (one SQLite connection, shared by the API's threads).  It is
        #: never held over the network: methods that fetch or send take it only around their
        #: reads and writes, so a slow peer cannot keep a revoke waiting (see :mod:`wallet.api`).
        self.guard = threading.RLock()
        #: Taken by a key replacement (:mod:`wallet.replacement`) for its whole run, network
        #: included: one at a time, while the guard stays free for everything else.
        self.replacing = threading.Lock()
        self.lists = StatusLists(store, self.registry, keys.data_key if keys else None, guard=self.guard)
        self.trust = TrustLists(store, self.registry, guard=self.guard)
        self.relationships = Relationships(store, keys)
        self.receipt_store = ReceiptStore(store)
        self.rights_desk = RightsDesk(store, self._signer, timeout=timeout, transport=transport, guard=self.guard)

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    def init(cls, home: Home | str | os.PathLike[str] | None, passphrase: str, *, registry: str,
             council: str | None = None, kdf: str | None = None, now: int | None = None,
             seed: Seed | None = None, transport: httpx.AsyncBaseTransport | None = None,
             council_name: Mapping[str, str] | None = None) -> Wallet:
        """Create a new wallet: keys derived from ``seed`` (fresh entropy by default; its recovery
        phrase is ``wallet.keys.phrase_seed.phrase(lang)``) sealed by ``passphrase``, an empty database.

        Refuses (``wallet_exists``) if the home already holds a wallet.  The trust list's council
        DID is pinned from ``council``, else from the registry's list on first use;
        ``council_name`` (``{"ja": …, "en": …}``) is who the pages say vouches for a verified name.
        """
        home = home if isinstance(home, Home) else Home.at(home)
        store, keys = opening.create(home, passphrase, registry=registry, council=council, kdf=kdf, now=now,
                                     seed=seed, council_name=council_name)
        wallet = cls(home, store, keys, transport=transport)
        if council is None:
            wallet.trust.load(now)  # trust on first use; a registry that is down pins later
        return wallet

    @classmethod
    def recover(cls, home: Home | str | os.PathLike[str] | None, phrase: str, passphrase: str, *,
                backup: Path | None = None, registry: str | None = None, council: str | None = None,
                kdf: str | None = None, now: int | None = None,
                transport: httpx.AsyncBaseTransport | None = None) -> Wallet:
        """Rebuild a wallet on a new machine from its recovery phrase.

        With ``backup`` (a file from :func:`wallet.write_backup`, opened with ``passphrase``) every
        consent, list and relationship comes back; the backup must belong to the phrase's wallet
        (``bad_backup`` otherwise).  Without it, a wallet with the same keys and no consents is
        made (``registry`` is then needed).  A wrong phrase is ``bad_phrase`` naming the bad word;
        nothing is created on any error.
        """
        home = home if isinstance(home, Home) else Home.at(home)
        seed = Seed.from_phrase(phrase)
        if home.exists():
            raise WalletExists(f"there is already a wallet in {home.path}; recover only into an empty home")
        if backup is None:
            if registry is None:
                raise InvalidArgument("recovering without a backup needs the registry URL", field="registry")
            return cls.init(home, passphrase, registry=registry, council=council, kdf=kdf, now=now, seed=seed,
                            transport=transport)
        restore_with_seed(home, backup, passphrase, seed, kdf=kdf)
        return cls.open(home, passphrase, transport=transport)

    @classmethod
    def open(cls, home: Home | str | os.PathLike[str] | None, passphrase: str | None = None, *,
             transport: httpx.AsyncBaseTransport | None = None, timeout: float = 5.0) -> Wallet:
        """Open an existing wallet; with ``passphrase`` its keys are unlocked (``wrong_passphrase``)."""
        home = home if isinstance(home, Home) else Home.at(home)
        store, keys = opening.open_parts(home, passphrase)
        wallet = cls(home, store, keys, transport=transport, timeout=timeout)
        opening.check_keys(store, keys)
        return wallet

    def close(self) -> None:
        """Close the database and the connections to the registry and data users."""
        self.registry.close()
        self.rights_desk.close()
        self.store.close()

    def __enter__(self) -> Wallet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def did(self) -> str:
        """The user's DID."""
        did = self.store.get_meta("did")
        if did is None:
            raise NotInitialised("the wallet has no DID")
        return did

    @property
    def registry_url(self) -> str:
        """The registry the wallet publishes to."""
        return self.registry.base_url

    def _identity(self) -> KeyStore:
        if self.keys is None:
            raise WalletLocked("this needs the wallet's passphrase")
        return self.keys

    def _signer(self, consent: ConsentCredential) -> KeyPair:
        """The private key that signed ``consent`` (its ``iss``), never simply "the wallet's DID":
        the key of the consent's relationship (or, for a consent from before pairwise DIDs, the
        wallet's own key)."""
        keys = self._identity()
        if keys.identity.did == consent.issuer:
            return keys.identity
        return self.relationships.key(self.relationships.by_did(consent.issuer))

    # -- understand -------------------------------------------------------------------------

    def review(self, source: str, *, lang: str = "ja", now: int | None = None) -> Review:
        """Fetch (URL, deep link or file), verify and store a request; what to show the user.

        The fetch has an overall deadline (``timeout``) and runs without :attr:`guard`.
        """
        check_lang(lang)
        raw = _consents.fetch_request(source, timeout=self.timeout, transport=self.transport)
        return self.review_bytes(raw, source=source, lang=lang, now=now)

    def preview(self, source: str, *, lang: str = "ja", now: int | None = None) -> Review:
        """What :meth:`review` shows, without storing anything: for pages opened with a GET, which
        must not change state.  The request is stored when the user decides (see the dashboard)."""
        check_lang(lang)
        raw = _consents.fetch_request(source, timeout=self.timeout, transport=self.transport)
        request = _consents.verify_request(raw, now=now, vocabulary=self.vocabulary)
        self.trust.load(now)  # over the network (if not loaded yet), before taking the guard
        with self.guard:
            if request.replaces_cid is not None:
                reconsent.check(self.store, request)
            return self._review_of(request, source, lang, decisions.decision(self.store, request.cid), now)

    def review_bytes(self, raw: bytes, *, source: str = "bytes", lang: str = "ja", now: int | None = None) -> Review:
        """:meth:`review` for request bytes already at hand."""
        check_lang(lang)
        request = _consents.verify_request(raw, now=now, vocabulary=self.vocabulary)
        if request.replaces_cid is not None:
            with self.guard:
                # unknown_consent / foreign_consent / stale_notice: nothing stored
                reconsent.check(self.store, request)
        self.trust.load(now)  # over the network (if not loaded yet), before taking the guard
        with self.guard:
            decisions.keep(self.store, request, source=source, lang=lang, now=now)
            return self._review_of(request, source, lang, decisions.decision(self.store, request.cid), now)

    def _review_of(self, request: ConsentRequest, source: str, lang: str, decision: str,
                   now: int | None, checks: tuple[TrustCheck, TrustCheck] | None = None) -> Review:
        requester, holder = checks or (self.trust.check(request.requester, now, refresh=False),
                                       self.trust.check(request.holder, now, refresh=False))
        review = Review.build(request, source=source, lang=lang, requester=requester, holder=holder,
                              vocabulary=self.vocabulary, decision=decision,
                              council_name=self.council_name(lang) if requester.verified else "")
        return reconsent.with_changes(self.store, request, review, now=clock.now(now), vocabulary=self.vocabulary,
                                      shown_name=lambda cid: self.consent(cid, now=now).name(lang))

    def council_name(self, lang: str) -> str:
        """The name of the council whose trust list vouches for verified names ("" if not set)."""
        return opening.council_name(self.store, lang)

    # -- decide -----------------------------------------------------------------------------

    def accept(self, review: Review | str, *, items: list[str] | tuple[str, ...] | None = None,
               lang: str | None = None, now: int | None = None, deliver: bool = True,
               validity_days: int | None = None) -> ConsentView:
        """Consent to a received request (all items, or ``items``): sign, store, publish, deliver.

        ``validity_days`` shortens the requested validity (``invalid`` outside 1..requested).

        The consent is stored even if publishing or delivery fails (it is then pending and/or
        undelivered; see :meth:`sync` and :meth:`deliver`).
        """
        self._identity()
        self.trust.load(now)  # over the network (if not loaded yet), before taking the guard
        with self.guard:
            consent_id, holder = decisions.grant(self, review, items, lang, now, validity_days)
        self.lists.sync(now)
        # before delivery, so the holder knows the DID by the time the data user presents it
        self.link_relationships(holder, now=now)
        if deliver:
            try:
                self.deliver(consent_id)
            except CopyMeError:
                pass  # kept and marked undelivered; ``deliver`` retries
        self._end_replaced(consent_id, now)
        with self.guard:
            return self.consent(consent_id, now=now)

    def _end_replaced(self, consent_id: str, now: int | None) -> None:
        """After accepting a replacement request: revoke the consent it replaces (one step for the
        user), unless it has already ended."""
        with self.guard:
            request = decisions.replaced_by(self.store, consent_id)
            if request.replaces_cid is None:
                return
            _old, state = reconsent.replaced(self.store, request)
        if state in ("active", "suspended"):
            self._change(request.replaces_cid, "revoked", ("active", "suspended"), now)

    def decline(self, review: Review | str, *, lang: str | None = None, now: int | None = None) -> Review:
        """Record that the user declined, and tell the requester: a Decline naming only the
        request, signed with a one-time key, goes to its callback (``notified`` says whether it
        arrived; a failure changes nothing).  Returns the review, in ``lang``, else the review's
        language, else the one the request was last shown in.  The callback is called without
        :attr:`guard`, with an overall deadline."""
        with self.guard:
            request, row, lang = decisions.decide_decline(self.store, review, lang, now)
            shown = self._review_of(request, row.source, lang, "declined", now)
        notified = _consents.send_decline(request, timeout=self.timeout, transport=self.transport, now=now)
        return replace(shown, notified=notified)

    def deliver(self, consent_id: str) -> ConsentView:
        """(Re)send a stored consent to its request's callback; ``undelivered`` if it is refused.

        The callback is the requester's URL: it is called without :attr:`guard`, with an overall deadline.
        """
        with self.guard:
            consent_id = self.resolve(consent_id)
            delivery = self.store.delivery(consent_id)
        try:
            _consents.deliver(delivery.callback, delivery.raw, timeout=self.timeout, transport=self.transport,
                              replaces=replacement_proof(self, delivery.raw))
        except CopyMeError as err:
            with self.guard, self.store.transaction():
                self.store.set_delivered(consent_id, f"{err.code}: {err.detail}")
            raise Undelivered(f"the consent is kept, but {delivery.callback} did not take it "
                              f"({err.code}: {err.detail})") from err
        with self.guard:
            with self.store.transaction():
                self.store.set_delivered(consent_id)
            return self.consent(consent_id)

    # -- see --------------------------------------------------------------------------------

    def resolve(self, consent_id: str) -> str:
        """The full id for an id, or a unique prefix or suffix of at least 6 characters."""
        return _listing.resolve(self.store, consent_id)

    def iter_consents(self, *, state: str | None = None, holder: str | None = None, requester: str | None = None,
                      now: int | None = None) -> Iterator[ConsentView]:
        """Every consent, newest first, read from the database a page at a time (see
        :mod:`wallet.listing`); filter by state (active, suspended, revoked, expired), holder and
        requester (a DID, or part of a name or of the holder's URL).  Bad filters raise at once."""
        return _listing.iter_consents(self.store, state=state, holder=holder, requester=requester, now=now)

    def consents(self, *, state: str | None = None, holder: str | None = None, requester: str | None = None,
                 now: int | None = None) -> list[ConsentView]:
        """:meth:`iter_consents` as a list (for callers that need them all at once)."""
        return list(self.iter_consents(state=state, holder=holder, requester=requester, now=now))

    def due(self, *, days: int = 30, now: int | None = None) -> list[ConsentView]:
        """Active or suspended consents that end within ``days`` days, soonest first."""
        if type(days) is not int or not 1 <= days <= 3650:
            raise InvalidArgument("days must be 1 to 3650", field="days")
        current = clock.now(now)
        found = [c for c in self.iter_consents(now=current)
                 if c.state in ("active", "suspended") and c.expires_at <= current + days * 86400]
        return sorted(found, key=lambda c: c.expires_at)

    def consent(self, consent_id: str, *, now: int | None = None) -> ConsentView:
        """One consent."""
        return _listing.one(self.store, self.resolve(consent_id), now)

    def detail(self, consent_id: str, *, now: int | None = None) -> ConsentDetail:
        """Everything about one consent: what was shown, hashes, the credential, history, receipts."""
        view = self.consent(consent_id, now=now)
        stored = self.store.as_received(view.id)
        request = ConsentRequest.decode(stored.request)
        review = self._review_of(request, stored.source, view.lang, "accepted", now, checks_when_consenting(view))
        events = [e.to_json() for e in self.store.events(view.id)]
        return ConsentDetail(view, review, stored.credential, stored.request, request.notice.terms_sha256.hex(),
                             events, self.receipts(view.id), self.rights_desk.list(view.id, now=now))

    # -- change -----------------------------------------------------------------------------

    def revoke(self, consent_id: str, *, erase: RightsKind | str | None = None,
               now: int | None = None) -> ChangeResult:
        """Stop a consent for good; with ``erase`` (``stop_use``, ``erase`` or ``both``) also ask
        the data user to stop using / erase what it copied (see :meth:`ask_rights`).  A data user
        that declared no rights endpoint is ``no_rights_endpoint`` before anything changes."""
        if erase is not None:
            erase = _kind(erase)
            with self.guard:
                consent_id = self.resolve(consent_id)
            self.rights_desk.endpoint(consent_id)
        result = self._change(consent_id, "revoked", ("active", "suspended"), now)
        if erase is None:
            return result
        return replace(result, rights=self.ask_rights(result.consent_id, erase, now=now))

    # -- after the copy -------------------------------------------------------------------

    def ask_rights(self, consent_id: str, kind: RightsKind | str, *, now: int | None = None) -> RightsView:
        """Ask the consent's data user to stop using and/or erase its data (signed, sent to the
        endpoint it declared); kept and retried by :meth:`follow_up_rights` if delivery fails.
        The data user is called without :attr:`guard`, with an overall deadline."""
        self._identity()
        with self.guard:
            full = self.resolve(consent_id)
        return self.rights_desk.ask(full, _kind(kind), now=now)

    def rights(self, consent_id: str | None = None, *, now: int | None = None) -> list[RightsView]:
        """The rights requests sent (about one consent), oldest first, with their state."""
        with self.guard:
            return self.rights_desk.list(self.resolve(consent_id) if consent_id else None, now=now)

    def follow_up_rights(self, *, now: int | None = None) -> list[RightsView]:
        """Retry undelivered rights requests and fetch the answers of unfinished ones."""
        self._identity()
        return self.rights_desk.follow_up(now=now)

    def suspend(self, consent_id: str, *, now: int | None = None) -> ChangeResult:
        """Pause a consent until :meth:`resume`."""
        return self._change(consent_id, "suspended", ("active",), now)

    def resume(self, consent_id: str, *, now: int | None = None) -> ChangeResult:
        """Resume a suspended consent (a revoked one stays revoked)."""
        return self._change(consent_id, "active", ("suspended",), now)

    def _change(self, consent_id: str, new: str, allowed: tuple[str, ...], now: int | None) -> ChangeResult:
        self._identity()
        current = clock.now(now)
        with self.guard, self.store.transaction():
            full = self.resolve(consent_id)
            entry = self.store.entry(full)
            if entry.state not in allowed:
                verb = {"revoked": "revoke", "suspended": "suspend", "active": "resume"}[new]
                raise Conflict(f"cannot {verb} a consent that is {entry.state}"
                               + (" (revoking is final)" if entry.state == "revoked" else ""))
            self.lists.set(entry.list_id, entry.idx, _STATUS_OF[new], current)
            self.store.set_state(full, new)
            self._event(full, new, entry.list_id, current)
        mine = self.lists.publish_change(entry.list_id, current)  # first: nothing else before the PUT
        return ChangeResult(full, new, mine.iat, mine.accepted, mine.error, mine.detail)

    def _event(self, consent_id: str, status: str, list_id: str, now: int) -> None:
        self.lists.record_event(consent_id, status, list_id, now)

    def sync(self, *, now: int | None = None) -> list[PublishResult]:
        """Publish every pending status list version (and refresh lists about to expire), and link
        relationship DIDs a holder has not taken yet."""
        self._identity()
        results = self.lists.sync(now)
        self.link_relationships(now=now)
        return results

    def pending(self) -> list[str]:
        """Ids of lists with changes the registry has not accepted yet."""
        return self.lists.pending()

    # -- link -------------------------------------------------------------------------------

    def link(self, holder_url: str, code: str, *, holder: str | None = None, now: int | None = None) -> dict[str, Any]:
        """Link this wallet at a data holder with its one-time code: the DID derived for that holder
        signs the code; then every relationship DID of that holder is linked by a proof from it.
        ``holder``: the DID expected at ``holder_url`` (another one is ``wrong_audience``)."""
        return linking.link(self, self._identity(), holder_url, code, now=now, expect=holder)

    def replace_key(self, ref: str, *, now: int | None = None) -> Replacement:
        """Replace a relationship's key (its DID, or one of its consents' ids): see :mod:`wallet.replacement`."""
        return replace_key(self, self._identity(), ref, now=now)

    def link_relationships(self, holder: str | None = None, *, now: int | None = None) -> list[Relationship]:
        """Link every relationship DID not yet linked at a holder the user linked (or at ``holder``).

        Best effort: a holder that refuses or does not answer leaves the relationship unlinked
        with the error recorded (``relationships``), and the next ``sync`` tries again.
        """
        self._identity()
        return linking.link_relationships(self, holder, now=now)

    # -- receipts ---------------------------------------------------------------------------

    def pull_receipts(self, *, lock: Callable[[], AbstractContextManager[Any]] | None = None,
                      deadline: float = DEFAULT_DEADLINE, now: int | None = None) -> list[PullResult]:
        """Pull new signed usage receipts from every linked holder (see :mod:`wallet.pull`).

        ``lock`` guards the database and is never held while waiting for a holder.
        """
        keys = self._identity()

        def linked_key(holder: str) -> KeyPair:  # the DID linked there with the holder's code signs the query
            link = self.relationships.holder_link(holder)
            return self.relationships.anchor_key(link) if link is not None else keys.identity

        return pull_all(self.receipt_store, linked_key, lock=lock or (lambda: self.guard), transport=self.transport,
                        timeout=self.timeout, deadline=deadline, now=now)

    def receipts(self, consent_id: str | None = None) -> list[HeldReceipt]:
        """Verified receipts of one consent (or all), oldest first."""
        if consent_id is None:
            return self.receipt_store.all()
        return self.receipt_store.of_consent(self.resolve(consent_id))

    def receipt_warnings(self) -> list[PullState]:
        """Holders whose last pull stopped at a problem (a gap, a rewritten receipt, no answer ...)."""
        return self.receipt_store.warnings()

    def info(self) -> dict[str, Any]:
        """The wallet's public facts: DID, registry, pinned council, counts."""
        return {"did": self.did, "home": str(self.home.path), "registry": self.registry_url,
                "council": self.store.get_meta("council"),
                "consents": self.store.count("consents"),
                "relationships": self.relationships.in_use(),
                "pending_lists": self.pending()}


def _kind(kind: RightsKind | str) -> RightsKind:
    try:
        return RightsKind(kind)
    except ValueError:
        raise InvalidArgument("kind must be stop_use, erase or both", field="kind") from None
