"""The CopyMe button: a published request shown as a QR code and a link the wallet opens.

The button carries only *where* the signed request is (``<issuer>/r/<request id hex>``); the
wallet fetches those bytes and checks the signature itself, so the button can be printed,
screenshotted or copied without being trusted.  The link is
:func:`protocol.make_deep_link` of that URL; the QR code (segno, SVG and PNG) encodes the same
link.  When a web wallet dashboard is known, the button also links straight to
``<wallet>/review?u=<request url>``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import quote

import segno

from protocol import ConsentRequest, check_url, make_deep_link

from .store import IssuerStorage, StoredRequest

__all__ = ["CopyMeButton", "publish", "request_url"]


def request_url(base_url: str, request_id: bytes | str) -> str:
    """Where a request is served: ``<base_url>/r/<request id hex>``."""
    rid = request_id.hex() if isinstance(request_id, bytes) else request_id
    return f"{base_url.rstrip('/')}/r/{rid}"


@dataclass(frozen=True)
class CopyMeButton:
    """Everything a page needs to show the CopyMe button for one published request."""

    request_url: str
    wallet_url: str | None = None

    def __post_init__(self) -> None:
        check_url(self.request_url, "request_url")
        if self.wallet_url is not None:
            check_url(self.wallet_url, "wallet_url")

    @property
    def deep_link(self) -> str:
        """``copyme://request?u=...``: what the QR code encodes and a wallet app opens."""
        return make_deep_link(self.request_url)

    @property
    def review_url(self) -> str | None:
        """The web wallet's review page for this request, if a wallet dashboard is configured."""
        if self.wallet_url is None:
            return None
        return f"{self.wallet_url.rstrip('/')}/review?u={quote(self.request_url, safe='')}"

    @property
    def href(self) -> str:
        """The button's link: the web wallet when known, else the deep link."""
        return self.review_url or self.deep_link

    def _qr(self) -> segno.QRCode:
        return segno.make(self.deep_link, error="m", micro=False)

    def qr_svg(self, scale: int = 4, title: str = "CopyMe") -> str:
        """The QR code as a standalone SVG document (no external resources)."""
        out = io.BytesIO()
        self._qr().save(out, kind="svg", scale=scale, border=4, title=title, dark="#111",
                        light="#fff", xmldecl=True, svgns=True)
        return out.getvalue().decode("utf-8")

    def qr_svg_inline(self, scale: int = 4) -> str:
        """The QR code as an ``<svg>`` element to embed in a page."""
        return str(self._qr().svg_inline(scale=scale, border=4, dark="#111", light="#fff"))

    def qr_png(self, scale: int = 6) -> bytes:
        """The QR code as PNG bytes."""
        out = io.BytesIO()
        self._qr().save(out, kind="png", scale=scale, border=4)
        return out.getvalue()

    def qr_matrix(self) -> tuple[tuple[int, ...], ...]:
        """The QR code's modules (1 = dark) without the quiet zone, e.g. to check a rendering."""
        return tuple(tuple(int(bool(m)) for m in row) for row in self._qr().matrix)


def publish(store: IssuerStorage, request: ConsentRequest, *, account: str, base_url: str,
            wallet_url: str | None = None) -> tuple[StoredRequest, CopyMeButton]:
    """Keep a signed request for ``account`` and return the button that points at it.

    The request is then served by the app at :func:`request_url`; a consent that answers it
    will be stored for this same ``account``.
    """
    stored = store.add_request(request, account)
    return stored, CopyMeButton(request_url(base_url, request.request_id), wallet_url)
