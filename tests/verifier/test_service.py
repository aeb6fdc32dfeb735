"""Every refusal through the real verifier and registry services: the reason code, and no data."""

from __future__ import annotations

import httpx

from protocol import ConsentCredential, Presentation, Status
from tests.support import samples
from tests.verifier.conftest import KEYS, TTL, World, assert_refused

LIST = "list-aaaaaaaaaaaaaaaa"


def test_release_returns_exactly_the_granted_items(world: World) -> None:
    cred = world.ready()
    response = world.post("/v1/data", world.present(cred, items=("balance", "transactions")))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["items"]) == {"balance", "transactions"}
    assert body["items"]["balance"] == 482_350
    assert body["purpose"] == "dpv:ServiceProvision"
    [record] = world.provisions()
    assert record["person"] == "C-1001" and record["consent_id"] == body["consent_id"]
    assert record["recipient"] == KEYS.requester.did and record["items"] == ["balance", "transactions"]


def test_verify_decides_without_data(world: World) -> None:
    cred = world.ready()
    response = world.post("/v1/verify", world.present(cred))
    assert response.status_code == 200
    assert response.json()["grant"]["customer_id"] == "C-1001"
    assert "items" not in response.json()
    assert world.provisions() == []


def test_bad_presentation_signature(world: World) -> None:
    cred = world.ready()
    data = bytearray(world.present(cred))
    data[-1] ^= 1
    assert_refused(world.post("/v1/data", bytes(data)), "bad_signature")
    assert world.provisions() == []


def test_bad_credential_signature(world: World) -> None:
    cred = bytearray(world.ready())
    cred[-1] ^= 1
    assert_refused(world.post("/v1/data", world.present(bytes(cred))), "bad_signature")
    assert world.provisions() == []


def test_swapped_keys(world: World) -> None:
    """The credential signed with the data user's key, the presentation with the user's."""
    world.ready()
    request = samples.signed_request(KEYS, world.clock())
    grant = ConsentCredential.grant(request, user=KEYS.user.did, status=samples.credential().status,
                                    now=world.clock())
    from protocol import cose

    # the user's key in kid (which names a consent's issuer), the data user's signature
    forged_cred = cose.sign1(grant.to_payload(), KEYS.requester, ConsentCredential.TYP).replace(
        KEYS.requester.public_key, KEYS.user.public_key, 1)
    assert_refused(world.post("/v1/data", world.present(forged_cred)), "bad_signature")
    # signed and named by the data user's key, it is the data user's own "consent": not linked here
    own = cose.sign1(grant.to_payload(), KEYS.requester, ConsentCredential.TYP)
    assert_refused(world.post("/v1/data", world.present(own)), "not_linked")
    p = Presentation.create(presenter=KEYS.requester.did, audience=KEYS.holder.did, credential=world.credential(),
                            items=("transactions",), purpose="dpv:ServiceProvision", now=world.clock())
    forged_presentation = cose.sign1(p.to_payload(), KEYS.user, Presentation.TYP)
    assert_refused(world.post("/v1/data", forged_presentation), "bad_signature")
    assert world.provisions() == []


def test_presented_by_someone_else(world: World) -> None:
    cred = world.ready()
    assert_refused(world.post("/v1/data", world.present(cred, presenter=KEYS.stranger)), "not_subject")
    assert world.provisions() == []


def test_wrong_audience(world: World) -> None:
    cred = world.ready()
    assert_refused(world.post("/v1/data", world.present(cred, audience=KEYS.stranger.did)), "wrong_audience")
    assert world.provisions() == []


def test_replay(world: World) -> None:
    cred = world.ready()
    presentation = world.present(cred)
    assert world.post("/v1/data", presentation).status_code == 200
    assert_refused(world.post("/v1/data", presentation), "replayed")
    assert len(world.provisions()) == 1


def test_presentation_time_outside_the_window_is_clock_skew(world: World) -> None:
    """A data user whose clock is wrong can tell: not ``replayed`` but its own code, either way."""
    cred = world.ready()
    for offset in (-600, 121, -121):
        response = world.post("/v1/data", world.present(cred, issued=world.clock() + offset))
        assert_refused(response, "clock_skew")
        assert f"{abs(offset)} s" in response.json()["detail"]
    assert world.post("/v1/data", world.present(cred, issued=world.clock() + 120)).status_code == 200
    assert len(world.provisions()) == 1


