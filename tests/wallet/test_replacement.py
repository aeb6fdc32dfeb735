"""Re-consent and renewal between the real Kakeibo app and the wallet: the differences in plain
ja/en words, accepting replaces (the old consent is revoked), declining leaves it, and a
replacement naming a consent of another data user (or none at all) changes nothing."""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any

import httpx
import pytest

from issuer import build_request
from protocol import ConsentRequest, ForeignConsent, KeyPair, NoticeText, StaleNotice, UnknownConsent, cid_bytes
from wallet import Wallet, glossary

from .conftest import consent_at_kakeibo as _consent

http = httpx.Client(timeout=10)

#: Key points for changed terms: a replacement that changes what the points sum up needs new ones.
NEW_NOTICE = {"ja": {"title": "明細の取り込みと提案", "points": ["家計簿とおすすめに使います", "提携先にも渡します"]},
              "en": {"title": "Import and suggestions", "points": ["Used for your budget and suggestions",
                                                                   "Passed on to partners"]}}


def _replace(world: dict[str, Any], consent_id: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    response = http.post(f"{world['kakeibo_url']}/api/consents/{consent_id}/replace",
                         json={"changes": changes} if changes else None)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_changed_terms_are_shown_and_accepting_replaces_the_consent(world: dict[str, Any]) -> None:
    w: Wallet = world["wallet"]
    old_id = _consent(world)
    link = _replace(world, old_id, {"purposes": ["dpv:ServiceProvision", "dpv:ServicePersonalisation"],
                                    "retention_days": 730, "optional": ["balance"], "notice": NEW_NOTICE})
    assert link["renewal"] is False
    shown = w.review(link["deep_link"], lang="en")
    assert shown.replacement is not None and not shown.replacement.renewal
    assert shown.replacement.replaces == old_id and shown.replacement.replaced_state == "active"
    texts = [c.text for c in shown.replacement.changes]
    assert "New purposes: Personalising the service" in texts
    assert "Kept for: 365 → 730 days" in texts
    assert "No longer asked for: Full name" in texts
    ja = w.review(link["deep_link"], lang="ja").replacement
    assert ja is not None and "新しい利用目的：サービスの個人向け最適化" in [c.text for c in ja.changes]
    assert "保存期間：365日 → 730日" in [c.text for c in ja.changes]

    new = w.accept(shown, items=["transactions", "balance"])
    assert new.state == "active" and new.id != old_id
    assert w.consent(old_id).state == "revoked"
    held = {c["consent_id"]: c for c in http.get(f"{world['kakeibo_url']}/api/consents",
                                                 params={"account": "ken"}).json()["consents"]}
    assert held[new.id]["replaces"] == old_id


def test_declining_leaves_the_old_consent_untouched(world: dict[str, Any]) -> None:
    w: Wallet = world["wallet"]
    old_id = _consent(world)
    link = _replace(world, old_id, {"onward_sharing": True, "notice": NEW_NOTICE})
    shown = w.review(link["deep_link"], lang="en")
    assert shown.replacement is not None
    assert [c.text for c in shown.replacement.changes] == ["Passed on to others: no → yes"]
    w.decline(shown)
    assert w.consent(old_id).state == "active"
    assert len(w.consents()) == 1


def test_renewal_of_the_same_terms_is_one_click(world: dict[str, Any]) -> None:
    w: Wallet = world["wallet"]
    old_id = _consent(world)
    link = _replace(world, old_id)
    assert link["renewal"] is True
    shown = w.review(link["deep_link"], lang="en")
    assert shown.replacement is not None and shown.replacement.renewal and shown.replacement.changes == ()
    assert shown.replacement.summary.startswith("The same terms as now.")
    new = w.accept(shown.request_cid, items=list(w.consent(old_id).items))
    assert new.state == "active"
    assert w.consent(old_id).state == "revoked"
    old = w.consent(old_id)
    # a fresh validity period from the renewal (the same end as the old one only within one second)
    assert new.issued_at >= old.issued_at and new.expires_at - new.issued_at == old.expires_at - old.issued_at


def test_a_replacement_of_another_data_users_consent_changes_nothing(world: dict[str, Any]) -> None:
    w: Wallet = world["wallet"]
    old_id = _consent(world)
    old_raw = w.store.row("SELECT raw FROM consents WHERE id = ?", (old_id,))["raw"]  # type: ignore[index]
    holder = w.consent(old_id).holder
    before = w.store.row("SELECT COUNT(*) AS n FROM requests")["n"]  # type: ignore[index]

    def request_from(key: KeyPair, replaces: bytes) -> bytes:
        args: dict[str, Any] = dict(
            requester=key, requester_name={"ja": "かけいぼ", "en": "Kakeibo"}, holder=holder,
            holder_url="http://127.0.0.1:9/v1/data", required=["transactions"], purposes=["dpv:ServiceProvision"],
            notice={"ja": {"title": "新しい条件", "points": ["ご確認ください"]},
                    "en": {"title": "New terms", "points": ["Please check"]}},
            terms_url="https://other.example/terms", terms=b"t", callback="http://127.0.0.1:9/callback")
        return build_request(**args, replaces=replaces, previous=build_request(**args)).raw

    with pytest.raises(ForeignConsent) as err:
        w.review_bytes(request_from(KeyPair.generate(), cid_bytes(old_raw)))
    assert err.value.code == "foreign_consent"
    with pytest.raises(UnknownConsent) as unknown:
        w.review_bytes(request_from(KeyPair.generate(), b"\x01\x51\x12\x20" + secrets.token_bytes(32)))
    assert unknown.value.code == "unknown_consent"
    assert w.store.row("SELECT COUNT(*) AS n FROM requests")["n"] == before  # type: ignore[index]
    assert w.consent(old_id).state == "active"


def test_due_lists_consents_ending_within_30_days(world: dict[str, Any]) -> None:
    w: Wallet = world["wallet"]
    consent_id = _consent(world)
    ends = w.consent(consent_id).expires_at
    assert w.due(now=ends - 31 * 86400) == []
    assert [c.id for c in w.due(now=ends - 10 * 86400)] == [consent_id]
    w.revoke(consent_id)
    assert w.due(now=ends - 10 * 86400) == []


def test_bad_replace_calls(world: dict[str, Any]) -> None:
    url = world["kakeibo_url"]
    consent_id = _consent(world)
    for body, code in (({"changes": {"requester_name": "x"}}, "invalid"), ({"changes": {"purposes": "x"}}, "invalid"),
                       ({"changes": {"purposes": ["dpv:Nope"]}}, "unknown_purpose")):
        response = http.post(f"{url}/api/consents/{consent_id}/replace", json=body)
        assert response.json()["error"] == code, response.text
    missing = http.post(f"{url}/api/consents/bafynothing/replace")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")


def test_changed_terms_under_the_old_key_points_are_refused_by_the_issuer(world: dict[str, Any]) -> None:
    old_id = _consent(world)
    response = http.post(f"{world['kakeibo_url']}/api/consents/{old_id}/replace",
                         json={"changes": {"onward_sharing": True}})
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "stale_notice" and response.json()["field"] == "notice"
    assert "onward" in response.json()["detail"]


def test_the_wallet_refuses_changed_terms_under_the_old_key_points(world: dict[str, Any]) -> None:
    """A data user that signs without the SDK's check: the wallet refuses it (7.11 step 10),
    stores nothing, and the old consent stays as it was."""
    w: Wallet = world["wallet"]
    old_id = _consent(world)
    key = world["kakeibo_app"].state.issuer.key
    raw = w.store.row("SELECT c.raw AS consent, r.raw AS request FROM consents c JOIN requests r "
                      "ON r.cid = c.request_cid WHERE c.id = ?", (old_id,))
    assert raw is not None
    old = ConsentRequest.decode(raw["request"])
    before = w.store.count("requests")
    now = int(time.time())
    changed = dataclasses.replace(old, onward_sharing=True, replaces=cid_bytes(raw["consent"]),
                                  request_id=secrets.token_bytes(16), issued_at=now, expires_at=now + 900)
    with pytest.raises(StaleNotice) as caught:
        w.review_bytes(changed.sign(key), lang="ja")
    assert caught.value.code == "stale_notice"
    assert glossary.reason("stale_notice", "ja").startswith("条件を変えているのに")
    shown_as_page = world["home"] / "stale.request"
    shown_as_page.write_bytes(changed.sign(key))
    with pytest.raises(StaleNotice):
        w.preview(str(shown_as_page))
    assert w.store.count("requests") == before
    assert w.consent(old_id).state == "active"
    # the same change with new key points is shown, with the change in plain words
    texts = {lang: NoticeText(t.title, ("提携先にも渡します",) if lang == "ja" else ("Passed on to partners",))
             for lang, t in old.notice.texts.items()}
    fixed = dataclasses.replace(changed, notice=dataclasses.replace(old.notice, texts=texts),
                                request_id=secrets.token_bytes(16))
    shown = w.review_bytes(fixed.sign(key), lang="en")
    assert shown.replacement is not None
    assert [c.text for c in shown.replacement.changes] == ["Passed on to others: no → yes"]
