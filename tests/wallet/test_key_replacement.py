"""Key compromise response: a relationship key is replaced at the holder, its consents re-signed
and delivered; the old key still presenting is refused as ``key_replaced``."""

from __future__ import annotations

import base64
import secrets

import pytest

from protocol import DidLink, KeyPair
from tests.support.servers import ThreadServer, free_port
from verifier.app import create_app as verifier_app

from .conftest import Env, Parties
from .conftest import parties_http as http


def _fetch(parties: Parties, account: str, consent_id: str | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    body = {"account": account, **({"consent_id": consent_id} if consent_id else {})}
    answer = http.post(f"{parties.kakeibo}/api/fetch", json=body)
    return answer.status_code, answer.json()


def test_replace_key_links_the_new_did_and_resigns_consents(parties: Parties) -> None:
    with parties.wallet() as wallet:
        wallet.link(parties.bank, parties.holder.new_link_code("C-1002"))
        old = parties.consent(wallet, parties.kakeibo, "ken")
        paused = parties.consent(wallet, parties.kakeibo, "ken-paused")
        wallet.suspend(paused.cid)
        hoken = parties.consent(wallet, parties.hoken, "ken")
        result = wallet.replace_key(old.issuer)
        assert result.old_did == old.issuer and result.new_did != old.issuer and result.holder_told
        assert [c["delivered"] for c in result.consents] == [True, True], result.consents
        states = {c.id: c.state for c in wallet.consents()}
        assert states[old.cid] == "revoked" and states[paused.cid] == "revoked"
        renewed = {c["replaced"]: c["consent_id"] for c in result.consents}
        assert states[renewed[old.cid]] == "active" and states[renewed[paused.cid]] == "suspended"
        # the new key is the relationship's next generation, derived from the phrase
        generations = {r.generation: r for r in wallet.relationships.all() if r.requester == old.subject}
        assert generations[1].did == result.new_did and generations[0].replaced_at is not None
        again = wallet.replace_key(result.new_did)  # a second replacement works the same way
        assert again.old_did == result.new_did
        with pytest.raises(Exception) as refused:
            wallet.replace_key(old.issuer)
        assert getattr(refused.value, "code", None) == "conflict"
    # the holder: the new DIDs are the customer's, the replaced ones are refused
    assert parties.holder.links.customer_for(again.new_did) == "C-1002"
    status, body = _fetch(parties, "ken", old.cid)
    assert (status, body["error"]) == (403, "key_replaced")
    status, body = _fetch(parties, "ken")  # the newest consent: re-signed by the newest key
    assert status == 200, body
    status, body = _fetch(parties, "ken-paused")
    assert (status, body["error"]) == (403, "suspended")
    # the other data user's relationship was not touched
    answer = http.post(f"{parties.hoken}/api/fetch", json={"account": "ken"})
    assert answer.status_code == 200 and hoken.issuer != result.new_did


def test_holder_down_changes_nothing(parties: Parties) -> None:
    port = free_port()
    front = ThreadServer(verifier_app(parties.holder), port).start()
    with parties.wallet() as wallet:
        wallet.link(front.url, parties.holder.new_link_code("C-1001"))
        old = parties.consent(wallet, parties.kakeibo, "hanako")
        front.stop()
        before = (wallet.relationships.all(), wallet.consents())
        with pytest.raises(Exception) as refused:
            wallet.replace_key(old.cid)
        assert getattr(refused.value, "code", None) == "unavailable"
        assert (wallet.relationships.all(), wallet.consents()) == before
    assert parties.holder.links.customer_for(old.issuer) == "C-1001"


def _callback(parties: Parties, credential: bytes, proof: bytes | None = None, header: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/vnd.copyme.consent+cwt"}
    if proof is not None:
        headers["CopyMe-Replaces"] = base64.urlsafe_b64encode(proof).rstrip(b"=").decode()
    if header is not None:
        headers["CopyMe-Replaces"] = header
    return http.post(f"{parties.kakeibo}/callback", content=credential, headers=headers)


def test_the_data_user_checks_the_replacement_proof(parties: Parties) -> None:
    import dataclasses

    with parties.wallet() as wallet:
        old = parties.consent(wallet, parties.kakeibo, "misaki")
        old_key = wallet.relationships.key(wallet.relationships.by_did(old.issuer))
    new_key, stranger = KeyPair.generate(), KeyPair.generate()
    resigned = dataclasses.replace(old, issuer=new_key.did, credential_id=secrets.token_bytes(16), raw=b"")
    raw = resigned.sign(new_key)

    def proof(linked: KeyPair = old_key, new: KeyPair = new_key, replace: bool = True, holder: str | None = None) -> bytes:
        return DidLink.make(linked=linked, new=new, holder=holder or old.audience, issued_at=old.issued_at,
                            link_id=secrets.token_bytes(16), replace=replace)

    def refused(answer, code: str) -> None:  # type: ignore[no-untyped-def]
        assert answer.json()["error"] == code, answer.text

    refused(_callback(parties, raw), "conflict")  # no proof: another consent for an answered request
    refused(_callback(parties, raw, proof(replace=False)), "request_mismatch")
    refused(_callback(parties, raw, proof(linked=stranger)), "request_mismatch")  # not the stored consent's key
    refused(_callback(parties, raw, proof(new=stranger)), "request_mismatch")  # vouches for another DID
    refused(_callback(parties, raw, proof(holder=stranger.did)), "request_mismatch")
    refused(_callback(parties, raw, header="not base64!"), "malformed")
    refused(_callback(parties, raw, header="AAAA"), "malformed")
    tampered = bytearray(proof())
    tampered[-1] ^= 1
    refused(_callback(parties, raw, bytes(tampered)), "bad_signature")
    good = proof()
    accepted = _callback(parties, raw, good)
    assert accepted.status_code == 200, accepted.text
    assert _callback(parties, raw, good).status_code == 200  # delivered again: the same answer
    held = http.get(f"{parties.kakeibo}/api/consents", params={"account": "misaki"}).json()["consents"]
    assert held[0]["user"] == new_key.did and len(held) == 2


def test_replace_key_of_nothing_is_not_found(env: Env) -> None:
    env.init()
    for ref in ("nosuchconsent", KeyPair.generate().did):
        out = env.wallet("replace-key", ref, ok=False)
        assert out.exit_code == 4 and "error: not_found:" in out.stderr
    cid = env.json("receive", str(env.request_file()), "--accept")["consent"]["id"]
    # no holder linked: the wallet still replaces the key and re-signs; the callback takes it with the proof
    replaced = env.json("replace-key", cid)
    assert replaced["holder_told"] is False and replaced["consents"][0]["replaced"] == cid
    assert env.json("relationships")[1]["did"] == replaced["new_did"]
    assert "error: conflict:" in env.wallet("replace-key", replaced["old_did"], ok=False).stderr
