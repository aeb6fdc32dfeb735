"""The CopyMe button: QR code (SVG, PNG) and deep link for a published request."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest

from issuer import CopyMeButton, request_url
from protocol import InvalidArgument, parse_deep_link

from .conftest import http, open_request

URL = "http://127.0.0.1:8020/r/" + "0f" * 16


def png_modules(png: bytes, scale: int, border: int = 4) -> tuple[tuple[int, ...], ...]:
    """Read back a 1-bit greyscale PNG (what segno writes) into QR modules, 1 = dark."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + data) == struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert (depth, colour) == (1, 0)
    raw = zlib.decompress(idat)
    stride = (width + 7) // 8
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG filter (bytes per pixel = 1)
            a, b, c = (line[i - 1] if i else 0), prev[i], (prev[i - 1] if i else 0)
            p = a + b - c
            paeth = a if abs(p - a) <= min(abs(p - b), abs(p - c)) else (b if abs(p - b) <= abs(p - c) else c)
            line[i] = (line[i] + (0, a, b, (a + b) // 2, paeth)[kind]) & 0xFF
        prev = line
        bits = [(line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)]
        rows.append([1 - b for b in bits])  # 0 = black in greyscale
    size = width // scale - 2 * border
    return tuple(tuple(rows[(border + r) * scale][(border + c) * scale] for c in range(size))
                 for r in range(size))


def test_deep_link_parses_back_to_the_request_url() -> None:
    button = CopyMeButton(URL)
    assert button.deep_link.startswith("copyme://request?u=")
    assert parse_deep_link(button.deep_link) == URL
    assert button.href == button.deep_link
    assert button.review_url is None


def test_png_encodes_exactly_the_deep_link() -> None:
    button = CopyMeButton(URL)
    png = button.qr_png(scale=3)
    assert png_modules(png, 3) == button.qr_matrix()
    # a different link gives a different picture
    assert png_modules(CopyMeButton(URL[:-1] + "e").qr_png(scale=3), 3) != button.qr_matrix()


def test_svg_is_a_standalone_document_and_inline_element() -> None:
    button = CopyMeButton(URL)
    root = ET.fromstring(button.qr_svg().encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "http" not in button.qr_svg().replace("http://www.w3.org/2000/svg", "")  # no external refs
    assert button.qr_svg_inline().startswith("<svg")


def test_wallet_dashboard_review_link() -> None:
    button = CopyMeButton(URL, wallet_url="http://127.0.0.1:8800/")
    review = urlsplit(button.review_url or "")
    assert review.path == "/review"
    assert parse_qs(review.query)["u"] == [URL]
    assert button.href == button.review_url


@pytest.mark.parametrize("bad", ["", "javascript:alert(1)", "copyme://request?u=x", "http://"])
def test_bad_urls_are_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        CopyMeButton(bad)


def test_request_url() -> None:
    assert request_url("http://a.example/", bytes(16)) == "http://a.example/r/" + "00" * 16


def test_published_request_and_qr_over_http(issuer_url: str) -> None:
    button = http.get(f"{issuer_url}/api/button", params={"account": "alice"}).json()
    assert parse_deep_link(button["deep_link"]) == button["request_url"]
    request = open_request(issuer_url, "alice")
    assert button["request_url"].endswith("/r/" + request.request_id.hex())
    assert request.callback == issuer_url + "/callback"
    # the same open request is reused for the same account, another account gets its own
    assert http.get(f"{issuer_url}/api/button", params={"account": "alice"}).json() == button
    assert http.get(f"{issuer_url}/api/button", params={"account": "bob"}).json()["request_url"] != button["request_url"]
    png = http.get(button["request_url"] + "/qr.png")
    assert png.headers["content-type"] == "image/png"
    assert png_modules(png.content, 6) == CopyMeButton(button["request_url"]).qr_matrix()
    svg = http.get(button["request_url"] + "/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    ET.fromstring(svg.content)


@pytest.mark.parametrize("path", ["/r/" + "00" * 16, "/r/nothex", "/r/" + "a" * 5000, "/r/x/qr.png"])
def test_unknown_requests_are_not_found(issuer_url: str, path: str) -> None:
    response = http.get(issuer_url + path)
    assert response.status_code in (404, 414) or response.json()["error"] == "not_found"
    if response.status_code == 404:
        assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("account", ["", "a" * 65, "al ice", "アリス", "x;drop"])
def test_bad_account_ids_are_invalid(issuer_url: str, account: str) -> None:
    response = http.get(f"{issuer_url}/api/button", params={"account": account})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"
