"""One company's issuer: its key, its store, what it asks for, and the four things it does.

:class:`Issuer` ties the SDK modules together so that a web framework's routes stay thin:
:meth:`~Issuer.button` (publish a request for one of the company's accounts and show the
CopyMe button), :meth:`~Issuer.receive` (the callback), :meth:`~Issuer.fetch` (use a consent
and write the recipient record) and :meth:`~Issuer.consents` (what we hold, and its state).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import HolderClient
from protocol import Conflict, ConsentRequest, InvalidArgument, KeyPair, NotFound, cid_bytes, clock
from protocol.keyfile import load_or_create_key_file

from .button import CopyMeButton, publish, request_url
from .callback import receive_consent, receive_decline
from .fetch import FetchedData, fetch_data
from .records import ProviderProfile, RecipientRecord, record_receipt
from .requests import build_request
from .rights import DEFAULT_DUE_DAYS, ErasureHook, complete_rights, erase_copied_data, receive_rights_request
from .status_watch import StatusWatcher, registry_base
from .store import CopiedItem, IssuerStorage, StoredConsent, StoredRequest, StoredRights

__all__ = ["Issuer", "IssuerConfig", "load_or_create_key", "resolve_holder"]

KEY_FILE = "issuer.key"
#: The terms a replacement request may change (everything else stays the company's own).
REPLACEABLE = frozenset({"required", "optional", "purposes", "retention_days", "onward_sharing",
                         "validity_days", "notice"})
DB_FILE = "issuer.db"


@dataclass(frozen=True)
class IssuerConfig:
    """What the company asks every user for (the parts of a request that do not change)."""

    name: Mapping[str, str]
    holder_url: str
    required: Sequence[str]
    purposes: Sequence[str]
    notice: Mapping[str, Mapping[str, Any]]
    terms_url: str
    terms: bytes
    optional: Sequence[str] = ()
    holder_name: Mapping[str, str] = field(default_factory=lambda: {"ja": "データ保有者", "en": "Data holder"})
    #: The holder's address, its representative's name (for a corporation) and how it acquires
    #: the data it provides: what APPI Art. 30(1) has us confirm and record at each receipt.
    #: What the holder itself declares at ``GET /v1/holder`` takes precedence.
    holder_address: str = ""
    holder_representative: str = ""
    holder_acquisition: str = ""
    retention_days: int = 365
    onward_sharing: bool = False
    validity_days: int = 180
    expires_in: int = 900
    #: One line under the company's name on its pages, per language (default: the notice's title).
    tagline: Mapping[str, str] = field(default_factory=dict)


def load_or_create_key(home: Path) -> KeyPair:
    """The company's signing key, generated at first start and kept in ``home`` (mode 0600)."""
    return load_or_create_key_file(home / KEY_FILE)


