"""A replacement request may change what the key points sum up only with new key points (spec 3.1)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from protocol import (
    SUMMARISED_TERMS,
    ConsentRequest,
    Item,
    Notice,
    NoticeText,
    StaleNotice,
    changed_terms,
    check_new_notice,
)
from tests.support import samples

OLD = samples.request()


def _notice(old: Notice, **points: tuple[str, ...]) -> Notice:
    texts = {lang: NoticeText(text.title, points.get(lang, text.points)) for lang, text in old.texts.items()}
    return replace(old, texts=texts)


NEW_POINTS = {"ja": ("第三者にも渡します",), "en": ("Passed on to partners",)}


@pytest.mark.parametrize(("term", "changes"), [
    ("items", {"items": (*OLD.items, Item("address", False))}),
    ("items", {"items": tuple(Item(i.id, not i.required) for i in OLD.items)}),
    ("purposes", {"purposes": (*OLD.purposes, "dpv:ServicePersonalisation")}),
    ("retention", {"retention_days": OLD.retention_days + 1}),
    ("onward", {"onward_sharing": not OLD.onward_sharing}),
    ("holder", {"holder": samples.KEYS.stranger.did}),
])
def test_each_summarised_term_needs_new_key_points(term: str, changes: dict[str, Any]) -> None:
    new = replace(OLD, **changes)
    assert changed_terms(OLD, new) == (term,)
    with pytest.raises(StaleNotice) as caught:
        check_new_notice(OLD, new)
    assert (caught.value.code, caught.value.field, caught.value.http_status) == ("stale_notice", "notice", 403)
    assert term in caught.value.detail
    check_new_notice(OLD, replace(new, notice=_notice(OLD.notice, **NEW_POINTS)))


@pytest.mark.parametrize("changes", [
    {},  # a renewal
    {"validity_days": OLD.validity_days + 30},
    {"holder_url": "https://bank.example/v2/data"},
    {"purposes": tuple(reversed(OLD.purposes))},
    {"items": tuple(reversed(OLD.items))},  # the same items in another order
])
def test_what_the_points_do_not_sum_up_may_keep_them(changes: dict[str, Any]) -> None:
    new = replace(OLD, **changes)
    assert changed_terms(OLD, new) == ()
    check_new_notice(OLD, new)


def test_new_points_in_one_language_only_are_still_stale() -> None:
    new = replace(OLD, onward_sharing=not OLD.onward_sharing, notice=_notice(OLD.notice, en=NEW_POINTS["en"]))
    with pytest.raises(StaleNotice) as caught:
        check_new_notice(OLD, new)
    assert "(ja)" in caught.value.detail


def test_a_new_title_or_terms_document_is_not_new_points() -> None:
    texts = {lang: NoticeText("changed " + t.title, t.points) for lang, t in OLD.notice.texts.items()}
    new = replace(OLD, retention_days=OLD.retention_days * 2,
                  notice=replace(OLD.notice, texts=texts, terms_sha256=bytes(32)))
    with pytest.raises(StaleNotice):
        check_new_notice(OLD, new)


def test_the_terms_are_named_in_a_fixed_order() -> None:
    assert SUMMARISED_TERMS == ("items", "purposes", "retention", "onward", "holder")
    new = replace(OLD, onward_sharing=not OLD.onward_sharing, retention_days=1)
    assert changed_terms(OLD, new) == ("retention", "onward")
    assert isinstance(new, ConsentRequest)


def test_the_sample_replacement_request_keeps_the_rule() -> None:
    assert changed_terms(OLD, samples.replacement_request()) == ("purposes",)
    check_new_notice(OLD, samples.replacement_request())
    with pytest.raises(StaleNotice):
        check_new_notice(OLD, replace(samples.replacement_request(), notice=OLD.notice))
