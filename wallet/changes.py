"""What a replacement request changes, in plain words: the wallet shows it before the user decides.

A data user that changes its terms, or asks to renew a consent, sends a consent request whose
``replaces`` names the consent it replaces (spec 7.11).  :func:`compare` puts the old consent's
terms (what was granted, and the request it answered) next to the new request and lists every
difference a user must see — items, purposes, retention, onward sharing, validity, recipient and
data holder — as short sentences in Japanese or English (the words are the glossary's
:data:`~wallet.glossary.CHANGES`).  No difference at all is a renewal:
"the same terms, valid until …".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from protocol import DEFAULT_VOCABULARY, ConsentCredential, ConsentRequest, Vocabulary

from .glossary import CHANGES
from .glossary import words as glossary_words

__all__ = ["Change", "Replacement", "compare"]

@dataclass(frozen=True)
class Change:
    """One difference: which term (``items``, ``purposes``, ``retention``, ``onward``, ``validity``,
    ``recipient``, ``holder``) and the sentence that says it."""

    term: str
    text: str


@dataclass(frozen=True)
class Replacement:
    """What a replacement request does to the consent it names."""

    replaces: str
    replaced_state: str
    renewal: bool
    summary: str
    changes: tuple[Change, ...]
    #: The items the replaced consent granted (the review offers the same choice again).
    granted: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON view (part of a review's JSON)."""
        return asdict(self)


def _date(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def compare(old: ConsentCredential, old_request: ConsentRequest, new: ConsentRequest, *, state: str, lang: str,
            now: int, vocabulary: Vocabulary = DEFAULT_VOCABULARY,
            names: tuple[str, str] | None = None) -> Replacement:
    """The differences between ``old`` (granted in answer to ``old_request``) and ``new``.

    ``names`` are the old and new requester names to show (default: the requests' own names).
    """
    words = CHANGES[lang if lang in CHANGES else "ja"]
    plain = glossary_words(lang)
    sep = plain["sep"]

    def items(ids: list[str] | set[str]) -> str:
        return sep.join(vocabulary.item(i).text(lang) for i in sorted(ids))

    def purposes(ids: set[str]) -> str:
        return sep.join(vocabulary.purpose(p).text(lang) for p in sorted(ids))

    changes: list[Change] = []
    new_items = {i.id: i.required for i in new.items}
    old_items = {i.id: i.required for i in old_request.items}
    old_required = set(old_request.required_items)
    if added := [i for i in new_items if i not in old_items]:
        changes.append(Change("items", words["items_added"].format(a=items(added))))
    if removed := [i for i in old_items if i not in new_items]:
        changes.append(Change("items", words["items_removed"].format(a=items(removed))))
    if required := [i for i, req in new_items.items() if req and i in old_items and i not in old_required]:
        changes.append(Change("items", words["now_required"].format(a=items(required))))
    if optional := [i for i, req in new_items.items() if not req and i in old_required]:
        changes.append(Change("items", words["now_optional"].format(a=items(optional))))
    if more := set(new.purposes) - set(old.purposes):
        changes.append(Change("purposes", words["purposes_added"].format(a=purposes(more))))
    if fewer := set(old.purposes) - set(new.purposes):
        changes.append(Change("purposes", words["purposes_removed"].format(a=purposes(fewer))))
    if old.retention_days != new.retention_days:
        changes.append(Change("retention", words["retention"].format(a=old.retention_days, b=new.retention_days)))
    if old.onward_sharing != new.onward_sharing:
        changes.append(Change("onward", words["onward"].format(a=plain["yes" if old.onward_sharing else "no"],
                                                                b=plain["yes" if new.onward_sharing else "no"])))
    if old_request.validity_days != new.validity_days:
        changes.append(Change("validity", words["validity"].format(a=old_request.validity_days,
                                                                   b=new.validity_days)))
    old_name = names[0] if names else old_request.requester_name.get(lang, old_request.requester_name["ja"])
    new_name = names[1] if names else new.requester_name.get(lang, new.requester_name["ja"])
    if old.subject != new.requester or old_name != new_name:
        changes.append(Change("recipient", words["recipient"].format(a=old_name, b=new_name)))
    if old.audience != new.holder or old_request.holder_url != new.holder_url:
        changes.append(Change("holder", words["holder"].format(a=old_request.holder_url, b=new.holder_url)))
    renewal = not changes
    summary = (words["renewal"].format(b=_date(now + new.validity_days * 86400)) if renewal
               else words["replacing"].format(a=_date(old.expires_at)))
    return Replacement(replaces=old.cid, replaced_state=state, renewal=renewal, summary=summary,
                       changes=tuple(changes), granted=tuple(old.items))
