"""The demo pages render (ja and en), the JSON endpoints behave, and the CLI starts the service."""

from __future__ import annotations

import re
import types
from pathlib import Path

import httpx
import pytest

import issuer
from issuer.app import cookie_name, create_app
from issuer.demo import hoken_config
from protocol import InvalidArgument
from tests.support.samples import KEYS
from tests.support.servers import serve, serve_cli

from .conftest import grant, http, open_request, post_credential


def test_home_page_shows_the_button_in_both_languages(issuer_url: str) -> None:
    with httpx.Client(base_url=issuer_url) as browser:
        page = browser.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        account = browser.cookies["kakeibo_account"]
        assert re.fullmatch(r"demo-[0-9a-f]{8}", account)
        html = page.text
        assert '<html lang="ja">' in html and "CopyMe で同意する" in html and "入出金明細" in html
        assert 'name="viewport"' in html and "<svg" in html and 'role="img" aria-label=' in html
        assert "copyme://request?u=" in html
        assert 'href="/static/style.css"' in html and "https://" not in re.sub(r"copyme://[^\"<]*", "", html).replace(
            "http://www.w3.org/2000/svg", "")
        # same visitor, same account, same request
        again = browser.get("/").text
        assert re.findall(r"copyme://request\?u=[^\"<]+", again) == re.findall(r"copyme://request\?u=[^\"<]+", html)
        english = browser.get("/", params={"lang": "en"})
        assert '<html lang="en">' in english.text and "Consent with CopyMe" in english.text
        assert "Transaction history" in english.text
        assert browser.cookies["lang"] == "en"
        assert '<html lang="en">' in browser.get("/consents").text  # the choice sticks
        css = browser.get("/static/style.css")
        assert css.status_code == 200 and "copyme-button" in css.text


def test_wallet_dashboard_link(tmp_path: Path) -> None:
    app = issuer.app.create_app(tmp_path, "http://127.0.0.1:9", holder_did=KEYS.holder.did, watch_status=False,
                                wallet="http://127.0.0.1:8800", demo=True)
    with serve(app) as url:
        html = http.get(url + "/", params={"account": "alice"}).text
        assert 'href="http://127.0.0.1:8800/review?u=http%3A%2F%2F127.0.0.1%3A' in html
        assert http.get(url + "/api/button", params={"account": "alice"}).json()["review_url"].startswith(
            "http://127.0.0.1:8800/review?u=")


def test_the_second_data_user_s_pages_name_it_never_kakeibo(tmp_path: Path) -> None:
    """``issuer serve --app hoken``: every page and refusal says Hoken (ほけん), none says Kakeibo."""
    config = hoken_config("http://127.0.0.1:9")
    app = issuer.app.create_app(tmp_path, "http://127.0.0.1:9", holder_did=KEYS.holder.did, watch_status=False,
                                config=config)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as browser:
        for lang, name, tagline in (("ja", "ほけん", "本人確認"), ("en", "Hoken Insurance", "identity check")):
            pages = [browser.get(path, params={"account": "alice", "lang": lang}).text for path in ("/", "/consents")]
            pages.append(browser.post("/fetch", params={"account": "alice", "lang": lang}).text)  # refused: no consent
            for html in pages:
                assert name in html
                assert "Kakeibo" not in html and "かけいぼ" not in html and "家計簿" not in html
            assert tagline in pages[0]


def test_consents_page_and_fetch_page_after_a_consent(issuer_url: str) -> None:
    assert "まだ同意はありません" in http.get(issuer_url + "/consents", params={"account": "alice"}).text
    post_credential(issuer_url, grant(open_request(issuer_url, "alice")))
    home = http.get(issuer_url + "/", params={"account": "alice", "lang": "en"}).text
    assert "Fetch my bank data" in home and "copyme://" not in home
    page = http.get(issuer_url + "/consents", params={"account": "alice", "lang": "en"}).text
    assert "Consents Kakeibo holds" in page and "Transaction history" in page and "unknown" in page
    assert "No consent yet." in http.get(issuer_url + "/consents", params={"account": "bob", "lang": "en"}).text
    assert "alice" in http.get(issuer_url + "/consents", params={"account": "bob", "all": "1"}).text
    # the holder (port 9) is down: the refusal is shown in plain words, not as an error page
    fetch = http.post(issuer_url + "/fetch", params={"account": "alice", "lang": "en"})
    assert fetch.status_code == 200
    assert "We could not reach the bank" in fetch.text and "unavailable" in fetch.text
    nothing = http.post(issuer_url + "/fetch", params={"account": "bob", "lang": "ja"})
    assert "このアカウントにはまだ同意がありません" in nothing.text
    csv = http.get(issuer_url + "/records.csv", params={"account": "alice"})
    assert csv.headers["content-type"].startswith("text/csv") and csv.content.startswith("\ufeff".encode())
    assert "受領年月日" in csv.text
    assert "提供者の住所" in csv.text and "取得の経緯" in csv.text


