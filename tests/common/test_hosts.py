"""Loopback checks: listen addresses, Host headers (DNS rebinding) and loopback-only URLs."""

from __future__ import annotations

import pytest

from common import host_header_is_loopback, is_loopback_host, is_loopback_url


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "example.com", "localhost.example.com", "::", "", "[::1"])
def test_other_hosts(host: str) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:8700", "localhost:1", "[::1]", "[::1]:8700"])
def test_loopback_host_headers(value: str) -> None:
    assert host_header_is_loopback(value)


@pytest.mark.parametrize("value", [
    None, "", "[::1]evil.example", "[::1]:80evil", "[::1]:", "[::1", "localhost:", "localhost:80:80",
    "localhost.evil.example", "evil.example:127.0.0.1", "127.0.0.1.nip.io", "127.0.0.1:8700/x", "localhost:12a",
    "localhost:123456",
])
def test_other_host_headers(value: str | None) -> None:
    assert not host_header_is_loopback(value)


@pytest.mark.parametrize(("url", "ok"), [
    ("http://127.0.0.1:8700", True), ("http://[::1]:8700/", True), ("http://localhost", True),
    ("https://127.0.0.1", False), ("http://user@127.0.0.1", False), ("http://:pw@127.0.0.1", False),
    ("http://example.com", False), ("http://[::1", False), ("http://127.0.0.1:x", False),
])
def test_loopback_urls(url: str, ok: bool) -> None:
    assert is_loopback_url(url) is ok