def test_holder_nonce_is_single_use(world: World) -> None:
    cred = world.ready()
    import base64

    raw = httpx.get(world.url + "/v1/nonce").json()["nonce"]
    nonce = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    assert world.post("/v1/data", world.present(cred, nonce=nonce)).status_code == 200
    assert_refused(world.post("/v1/data", world.present(cred, nonce=nonce)), "replayed")
    assert_refused(world.post("/v1/data", world.present(cred, nonce=b"never-issued")), "replayed")
    assert len(world.provisions()) == 1


def test_expired_credential(world: World) -> None:
    world.publish(LIST)
    world.link_user()
    cred = world.credential(issued=world.clock() - 181 * 86400)
    assert_refused(world.post("/v1/data", world.present(cred)), "expired")
    assert world.provisions() == []


def test_not_yet_valid_credential(world: World) -> None:
    world.publish(LIST)
    world.link_user()
    cred = world.credential(issued=world.clock() + 3600)
    assert_refused(world.post("/v1/data", world.present(cred)), "not_yet_valid")
    assert world.provisions() == []


def test_items_outside_the_grant(world: World) -> None:
    cred = world.ready()  # grants transactions and balance, not name
    assert_refused(world.post("/v1/data", world.present(cred, items=("transactions", "name"))), "items_not_granted")
    assert world.provisions() == []


def test_purpose_outside_the_grant(world: World) -> None:
    cred = world.ready()
    assert_refused(world.post("/v1/data", world.present(cred, purpose="dpv:Marketing")), "purpose_not_granted")
    assert world.provisions() == []


def test_unlinked_did(world: World) -> None:
    world.publish(LIST)
    cred = world.credential(user=KEYS.stranger)
    assert_refused(world.post("/v1/data", world.present(cred)), "not_linked")
    assert world.provisions() == []


def test_revoked_takes_effect_through_the_change_feed(world: World) -> None:
    cred = world.ready()
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    world.publish(LIST, {1234: Status.REVOKED})  # no clock jump past ttl: the push must do it
    world.wait_pushed(LIST)
    assert_refused(world.post("/v1/data", world.present(cred)), "revoked")
    assert len(world.provisions()) == 1


def test_suspended_then_resumed(world: World) -> None:
    cred = world.ready()
    assert world.post("/v1/data", world.present(cred)).status_code == 200  # the list is now cached
    world.publish(LIST, {1234: Status.SUSPENDED})
    world.wait_pushed(LIST)
    assert_refused(world.post("/v1/data", world.present(cred)), "suspended")
    world.publish(LIST, {})
    world.wait_pushed(LIST)
    response = world.post("/v1/data", world.present(cred))
    assert response.status_code == 200 and "transactions" in response.json()["items"]
    assert len(world.provisions()) == 2


def test_registry_down_with_expired_cache(world: World) -> None:
    cred = world.ready()
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    world.stop_registry()
    world.clock.advance(TTL - 1)
    assert world.post("/v1/data", world.present(cred)).status_code == 200  # still fresh: within ttl
    world.clock.advance(2)
    assert_refused(world.post("/v1/data", world.present(cred)), "status_unavailable", 503)
    assert len(world.provisions()) == 2


def test_status_list_signed_by_the_wrong_key(world: World) -> None:
    world.publish("list-wrongkeywrongkey", signer=KEYS.stranger)  # the registry pins whatever signs first
    world.link_user()
    cred = world.credential("list-wrongkeywrongkey")  # names KEYS.status as the list's key
    assert_refused(world.post("/v1/data", world.present(cred)), "status_invalid")
    assert world.provisions() == []


