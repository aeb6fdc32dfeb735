"""One company's issuer: its key, its store, what it asks for, and the four things it does.

:class:`Issuer` ties the SDK modules together so that a web framework's routes stay thin:
:meth:`~Issuer.button` (publish a request for one of the company's accounts and show the
CopyMe button), :meth:`~Issuer.receive` (the callback), :meth:`~Issuer.fetch` (use a consent
and write the recipient record) and :meth:`~Issuer.consents` (what we hold, and its state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import HolderClient
from protocol import InvalidArgument, KeyPair, NotFound, clock
from protocol.keyfile import load_or_create_key_file

from .button import CopyMeButton, publish, request_url
from .callback import receive_consent
from .fetch import FetchedData, fetch_data
from .records import ProviderProfile, RecipientRecord, record_receipt
from .requests import build_request
from .status_watch import StatusWatcher, registry_base
from .store import IssuerStorage, StoredConsent

__all__ = ["Issuer", "IssuerConfig", "load_or_create_key", "resolve_holder"]

KEY_FILE = "issuer.key"
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
                 clock_fn: Callable[[], int] | None = None) -> None:
        self.key = key
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
        cfg = self.config
        request = build_request(
            requester=self.key, requester_name=cfg.name, holder=self.holder_did(),
            holder_url=cfg.holder_url, required=cfg.required, optional=cfg.optional,
            purposes=cfg.purposes, notice=cfg.notice, terms_url=cfg.terms_url, terms=cfg.terms,
            callback=base_url.rstrip("/") + "/callback", retention_days=cfg.retention_days,
            onward_sharing=cfg.onward_sharing, validity_days=cfg.validity_days,
            expires_in=cfg.expires_in, now=current,
        )
        return publish(self.store, request, account=account, base_url=base_url, wallet_url=wallet_url)[1]

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
        if not held:
            raise NotFound("no consent is held for this account yet")
        consent = held[0]
        wanted = tuple(items) if items else consent.items
        provider = self.provider()  # before the data arrives: a receipt must not go unrecorded
        data = fetch_data(self.key, consent.raw, holder_url=self.config.holder_url, items=wanted,
                          purpose=purpose or consent.purposes[0], use_nonce=self.use_nonce, now=self.now(now))
        record = record_receipt(self.store, consent, provider=provider,
                                items=tuple(data.items), purpose=data.purpose, now=self.now(now))
        return data, record


def check_account(account: str) -> str:
    """A demo account id: 1 to 64 letters, digits, ``-`` or ``_``."""
    if (not isinstance(account, str) or not 1 <= len(account) <= 64
            or not all(c.isascii() and (c.isalnum() or c in "-_") for c in account)):
        raise InvalidArgument("account must be 1 to 64 letters, digits, - or _", field="account")
    return account
