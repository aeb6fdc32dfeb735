"""The user's language end to end: review notes, decline, the API and ``show`` in ja or en."""

from __future__ import annotations

import httpx
import pytest

from protocol import InvalidArgument
from tests.support import samples
from tests.wallet.conftest import PASSPHRASE, Env
from wallet import Home, TrustCheck, Wallet
from wallet.api import create_app
from wallet.trust import NOTES

NOT_LISTED = {"ja": "協議会のトラストリストに載っていません", "en": "not on the council's trust list"}


def test_every_note_exists_in_both_languages() -> None:
    assert set(NOTES["ja"]) == set(NOTES["en"])
    check = TrustCheck(None, "trust list unavailable or unverifiable (bad_signature: x)", "unavailable", "bad_signature")
    # plain words only: the reason code is developer material (the pages show it under 技術情報)
    assert check.note("ja") == "トラストリストを取得または検証できませんでした"
    assert check.note("en") == "the trust list could not be fetched or verified"
    assert TrustCheck(None, "legacy reason").note("ja") == "legacy reason"  # no code: the text as given


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_unverified_note_and_decline_follow_the_language(env: Env, lang: str) -> None:
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        review = wallet.review_bytes(env.request_bytes(key=samples.KEYS.stranger), lang=lang)
        assert not review.verified and review.trust_note == NOT_LISTED[lang]
        declined = wallet.decline(review.request_cid)  # by id: the language it was shown in
        assert declined.lang == lang and declined.trust_note == NOT_LISTED[lang] and declined.decision == "declined"


def test_decline_takes_an_explicit_language_and_checks_it(env: Env) -> None:
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        review = wallet.review_bytes(env.request_bytes(key=samples.KEYS.stranger), lang="ja")
        with pytest.raises(InvalidArgument):
            wallet.decline(review.request_cid, lang="fr")
        with pytest.raises(InvalidArgument):
            wallet.review_bytes(env.request_bytes(), lang="fr")
        declined = wallet.decline(review, lang="en")
        assert declined.lang == "en" and declined.title != review.title  # the notice's English title
        assert declined.trust_note == NOT_LISTED["en"]


def test_registry_down_note_is_translated(env: Env) -> None:
    with Wallet.init(env.home, PASSPHRASE, registry=env.registry_url) as wallet:
        raw = env.request_bytes()
    with Wallet.open(env.home, PASSPHRASE) as wallet:
        with wallet.store.transaction():  # the list cached at init would still answer offline
            wallet.store.db.conn.execute("DELETE FROM meta WHERE key = 'trust_list'")
        env.stop_registry()
        shown = {lang: wallet.review_bytes(raw, lang=lang).trust_note for lang in ("ja", "en")}
    assert shown["ja"] == "トラストリストを取得または検証できませんでした"
    assert shown["en"] == "the trust list could not be fetched or verified"


def test_show_of_an_unverified_consent_in_japanese(env: Env) -> None:
    env.init()
    path = env.request_file(key=samples.KEYS.stranger)
    consent = env.json("receive", str(path), "--accept", "--accept-unverified", "--lang", "ja")["consent"]
    shown = env.json("show", consent["id"])["shown"]
    assert shown["lang"] == "ja" and shown["trust_note"] == "同意したときに確認できていませんでした"


def test_api_decline_in_the_language_asked(env: Env) -> None:
    import anyio

    Wallet.init(env.home, PASSPHRASE, registry=env.registry_url).close()
    app = create_app(env.home, PASSPHRASE, refresh_interval=None)
    token = Home.at(env.home).api_token.read_text()
    env.callback.requests["x"] = env.request_bytes(key=samples.KEYS.stranger)
    env.callback.requests["y"] = env.request_bytes(key=samples.KEYS.stranger)

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wallet",  # type: ignore[arg-type]
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            out = []
            for name, shown_in, answer_in in (("x", "en", None), ("y", "en", "ja")):
                review = (await http.post("/api/requests", json={"url": f"{env.callback_server.url}/r/{name}",
                                                                 "lang": shown_in})).json()
                body = {"decision": "decline"} | ({"lang": answer_in} if answer_in else {})
                out.append(await http.post(f"/api/requests/{review['request_cid']}/decision", json=body))
            return out

    first, second = anyio.run(go)
    assert first.json()["review"]["lang"] == "en" and first.json()["review"]["trust_note"] == NOT_LISTED["en"]
    assert second.json()["review"]["lang"] == "ja" and second.json()["review"]["trust_note"] == NOT_LISTED["ja"]