def test_status_list_about_another_uri(world: World) -> None:
    world.publish(LIST)
    world.link_user()
    cred = world.credential(LIST)
    # a registry serving list B's bytes at A's address: same key, wrong sub
    world.publish("list-bbbbbbbbbbbbbbbb")
    assert world.holder is not None
    other = world.token("list-bbbbbbbbbbbbbbbb", iat=world.clock())
    world.holder.status.invalidate(world.list_uri(LIST))

    class Liar:
        def fetch(self, uri: str, etag: str | None = None, version: str | None = None) -> object:
            from common.registry_client import FetchResult

            return FetchResult(other, "x", 60)

    world.holder.status._client = Liar()  # type: ignore[assignment]
    assert_refused(world.post("/v1/data", world.present(cred)), "status_invalid")


def test_status_list_rollback(world: World) -> None:
    cred = world.ready()
    old = world.token(LIST, iat=world.list_iat[LIST])  # a copy of the first list, signed again
    world.publish(LIST, {})  # a newer list: the verifier sees it through the feed or the next fetch
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    # The registry is replaced by one that serves the older list (e.g. restored from a backup).
    world.stop_registry()
    world.start_registry(home="registry-from-backup")
    from common.registry_client import RegistryClient

    RegistryClient(world.registry_url).publish(LIST, old)
    world.clock.advance(TTL + 1)
    assert_refused(world.post("/v1/data", world.present(cred)), "status_rollback", 409)
    assert len(world.provisions()) == 1


def test_malformed_body(world: World) -> None:
    world.ready()
    for body in (b"", b"not cbor at all", b"\xd2\x84\x40\xa0\x40\x40"):
        assert_refused(world.post("/v1/data", body), "malformed", 400)
    assert world.provisions() == []


def test_oversized_body(world: World) -> None:
    world.ready()
    assert_refused(world.post("/v1/data", b"\x00" * 40_000), "too_large", 413)
    chunks = (b"\x00" * 8192 for _ in range(8))  # no Content-Length: refused while streaming
    assert_refused(world.post("/v1/data", chunks), "too_large", 413)  # type: ignore[arg-type]
    assert world.provisions() == []


def test_wrong_type_presented(world: World) -> None:
    cred = world.ready()
    assert_refused(world.post("/v1/data", cred), "wrong_type", 400)
    assert world.provisions() == []


def test_refusals_are_recorded_with_their_reason(world: World) -> None:
    cred = world.ready()
    world.post("/v1/data", world.present(cred, purpose="dpv:Marketing"))
    assert world.holder is not None
    [refusal] = [r for r in world.holder.records.all() if r["kind"] == "refusal"]
    assert refusal["reason"] == "purpose_not_granted" and refusal["consent_obtained"] is False
    assert world.holder.records.verify_chain() == 1


def test_holder_and_health(world: World) -> None:
    info = httpx.get(world.url + "/v1/holder").json()
    assert info["did"] == KEYS.holder.did and info["name"]["ja"]
    assert httpx.get(world.url + "/health").json()["status"] == "ok"
    assert httpx.get(world.url + "/v1/nonce").json()["expires_in"] == 120


def test_provision_record_names_a_listed_recipient(world: World) -> None:
    """APPI wants the recipient identifiable: its trust-list name is kept beside its DID."""
    cred = world.ready()
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    world.trust(KEYS.requester.did, "家計簿アプリ株式会社", "Kakeibo App Inc.")
    assert world.holder is not None and world.holder.trust.refresh()
    assert world.holder.trust.council == KEYS.council.did  # pinned on first use
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    unnamed, named = world.provisions()
    assert unnamed["recipient_name"] is None and unnamed["recipient"] == KEYS.requester.did
    assert named["recipient_name"] == {"ja": "家計簿アプリ株式会社", "en": "Kakeibo App Inc."}
    assert named["recipient"] == KEYS.requester.did
    assert world.holder.records.verify_chain() == 2


def test_a_trust_list_from_another_council_is_not_used(world: World) -> None:
    cred = world.ready()
    assert world.holder is not None
    world.holder.trust.council = KEYS.stranger.did  # as if pinned with --council to someone else
    world.trust(KEYS.requester.did, "偽名", "Fake Name")
    assert not world.holder.trust.refresh()
    assert world.post("/v1/data", world.present(cred)).status_code == 200
    assert world.provisions()[0]["recipient_name"] is None
