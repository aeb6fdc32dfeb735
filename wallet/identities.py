"""The dashboard's view of the pairwise identities: one entry per relationship key, in plain terms.

:class:`~wallet.relationships.Relationship` rows say what the wallet holds (DID, generation,
link state, when replaced); a person wants to know which company and which data holder a key
is for, whether the holder knows it is theirs (and if not, why not), whether it was replaced,
and how many consents in force it signs.  :func:`identities` puts that together from what the
wallet already reads (relationships, links, consents); no SQL of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from .consents import ConsentView
from .relationships import Relationship

__all__ = ["LIVE_STATES", "Identity", "identities"]

#: Consent states that ride on the relationship's current key (re-signed when it is replaced).
LIVE_STATES = frozenset({"active", "suspended"})


@dataclass(frozen=True)
class Identity:
    """One relationship key as the dashboard shows it.

    ``link`` is one of ``linked`` (the holder knows the identifier is the user's),
    ``no_holder_link`` (the user has not linked the wallet at that holder with its code yet),
    ``failed`` (the last try to link it failed: ``link_error`` says why; ``sync`` tries again),
    ``waiting`` (not tried yet), ``refused`` (replaced: the holder refuses it) or ``retired``
    (replaced before the holder ever knew it).
    """

    relationship: Relationship
    company: Mapping[str, str]
    verified: bool
    holder: ConsentView | None
    link: str
    live: int
    consent_ids: tuple[str, ...]

    @property
    def did(self) -> str:
        """The relationship's DID (developer material: shown only in the technical details)."""
        return self.relationship.did

    @property
    def replaced(self) -> bool:
        """Whether this key was replaced by a newer one."""
        return self.relationship.replaced_at is not None

    @property
    def link_error_code(self) -> str | None:
        """The reason code of the last failed link (``unavailable: ...`` -> ``unavailable``)."""
        error = self.relationship.link_error
        return error.split(":", 1)[0].strip() if error else None

    def company_name(self, lang: str) -> str:
        """The data user's name in ``lang`` (its own claim if it is not verified)."""
        return self.company.get(lang) or next(iter(self.company.values()), "")

    def holder_name(self, lang: str) -> str:
        """The data holder's name in ``lang``, else its host."""
        return self.holder.holder_label(lang) if self.holder is not None else ""


def _link_state(relationship: Relationship, holder_linked: bool) -> str:
    if relationship.replaced_at is not None:
        return "refused" if relationship.linked_at is not None else "retired"
    if relationship.linked_at is not None:
        return "linked"
    if not holder_linked:
        return "no_holder_link"
    return "failed" if relationship.link_error else "waiting"


def identities(relationships: Iterable[Relationship], linked_holders: Collection[str],
               consents: Iterable[ConsentView]) -> list[Identity]:
    """The keys in use first (grouped by company, then data holder), then the replaced ones, newest first.

    ``linked_holders``: the data holders at which the user linked the wallet with their code.

    A current key carries the relationship's consents in force (active or suspended: a
    replacement re-signs exactly those); a replaced key carries none any more.
    """
    by_pair: dict[tuple[str, str], list[ConsentView]] = {}
    companies: dict[str, ConsentView] = {}
    holders: dict[str, ConsentView] = {}
    for c in consents:
        by_pair.setdefault((c.holder, c.requester), []).append(c)
        companies.setdefault(c.requester, c)
        holders.setdefault(c.holder, c)
    live = Counter((c.holder, c.requester) for group in by_pair.values() for c in group if c.state in LIVE_STATES)
    out = []
    for r in relationships:
        pair = (r.holder, r.requester)
        company = companies.get(r.requester)
        in_force = by_pair.get(pair, []) if r.replaced_at is None else []
        out.append(Identity(
            relationship=r, company=dict(company.requester_name) if company else {},
            verified=bool(company and company.verified), holder=holders.get(r.holder),
            link=_link_state(r, r.holder in linked_holders), live=live[pair] if r.replaced_at is None else 0,
            consent_ids=tuple(c.id for c in in_force if c.state in LIVE_STATES)))
    current = [i for i in out if not i.replaced]
    replaced = [i for i in out if i.replaced]
    current.sort(key=lambda i: (i.company_name("en"), i.relationship.holder, i.relationship.id))
    replaced.sort(key=lambda i: i.relationship.replaced_at or 0, reverse=True)
    return current + replaced
