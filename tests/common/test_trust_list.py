"""common.CouncilTrustList: the one place a council's trust list is verified (spec 3.5), for the
wallet, the data holder and the data user's status watcher.  A list is used only when it
verifies, is the pinned council's, is valid now and is not older than the one in use; a refused
list changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import CouncilTrustList
from protocol import CopyMeError, TrustList, Unavailable
from tests.support.samples import KEYS, NOW, trust_list

OTHER = "http://127.0.0.1:8601"
DAY = 86400


def _signed(*, now: int = NOW, registries: tuple[str, ...] = (OTHER,), signer: str = "council",
            lifetime: int = 30 * DAY) -> bytes:
    key = getattr(KEYS, signer)
    base = replace(trust_list(now=now, registries=registries), issuer=key.did, expires_at=now + lifetime)
    return base.sign(key)


def _pinned() -> CouncilTrustList:
    return CouncilTrustList(KEYS.council.did)


def test_a_list_of_the_pinned_council_is_used() -> None:
    pinned = _pinned()
    raw = _signed()
    trust = pinned.use(raw, NOW + 10)
    assert pinned.current == trust and pinned.raw == raw
    assert pinned.find(KEYS.requester.did) is not None and pinned.find(KEYS.stranger.did) is None
    assert pinned.registries(NOW + 10) == (OTHER,)
    assert pinned.registries(NOW + 30 * DAY) == ()  # past its exp it names nothing


def _truncated() -> bytes:
    return _signed()[:-7]


def _bad_signature() -> bytes:
    raw = bytearray(_signed())
    raw[-1] ^= 1
    return bytes(raw)


@pytest.mark.parametrize(("make", "now", "code"), [
    (lambda: _signed(signer="stranger"), NOW, "unknown_key"),
    (lambda: _signed(now=NOW - 2 * DAY, lifetime=DAY), NOW, "expired"),
    (lambda: _signed(now=NOW + 3600), NOW, "not_yet_valid"),
    (_truncated, NOW, "malformed"),
    (_bad_signature, NOW, "bad_signature"),
    (lambda: _signed(now=NOW - 60), NOW, "replayed"),  # older than the list in use
    (lambda: b"", NOW, "malformed"),
], ids=["another council", "expired", "not yet valid", "truncated", "bad signature", "older", "empty"])
def test_a_list_that_fails_a_check_is_refused_and_the_one_in_use_kept(
        make: Callable[[], bytes], now: int, code: str) -> None:
    pinned = _pinned()
    good = _signed()
    pinned.use(good, NOW)
    with pytest.raises(CopyMeError) as refused:
        pinned.use(make(), now)
    assert refused.value.code == code
    assert pinned.raw == good and pinned.council == KEYS.council.did
    assert pinned.registries(NOW) == (OTHER,)


def test_an_equal_or_newer_list_replaces_the_one_in_use() -> None:
    pinned = _pinned()
    pinned.use(_signed(), NOW)
    same_time = _signed(registries=())  # the council dropped the registry within the same second
    pinned.use(same_time, NOW)
    assert pinned.registries(NOW) == ()
    pinned.use(_signed(now=NOW + 5), NOW + 5)
    assert pinned.registries(NOW + 5) == (OTHER,)


def test_without_a_council_no_list_is_used_unless_the_first_one_pins_it() -> None:
    unpinned = CouncilTrustList()
    with pytest.raises(CopyMeError) as refused:
        unpinned.use(_signed(), NOW)
    assert refused.value.code == "unknown_key" and unpinned.current is None and unpinned.council is None

    first_use = CouncilTrustList(first_use=True)
    first_use.use(_signed(), NOW)
    assert first_use.council == KEYS.council.did  # pinned now: another council's list is refused
    with pytest.raises(CopyMeError, match="not the pinned council"):
        first_use.use(_signed(signer="stranger", now=NOW + 1), NOW + 1)


def test_verify_checks_without_using() -> None:
    pinned = _pinned()
    trust = pinned.verify(_signed(), NOW)
    assert isinstance(trust, TrustList) and pinned.current is None and pinned.raw is None


def test_fetch_uses_the_first_source_whose_list_passes() -> None:
    pinned = _pinned()
    asked: list[str] = []

    def source(name: str, answer: Callable[[], bytes]) -> tuple[str, Callable[[], bytes]]:
        def fetch() -> bytes:
            asked.append(name)
            return answer()
        return name, fetch

    def down() -> bytes:
        raise Unavailable("registry down")

    def broken() -> bytes:
        raise RuntimeError("a client bug")

    good = _signed()
    trust = pinned.fetch([source("down", down), source("broken", broken),
                          source("forged", lambda: _signed(signer="stranger")), source("good", lambda: good),
                          source("never asked", lambda: good)], NOW)
    assert asked == ["down", "broken", "forged", "good"] and pinned.raw == good and trust == pinned.current


@pytest.mark.parametrize(("answer", "code"), [
    (RuntimeError("a client bug"), "unavailable"),
    (Unavailable("registry down"), "unavailable"),
    (_signed(signer="stranger"), "unknown_key"),
], ids=["broken", "down", "forged"])
def test_fetch_raises_the_last_refusal_and_keeps_the_list_in_use(answer: object, code: str) -> None:
    pinned = _pinned()
    good = _signed()
    pinned.use(good, NOW)

    def fetch() -> bytes:
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, bytes)
        return answer

    with pytest.raises(CopyMeError) as refused:
        pinned.fetch([("only", fetch)], NOW + 1)
    assert refused.value.code == code and pinned.raw == good


def test_fetch_without_a_source_is_unavailable() -> None:
    with pytest.raises(Unavailable):
        _pinned().fetch([], NOW)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_are_used_or_refused_with_a_copyme_error(data: bytes) -> None:
    pinned = _pinned()
    try:
        pinned.use(data, NOW)
    except CopyMeError:
        assert pinned.current is None
