"""The wallet seen from above: a consent list that scales, "who has my data", and what is new.

Read-only views over the store for the dashboard's home page and the CLI's ``news``:

* :func:`listing` — each consent with the date it was given, its last use and, for a revoked
  or expired one, when it ended (such a consent never shows a future "valid until"); filtered
  by state and searched by company or item.
* :func:`companies` — one entry per company that received data: what it received and when,
  and under which consents.
* :func:`news` — since the last visit: new uses, refused attempts, consents ending soon.

A use is a signed usage receipt the wallet pulled from a data holder (:mod:`wallet.pull`):
released, or refused (:func:`is_refusal`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from protocol import DEFAULT_VOCABULARY, CopyMeError, InvalidArgument, Vocabulary, clock

from .consents import ConsentView
from .receipts import HeldReceipt
from .receipts_store import ReceiptStore
from .store import Store

__all__ = ["Company", "Listed", "News", "STATE_FILTERS", "SOON_DAYS", "companies", "ended_at", "is_refusal",
           "listing", "mark_visit", "news"]

#: The state filter's choices (``all``: every consent).
STATE_FILTERS = ("all", "active", "suspended", "revoked", "expired")
#: A consent "ends soon" within this many days.
SOON_DAYS = 14
_VISIT = "last_visit"
_SEEN = "last_seen_receipt"


@dataclass(frozen=True)
class Listed:
    """One consent as the list shows it."""

    consent: ConsentView
    last_use: int | None
    ended_at: int | None

    @property
    def closed(self) -> bool:
        """Revoked or expired: listed under a collapsed section, never with a future date."""
        return self.consent.state in ("revoked", "expired")


@dataclass(frozen=True)
class Company:
    """One company that holds (or may fetch) your data: what it received and when."""

    requester: str
    names: Mapping[str, str]
    verified: bool
    consents: tuple[ConsentView, ...]
    received: tuple[str, ...]
    uses: tuple[HeldReceipt, ...]
    last_use: int | None

    def name(self, lang: str) -> str:
        """The company's name in ``lang``."""
        return self.names.get(lang) or next(iter(self.names.values()), self.requester)

    @property
    def may_fetch(self) -> bool:
        """Whether any of its consents is still active (it may fetch again)."""
        return any(c.state == "active" for c in self.consents)


@dataclass(frozen=True)
class News:
    """What happened since the last visit (``since`` None: the first visit, nothing is "new")."""

    since: int | None
    uses: tuple[HeldReceipt, ...] = ()
    refusals: tuple[HeldReceipt, ...] = ()
    ending: tuple[ConsentView, ...] = ()
    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Nothing to tell."""
        return not (self.uses or self.refusals or self.ending)

    def company(self, consent_id: str, lang: str) -> str:
        """The name of the company behind ``consent_id`` in ``lang``."""
        names = self.names.get(consent_id) or {}
        return names.get(lang) or next(iter(names.values()), "?")


def is_refusal(receipt: HeldReceipt) -> bool:
    """Whether the data holder refused this attempt."""
    return receipt.refused


def ended_at(store: Store) -> dict[str, int]:
    """When each revoked consent was revoked (its last ``revoked`` event)."""
    return store.revocations()


def _matches(consent: ConsentView, words: str, vocabulary: Vocabulary) -> bool:
    texts = [*consent.requester_name.values(), *(consent.holder_name or {}).values(), consent.holder_url,
             *consent.items]
    for item in consent.items:
        try:
            term = vocabulary.item(item)
        except CopyMeError:
            continue
        texts.extend(term.text(lang) for lang in ("ja", "en"))
    haystack = " ".join(texts).casefold()
    return all(word in haystack for word in words.casefold().split())


def listing(store: Store, consents: Iterable[ConsentView], *, state: str = "all", query: str = "",
            vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> list[Listed]:
    """``consents`` filtered by ``state`` (one of :data:`STATE_FILTERS`) and ``query`` (every word
    must appear in a company's name, the data holder, or an item's id or label, any language)."""
    if state not in STATE_FILTERS:
        raise InvalidArgument(f"state must be one of {', '.join(STATE_FILTERS)}", field="state")
    if len(query) > 200:
        raise InvalidArgument("the search is longer than 200 characters", field="q")
    uses = ReceiptStore(store).last_uses()
    revoked = ended_at(store)
    out = []
    for c in consents:
        if state != "all" and c.state != state:
            continue
        if query.strip() and not _matches(c, query, vocabulary):
            continue
        end = revoked.get(c.id) if c.state == "revoked" else c.expires_at if c.state == "expired" else None
        out.append(Listed(c, uses.get(c.id), end))
    return out


def companies(consents: Iterable[ConsentView], receipts: Iterable[HeldReceipt]) -> list[Company]:
    """One :class:`Company` per requester, the most recently used first."""
    by_requester: dict[str, list[ConsentView]] = {}
    for c in consents:
        by_requester.setdefault(c.requester, []).append(c)
    owner = {c.id: req for req, group in by_requester.items() for c in group}
    used: dict[str, list[HeldReceipt]] = {}
    for r in receipts:
        if r.consent_id in owner:
            used.setdefault(owner[r.consent_id], []).append(r)
    out = []
    for requester, group in by_requester.items():
        uses = sorted(used.get(requester, []), key=lambda r: (r.at, r.seq or 0), reverse=True)
        received: list[str] = []
        for r in uses:
            if not is_refusal(r):
                received.extend(i for i in r.items if i not in received)
        out.append(Company(requester, group[0].requester_name, group[0].verified, tuple(group), tuple(received),
                           tuple(uses), uses[0].at if uses else None))
    return sorted(out, key=lambda c: (c.last_use or 0, max(x.issued_at for x in c.consents)), reverse=True)


def news(store: Store, consents: Iterable[ConsentView], *, now: int | None = None,
         soon_days: int = SOON_DAYS) -> News:
    """What is new since the last visit (see :func:`mark_visit`); consents ending within
    ``soon_days`` are listed on every visit until they end."""
    current = clock.now(now)
    raw = store.get_meta(_VISIT)
    since = int(raw) if raw and raw.isdigit() else None
    views = list(consents)
    ending = tuple(sorted((c for c in views if c.state == "active" and c.expires_at - current <= soon_days * 86400),
                          key=lambda c: c.expires_at))
    if since is None:
        return News(None, ending=ending, names={c.id: c.requester_name for c in views})
    # by row order, not by time: a receipt taken in during the visit's second is still new
    seen = store.get_meta(_SEEN) or "0"
    fresh = ReceiptStore(store).taken_after(int(seen) if seen.isdigit() else 0, limit=200)
    return News(since, tuple(r for r in fresh if not is_refusal(r)), tuple(r for r in fresh if is_refusal(r)),
                ending, {c.id: c.requester_name for c in views})


def mark_visit(store: Store, *, now: int | None = None) -> None:
    """Remember this visit: the next :func:`news` reports what happens after it."""
    mark = ReceiptStore(store).mark()
    with store.transaction():
        store.set_meta(_VISIT, str(clock.now(now)))
        store.set_meta(_SEEN, str(mark))