def test_json_endpoints(issuer_url: str) -> None:
    assert http.get(issuer_url + "/health").json()["status"] == "ok"
    assert http.get(issuer_url + "/api/consents").json() == {"consents": []}
    consent_id = post_credential(issuer_url, grant(open_request(issuer_url, "alice"))).json()["consent_id"]
    [held] = http.get(issuer_url + "/api/consents", params={"account": "alice"}).json()["consents"]
    assert held["consent_id"] == consent_id and held["state"] == "unknown"
    assert http.get(issuer_url + "/api/records").json() == {"records": []}
    assert http.get(issuer_url + "/api/consents", params={"account": "../etc"}).status_code == 422


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("POST", "/r/00"), ("GET", "/callback")])
def test_unknown_routes_give_json_errors(issuer_url: str, method: str, path: str) -> None:
    response = http.request(method, issuer_url + path)
    assert response.status_code in (404, 405)
    assert "Traceback" not in response.text


def test_cli_serve_generates_a_key_once(tmp_path: Path) -> None:
    home = tmp_path / "kakeibo"
    args = ["issuer", "serve", "--demo", "--home", str(home), "--holder", "http://127.0.0.1:9", "--holder-did",
            KEYS.holder.did]
    with serve_cli(args) as (url, _):
        did = http.get(url + "/health").json()["did"]
        assert "CopyMe" in http.get(url + "/", params={"account": "a"}).text
        request = http.get(http.get(url + "/api/button", params={"account": "a"}).json()["request_url"])
        assert request.status_code == 200
    assert (home / "issuer.key").stat().st_mode & 0o077 == 0
    with serve_cli(args) as (url, _):
        assert http.get(url + "/health").json()["did"] == did


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    home = tmp_path / "h"
    home.mkdir()
    (home / "issuer.key").write_text("not a key\n")
    proc = subprocess.run([sys.executable, "-m", "copyme", "issuer", "serve", "--demo", "--home", str(home),
                           "--holder", "http://127.0.0.1:9", "--port", "1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.strip().startswith("error: malformed:") and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "copyme", "issuer", "records", "--home", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and proc.stderr.startswith("error: ")


def test_front_door_is_sorted_and_complete() -> None:
    assert issuer.__all__ == sorted(issuer.__all__)
    public = {name for name, value in vars(issuer).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)} - {"annotations"}
    assert public == set(issuer.__all__)


def test_the_demo_defaults_need_asking_for(tmp_path: Path) -> None:
    """Without a config of its own the app refuses to start, rather than ship the demo's terms."""
    import subprocess
    import sys

    with pytest.raises(InvalidArgument) as err:
        issuer.app.create_app(tmp_path, "http://127.0.0.1:9", holder_did=KEYS.holder.did, watch_status=False)
    assert err.value.code == "invalid" and "IssuerConfig" in err.value.detail
    proc = subprocess.run([sys.executable, "-m", "copyme", "issuer", "serve", "--home", str(tmp_path / "h"),
                           "--holder", "http://127.0.0.1:9", "--port", "1"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0 and proc.stderr.startswith("error: invalid: ") and "--demo" in proc.stderr


def test_the_home_page_renders_when_the_bank_is_down(tmp_path: Path) -> None:
    """No holder DID yet and the bank unreachable: the page renders; only the button waits."""
    app = issuer.app.create_app(tmp_path, "http://127.0.0.1:9", watch_status=False, demo=True)
    with serve(app) as url:
        for lang, words in (("ja", "つながらない"), ("en", "cannot be reached")):
            page = http.get(url + "/", params={"account": "bob", "lang": lang})
            assert page.status_code == 200 and 'data-testid="holder-down"' in page.text and words in page.text
        fetch = http.post(url + "/api/fetch", json={"account": "bob"})
        assert fetch.status_code in (404, 503)  # no consent yet; the fetch is where errors are told


def test_each_demo_app_has_its_own_account_cookie(tmp_path: Path) -> None:
    """Browsers share cookies between the ports of one host: Kakeibo and Hoken side by side on
    127.0.0.1 must not read each other's demo account."""
    assert cookie_name({"ja": "かけいぼ", "en": "Kakeibo"}) == "kakeibo_account"
    assert cookie_name({"ja": "ほけん", "en": "Hoken Insurance"}) == "hoken_account"
    assert cookie_name({"ja": "会社"}) == "issuer_account"
    app = create_app(tmp_path / "hoken", "http://127.0.0.1:9/", holder_did=KEYS.holder.did, watch_status=False,
                     config=hoken_config("http://127.0.0.1:9/"))
    with serve(app) as url, httpx.Client(base_url=url) as browser:
        assert browser.get("/").status_code == 200
        assert set(browser.cookies.keys()) >= {"hoken_account"} and "kakeibo_account" not in browser.cookies
        account = browser.cookies["hoken_account"]
        assert browser.get("/").status_code == 200 and browser.cookies["hoken_account"] == account
