"""TrustList's optional ``registries``: the council's word on which other registries' status
lists may be fetched (spec 3.5).  Left out when empty, so a list naming none keeps its bytes."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from protocol import DecodeError, InvalidArgument, TrustList, Typ, cbor, check_registry_url, cose
from protocol.trust_list import MAX_REGISTRIES
from tests.support import samples
from tests.support.samples import KEYS, NOW

GOOD = ("https://status.example.org", "http://127.0.0.1:8601", "https://x.example:8443/registry/v2", "http://[::1]:8600")
BAD: tuple[Any, ...] = (
    "https://status.example.org/",          # a trailing slash: one registry, one spelling
    "ftp://status.example.org",             # not http(s)
    "https://user@status.example.org",      # user info
    "https://status.example.org?x=1",       # a query
    "https://status.example.org#top",       # a fragment
    "https://status.example.org:99999",     # not a port
    "https://status.example.org:0",
    "https:///v1",                          # no host
    "https://status .example.org",          # white space
    "https://status.example.org/\x00",      # a control character
    "https://" + "a" * 250 + ".example",    # too long
    "",
    7,
    None,
)


@pytest.mark.parametrize("url", GOOD)
def test_good_registry_urls_round_trip(url: str) -> None:
    assert check_registry_url(url) == url
    trust = dataclasses.replace(samples.trust_list(), registries=(url,))
    decoded = TrustList.decode(trust.sign(KEYS.council))
    assert decoded.registries == (url,) and decoded.organisations == trust.organisations


@pytest.mark.parametrize("url", BAD)
def test_bad_registry_urls_are_refused_when_made_and_when_read(url: Any) -> None:
    with pytest.raises(InvalidArgument):
        check_registry_url(url)
    with pytest.raises(InvalidArgument):
        dataclasses.replace(samples.trust_list(), registries=(url,))
    claims = {**samples.trust_list().to_claims(), "registries": [url]}
    with pytest.raises(DecodeError):
        TrustList.decode(_signed(claims))


def test_a_list_naming_none_is_the_older_form() -> None:
    trust = samples.trust_list()
    assert "registries" not in trust.to_claims() and TrustList.decode(trust.sign(KEYS.council)).registries == ()
    assert TrustList.decode(_signed({**trust.to_claims(), "registries": []})).registries == ()


@pytest.mark.parametrize("registries", [
    ("https://a.example", "https://a.example"),
    tuple(f"https://r{i}.example" for i in range(MAX_REGISTRIES + 1)),
])
def test_repeats_and_too_many_are_refused(registries: tuple[str, ...]) -> None:
    with pytest.raises(InvalidArgument):
        dataclasses.replace(samples.trust_list(), registries=registries)
    with pytest.raises(DecodeError):
        TrustList.decode(_signed({**samples.trust_list().to_claims(), "registries": list(registries)}))
    fine = tuple(f"https://r{i}.example" for i in range(MAX_REGISTRIES))
    assert len(dataclasses.replace(samples.trust_list(), registries=fine).registries) == MAX_REGISTRIES


@pytest.mark.parametrize("value", ["https://a.example", {"url": "https://a.example"}, [b"https://a.example"], 1])
def test_registries_of_the_wrong_type_are_malformed(value: Any) -> None:
    with pytest.raises(DecodeError):
        TrustList.decode(_signed({**samples.trust_list().to_claims(), "registries": value}))


def _signed(claims: dict[Any, Any]) -> bytes:
    return cose.sign1(cbor.encode(claims), KEYS.council, str(Typ.TRUST_LIST))


def test_issued_at_is_kept() -> None:
    assert samples.trust_list().issued_at == NOW
