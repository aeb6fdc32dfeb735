"""Loopback checks: where a local-only service may listen, and which ``Host`` headers it answers.

A browser page on the open web can make a user's browser talk to ``127.0.0.1`` (and, after
DNS rebinding, under its own name), so the wallet answers only ``Host`` headers that name a
loopback address, and refuses anything else, ``[::1]evil.example`` included.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_NAMES", "host_header_is_loopback", "is_loopback_host", "is_loopback_url"]

#: Names (besides loopback IP literals) that always mean this machine.
LOOPBACK_NAMES = frozenset({"localhost"})

_PORT = re.compile(r"[0-9]{1,5}")


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an IP literal, IPv6 with or without brackets) is loopback."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_header_is_loopback(value: str | None) -> bool:
    """Whether a ``Host`` header names a loopback host (with an optional numeric port), and nothing more."""
    if not value:
        return False
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return False
        host, rest = value[: end + 1], value[end + 1:]
    else:
        host, sep, port = value.partition(":")
        rest = sep + port
    if rest and not (rest.startswith(":") and _PORT.fullmatch(rest[1:])):
        return False
    return is_loopback_host(host)


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` is a plain ``http://`` URL to a loopback host, without user or password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return False
    return (parts.scheme == "http" and host is not None and parts.username is None
            and parts.password is None and is_loopback_host(host))
