"""The CopyMe button's link: how a request's URL travels from a web page or QR code to a wallet.

``copyme://request?u=<percent-encoded https URL of the signed request>``.  A wallet also accepts
the plain http(s) URL.  The link only says where to fetch the request; everything the user is
shown comes from the signed request itself, so a tampered link can at worst point elsewhere.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

from ._model import check_url
from .errors import DecodeError, InvalidArgument

__all__ = ["DEEP_LINK_PREFIX", "make_deep_link", "parse_deep_link"]

DEEP_LINK_PREFIX = "copyme://request?u="


def make_deep_link(request_url: str) -> str:
    """The deep link for a published request URL."""
    check_url(request_url, "request_url")
    return DEEP_LINK_PREFIX + quote(request_url, safe="")


def parse_deep_link(text: str) -> str:
    """The request URL in a deep link, or the URL itself if ``text`` is a plain http(s) URL."""
    text = text.strip()
    if text.startswith(("http://", "https://")):
        url = text
    else:
        parts = urlsplit(text)
        if parts.scheme != "copyme" or parts.netloc != "request":
            raise DecodeError("not a CopyMe link (copyme://request?u=...) or http(s) URL")
        values = parse_qs(parts.query).get("u", [])
        if len(values) != 1:
            raise DecodeError("a CopyMe link carries exactly one request URL (u=)")
        url = values[0]
    try:
        return check_url(url, "request_url")
    except InvalidArgument as err:
        raise DecodeError(err.detail) from None
