"""What a replacement request may change without a new notice (spec 3.1, 7.11).

A consent request's notice sums its terms up in at most three key points per language
("第三者には渡しません（365日で削除）").  A request that replaces a consent (``replaces``) starts
from the old request's terms; if it changes a term such a point summarises — the items, the
purposes, the retention, onward sharing or the data holder — and keeps the old points, the
wallet would show "Passed on to others: no → yes" under a point that still says "never passed
on".  :func:`check_new_notice` refuses that (``stale_notice``): the issuer's SDK before it signs,
the wallet before it stores or shows the request.  A renewal (the same terms) and a change of
validity alone may keep the notice.

The check is mechanical: it cannot read the points, only see that they are the same as before.
"""

from __future__ import annotations

from .errors import StaleNotice
from .request import ConsentRequest

__all__ = ["SUMMARISED_TERMS", "changed_terms", "check_new_notice"]

#: The terms a notice's key points sum up, by the names :func:`changed_terms` gives them.
SUMMARISED_TERMS = ("items", "purposes", "retention", "onward", "holder")


def changed_terms(old: ConsentRequest, new: ConsentRequest) -> tuple[str, ...]:
    """Which of :data:`SUMMARISED_TERMS` ``new`` changes compared with ``old``, in that order."""
    changed = {
        "items": {(i.id, i.required) for i in old.items} != {(i.id, i.required) for i in new.items},
        "purposes": set(old.purposes) != set(new.purposes),
        "retention": old.retention_days != new.retention_days,
        "onward": old.onward_sharing != new.onward_sharing,
        "holder": old.holder != new.holder,  # another data holder (a new URL of the same one is not)
    }
    return tuple(term for term in SUMMARISED_TERMS if changed[term])


def check_new_notice(old: ConsentRequest, new: ConsentRequest) -> None:
    """Refuse (``stale_notice``) a request replacing one answered to ``old`` that changes a
    summarised term but keeps, in any language both notices have, the old key points."""
    terms = changed_terms(old, new)
    if not terms:
        return
    stale = sorted(lang for lang, text in new.notice.texts.items()
                   if lang in old.notice.texts and old.notice.texts[lang].points == text.points)
    if stale:
        raise StaleNotice(f"the request changes {', '.join(terms)} but keeps the old key points "
                          f"({', '.join(stale)}); write key points for the new terms", field="notice")