def resolve_holder(holder_base: str, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
    """The data holder's DID and what it declares about itself, from ``GET <holder>/v1/holder``.

    The declaration is the answer's ``name`` and, when the holder states them, ``address``,
    ``representative`` and ``acquisition`` (see :meth:`ProviderProfile.declared`).
    """
    with HolderClient(holder_base, deadline=timeout) as holder:
        body = holder.info()
    did, name = body["did"], body.get("name") or {}
    about: dict[str, Any] = {"name": {k: str(v) for k, v in name.items()}}
    about.update({k: body[k] for k in ("address", "representative", "acquisition") if k in body})
    return did, about


class Issuer:
    """A data user: signs requests, keeps consents per account, fetches data, keeps records."""

    def __init__(self, key: KeyPair, store: IssuerStorage, config: IssuerConfig, *,
                 holder: str | Callable[[], tuple[str, Mapping[str, Any]]],
                 watcher: StatusWatcher | None = None, use_nonce: bool = False,
                 clock_fn: Callable[[], int] | None = None, erasure_hook: ErasureHook | None = None,
                 due_days: int = DEFAULT_DUE_DAYS) -> None:
        """``erasure_hook`` is the company's deletion code run to complete a rights request
        (default: erase what :meth:`fetch` copied under the consent); ``due_days`` is the
        deadline promised in each acknowledgement."""
        self.key = key
        self.erasure_hook: ErasureHook = erasure_hook or erase_copied_data(store)
        self.due_days = due_days
        self._clock = clock_fn
        self.store = store
        self.config = config
        self._holder = holder
        self._holder_did: str | None = holder if isinstance(holder, str) else None
        self._provider = ProviderProfile(name=config.holder_name, address=config.holder_address,
                                         representative=config.holder_representative,
                                         acquisition=config.holder_acquisition)
        self.watcher = watcher
        self.use_nonce = use_nonce

    def now(self, now: int | None = None) -> int:
        """``now`` if given, else this issuer's clock (injectable for tests)."""
        if now is not None:
            return now
        return self._clock() if self._clock is not None else clock.now()

    @property
    def did(self) -> str:
        """Our DID (the requester and presenter of everything we sign)."""
        return self.key.did

    def holder_did(self) -> str:
        """The data holder's DID, asked of the holder once and then remembered."""
        if self._holder_did is None:
            assert callable(self._holder)
            did, about = self._holder()
            self._holder_did = did
            if about and "name" not in about and all(isinstance(v, str) for v in about.values()):
                about = {"name": about}  # an older resolver: (did, {lang: name})
            self._provider = self._provider.declared(about or {})
        return self._holder_did

    def holder_name(self, lang: str) -> str:
        """The data holder's name in ``lang``."""
        return self._provider.display_name(lang) or "data holder"

    def provider(self) -> ProviderProfile:
        """The holder as we confirm it for the recipient records (APPI Art. 30(1))."""
        self.holder_did()
        return self._provider

    def button(self, account: str, base_url: str, *, wallet_url: str | None = None,
               now: int | None = None) -> CopyMeButton:
        """The CopyMe button for ``account``: reuses its open request, else signs a new one."""
        check_account(account)
        current = self.now(now)
        open_request = self.store.open_request(account, current)
        if open_request is not None:
            return CopyMeButton(request_url(base_url, open_request.id), wallet_url)
        request = self._sign_request(self.config, base_url, current)
        return publish(self.store, request, account=account, base_url=base_url, wallet_url=wallet_url)[1]

    def replacement(self, consent_id: str, base_url: str, *, changes: Mapping[str, Any] | None = None,
                    wallet_url: str | None = None, now: int | None = None) -> CopyMeButton:
        """A request that replaces one of our consents: changed terms, or (no ``changes``) a renewal
        of the same terms.  It starts from the terms of the request the consent answered;
        ``changes`` may set ``required``, ``optional``, ``purposes``, ``retention_days``,
        ``onward_sharing``, ``validity_days`` and ``notice``; changing a term the key points sum
        up (items, purposes, retention, onward sharing) needs a new ``notice`` too
        (``stale_notice`` otherwise).  The wallet shows the user what changed; accepting revokes
        the old consent."""
        consent = self.store.consent(consent_id)
        unknown = set(changes or {}) - REPLACEABLE
        if unknown:
            raise InvalidArgument(f"cannot change {', '.join(sorted(unknown))}", field="changes")
        old = self.store.request(consent.request_id).request
        current_terms = dataclasses.replace(
            self.config, required=old.required_items, optional=old.optional_items, purposes=old.purposes,
            retention_days=old.retention_days, onward_sharing=old.onward_sharing,
            validity_days=old.validity_days,
            notice={lang: {"title": t.title, "points": list(t.points)} for lang, t in old.notice.texts.items()})
        config = dataclasses.replace(current_terms, **dict(changes or {}))
        request = self._sign_request(config, base_url, self.now(now), replaces=cid_bytes(consent.raw), previous=old)
        return publish(self.store, request, account=consent.account, base_url=base_url, wallet_url=wallet_url)[1]

    def renew(self, consent_id: str, base_url: str, *, wallet_url: str | None = None,
              now: int | None = None) -> CopyMeButton:
        """A renewal: the consent's own terms again, for a fresh validity period."""
        return self.replacement(consent_id, base_url, wallet_url=wallet_url, now=now)

    def open_replacement(self, account: str, base_url: str, *, wallet_url: str | None = None,
                         now: int | None = None) -> CopyMeButton | None:
        """The button of an unanswered replacement request for ``account``, if there is one."""
        open_request = self.store.open_request(account, self.now(now))
        if open_request is None or open_request.request.replaces is None:
            return None
        return CopyMeButton(request_url(base_url, open_request.id), wallet_url)

    def _sign_request(self, cfg: IssuerConfig, base_url: str, now: int, *,
                      replaces: bytes | None = None, previous: ConsentRequest | None = None) -> ConsentRequest:
        base = base_url.rstrip("/")
        return build_request(
            requester=self.key, requester_name=cfg.name, holder=self.holder_did(),
            holder_url=cfg.holder_url, required=cfg.required, optional=cfg.optional,
            purposes=cfg.purposes, notice=cfg.notice, terms_url=cfg.terms_url, terms=cfg.terms,
            callback=base + "/callback", rights=base + "/rights", replaces=replaces, previous=previous,
            retention_days=cfg.retention_days, onward_sharing=cfg.onward_sharing,
            validity_days=cfg.validity_days, expires_in=cfg.expires_in, now=now,
        )

    def request_bytes(self, request_id: str) -> bytes:
        """The signed bytes of a published request (``not_found`` for others)."""
        return self.store.request(request_id).raw

    def receive(self, body: bytes, *, now: int | None = None, replaces: bytes | None = None) -> StoredConsent:
        """The callback: verify and keep a consent (a re-signed one with its key replacement proof
        ``replaces``), then look up its status."""
        consent = receive_consent(self.store, body, requester=self.did, now=self.now(now), replaces=replaces)
        if self.watcher is not None:
            self.watcher.follow(registry_base(consent.status_uri))
        return consent

    def receive_decline(self, body: bytes, *, now: int | None = None) -> StoredRequest:
        """The callback, for a user's "no": verify the Decline and mark its request declined."""
        return receive_decline(self.store, body, requester=self.did, now=self.now(now))

    def declined(self, account: str | None = None) -> list[StoredRequest]:
        """Requests the users declined (of ``account``), newest first."""
        return self.store.declined(account)

    def consents(self, account: str | None = None) -> list[StoredConsent]:
        """The consents we hold (for ``account``), newest first, with their last known state."""
        return self.store.consents(account)

    def refresh(self, account: str | None = None) -> list[StoredConsent]:
        """Re-read the status of the consents of ``account`` from their registries."""
        if self.watcher is not None:
            for uri in {c.status_uri for c in self.store.consents(account)}:
                self.watcher.refresh_list(uri)
        return self.store.consents(account)

    def fetch(self, account: str, *, consent_id: str | None = None,
              items: Sequence[str] | None = None, purpose: str | None = None,
              now: int | None = None) -> tuple[FetchedData, RecipientRecord]:
        """Fetch data for ``account`` under its newest (or the given) consent and record it.

        The holder decides: a revoked or suspended consent is refused by the holder with its
        reason code, which is raised here unchanged.
        """
        check_account(account)
        held = self.store.consents(account)
        if consent_id is not None:
            held = [c for c in held if c.id == consent_id]
        else:  # the newest consent is one no other consent of ours replaced
            replaced = {c.replaces for c in held}
            held = [c for c in held if c.id not in replaced] or held
        if not held:
            raise NotFound("no consent is held for this account yet")
        consent = held[0]
        if self.store.rights_list(consent_id=consent.id):
            raise Conflict("the user asked us to stop using the data of this consent")
        wanted = tuple(items) if items else consent.items
        provider = self.provider()  # before the data arrives: a receipt must not go unrecorded
        data = fetch_data(self.key, consent.raw, holder_url=self.config.holder_url, items=wanted,
                          purpose=purpose or consent.purposes[0], use_nonce=self.use_nonce, now=self.now(now))
        record = record_receipt(self.store, consent, provider=provider,
                                items=tuple(data.items), purpose=data.purpose, now=self.now(now))
        self.store.keep_copied(consent.id, account, data.items, self.now(now))
        return data, record

    def copied(self, account: str | None = None) -> list[CopiedItem]:
        """The data we keep, copied from the holder (for ``account``)."""
        return self.store.copied(account=account)

    def receive_rights(self, body: bytes, *, now: int | None = None) -> StoredRights:
        """The rights endpoint: check a rights request, keep it, and sign our acknowledgement."""
        return receive_rights_request(self.store, body, key=self.key, now=self.now(now), due_days=self.due_days)

    def rights_answers(self, rights_id: str) -> StoredRights:
        """A rights request we received, with our signed answers (``not_found`` for others)."""
        return self.store.rights(rights_id)

    def rights(self, *, account: str | None = None, open_only: bool = False) -> list[StoredRights]:
        """Rights requests received (only the unfinished ones with ``open_only``)."""
        return self.store.rights_list(account=account, open_only=open_only)

    def complete_rights(self, rights_id: str, *, now: int | None = None) -> StoredRights:
        """Run the deletion hook for a rights request and sign our completion."""
        return complete_rights(self.store, rights_id, key=self.key, hook=self.erasure_hook, now=self.now(now))


def check_account(account: str) -> str:
    """A demo account id: 1 to 64 letters, digits, ``-`` or ``_``."""
    if (not isinstance(account, str) or not 1 <= len(account) <= 64
            or not all(c.isascii() and (c.isalnum() or c in "-_") for c in account)):
        raise InvalidArgument("account must be 1 to 64 letters, digits, - or _", field="account")
    return account
