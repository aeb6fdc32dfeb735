"""The wallet through its real CLI entry point, against a real registry and callback on loopback."""

from __future__ import annotations

import json

from common.registry_client import RegistryClient
from protocol import ConsentCredential, Decline, Status, StatusListToken
from tests.support import samples
from tests.wallet.conftest import Env


def _registry_status(env: Env, credential: ConsentCredential) -> Status:
    with RegistryClient(env.registry_url) as client:
        fetched = client.fetch(credential.status.uri)
    assert fetched is not None
    token = StatusListToken.decode(fetched.token)
    assert token.signer == credential.status.key
    return token.status_list.get(credential.status.index)


def test_init_did_and_second_init_refused(env: Env) -> None:
    info = env.init()
    assert info["did"].startswith("did:key:z")
    assert info["council"] == env.json("did")["council"]  # pinned on first use from the registry
    assert env.wallet("did").stdout.strip() == info["did"]
    again = env.wallet("init", "--registry", env.registry_url, ok=False)
    assert again.exit_code != 0
    assert "error: wallet_exists:" in again.stderr
    assert env.json("did")["did"] == info["did"]


def test_receive_accept_signs_stores_publishes_and_delivers(env: Env) -> None:
    env.init()
    shown = env.wallet("receive", str(env.request_file()), "--items", "balance,name")
    assert "Kakeibo Inc." in shown.stdout and "verified" in shown.stdout
    assert "Transaction history" in shown.stdout and "Providing the service" in shown.stdout
    assert "Revoke at any time" in shown.stdout
    [consent] = env.json("list")
    assert consent["state"] == "active" and not consent["pending"] and consent["delivered"]
    assert consent["items"] == ["transactions", "balance", "name"]
    assert env.callback.received and ConsentCredential.decode(env.callback.received[0]).cid == consent["id"]
    credential = env.credential(consent["id"])
    assert credential.issuer == env.json("relationships")[0]["did"] != env.json("did")["did"]  # pairwise, not the wallet DID
    assert _registry_status(env, credential) == Status.VALID


def test_receive_in_japanese_shows_japanese_words(env: Env) -> None:
    env.init()
    shown = env.wallet("receive", str(env.request_file()), "--lang", "ja", "--decline")
    assert "かけいぼ株式会社" in shown.stdout and "入出金明細" in shown.stdout and "必須" in shown.stdout


def test_receive_partial_and_decline(env: Env) -> None:
    env.init()
    out = env.json("receive", str(env.request_file("a")), "--items", "transactions")
    assert out["consent"]["items"] == ["transactions"]
    # the required items are always in; named optional ones join them
    assert env.json("receive", str(env.request_file("b")), "--items", "balance")["consent"]["items"] == [
        "transactions", "balance"]
    unknown = env.wallet("receive", str(env.request_file("d")), "--items", "blood_type", ok=False)
    assert "error: unknown_item:" in unknown.stderr
    declined = env.json("receive", str(env.request_file("c")), "--decline")
    assert declined["decision"] == "declined" and declined["review"]["notified"] is True
    assert len(env.json("list")) == 2
    assert len(env.callback.received) == 2
    # the requester hears "no": only the request's CID, signed by a one-time key, not the user's DID
    [no] = [Decline.decode(body) for body in env.callback.declines]
    assert no.request_cid == declined["review"]["request_cid"] and no.signer != env.json("did")["did"]
    env.callback.fail = True
    unheard = env.json("receive", str(env.request_file("d")), "--decline")
    assert unheard["decision"] == "declined" and unheard["review"]["notified"] is False


def test_receive_by_url_and_deep_link(env: Env) -> None:
    from protocol import make_deep_link

    env.init()
    env.callback.requests["one"] = env.request_bytes()
    env.callback.requests["two"] = env.request_bytes()
    url = f"{env.callback_server.url}/r/one"
    assert env.json("receive", url, "--accept")["decision"] == "accepted"
    link = make_deep_link(f"{env.callback_server.url}/r/two")
    assert env.json("receive", link, "--accept")["decision"] == "accepted"
    missing = env.wallet("receive", f"{env.callback_server.url}/r/nothing", "--accept", ok=False)
    assert "error: not_found:" in missing.stderr


def test_unverified_requester_is_warned_not_refused(env: Env) -> None:
    env.init()
    path = env.request_file(key=samples.KEYS.stranger, requester=samples.KEYS.stranger.did)
    shown = env.wallet("receive", str(path), "--decline")
    assert "UNVERIFIED" in shown.stdout


def test_list_filters_and_show(env: Env) -> None:
    env.init()
    first = env.json("receive", str(env.request_file("a")), "--accept")["consent"]["id"]
    env.json("receive", str(env.request_file("b")), "--items", "transactions")
    assert len(env.json("list", "--requester", "Kakeibo")) == 2
    assert env.json("list", "--holder", "nobody") == []
    assert len(env.json("list", "--state", "active")) == 2
    table = env.wallet("list").stdout
    assert "Kakeibo Inc." in table and "active" in table
    detail = env.json("show", first[-10:])
    assert detail["hashes"]["consent_id"] == first
    assert detail["shown"]["lang"] == "en" and detail["shown"]["verified"]
    assert detail["shown"]["key_points"][2] == "Revoke at any time"
    assert detail["events"][0]["status"] == "active"
    assert "Credential (base64url)" in env.wallet("show", first).stdout
    assert "error: not_found:" in env.wallet("show", "nosuchconsent", ok=False).stderr


def test_revoke_is_published_and_final(env: Env) -> None:
    env.init()
    cid = env.json("receive", str(env.request_file()), "--accept")["consent"]["id"]
    result = env.json("revoke", cid)
    assert result["published"] and result["state"] == "revoked"
    assert "registry accepted" in env.wallet("show", cid).stdout or True
    assert _registry_status(env, env.credential(cid)) == Status.REVOKED
    again = env.wallet("resume", cid, ok=False)
    assert again.exit_code == 5 and "error: conflict:" in again.stderr
    assert env.json("list", "--state", "revoked")[0]["id"] == cid


def test_suspend_resume(env: Env) -> None:
    env.init()
    cid = env.json("receive", str(env.request_file()), "--accept")["consent"]["id"]
    credential = env.credential(cid)
    assert "registry accepted" in env.wallet("suspend", cid).stdout
    assert _registry_status(env, credential) == Status.SUSPENDED
    assert env.json("list")[0]["state"] == "suspended"
    env.json("resume", cid)
    assert _registry_status(env, credential) == Status.VALID
    assert [e["status"] for e in env.json("show", cid)["events"]] == ["active", "suspended", "active"]


def test_many_changes_within_one_second_all_published(env: Env) -> None:
    env.init()
    cid = env.json("receive", str(env.request_file()), "--accept")["consent"]["id"]
    iats = []
    for action in ("suspend", "resume", "suspend", "resume"):
        result = env.json(action, cid)
        assert result["published"]
        iats.append(result["iat"])
    assert iats == sorted(set(iats))


def test_pending_publish_when_registry_down_then_sync(env: Env) -> None:
    env.init()
    cid = env.json("receive", str(env.request_file()), "--accept")["consent"]["id"]
    credential = env.credential(cid)
    env.stop_registry()
    down = env.json("revoke", cid)
    assert not down["published"] and down["error"] == "unavailable"
    assert "PENDING" in env.wallet("show", cid).stdout.upper()
    [listed] = env.json("list")
    assert listed["state"] == "revoked" and listed["pending"]
    assert "pending" in env.wallet("list").stdout
    failed = env.wallet("sync", ok=False)
    assert failed.exit_code == 6
    env.start_registry()
    assert env.json("sync")["lists"][0]["accepted"]
    assert not env.json("list")[0]["pending"]
    assert _registry_status(env, credential) == Status.REVOKED


def test_pending_publish_goes_out_with_the_next_change(env: Env) -> None:
    env.init()
    a = env.json("receive", str(env.request_file("a")), "--accept")["consent"]["id"]
    b = env.json("receive", str(env.request_file("b")), "--accept")["consent"]["id"]
    env.stop_registry()
    env.json("suspend", a)
    env.start_registry()
    assert env.json("suspend", b)["published"]
    assert not any(c["pending"] for c in env.json("list"))
    assert _registry_status(env, env.credential(a)) == Status.SUSPENDED


def test_consent_kept_when_delivery_fails_then_deliver(env: Env) -> None:
    env.init()
    env.callback.fail = True
    out = env.wallet("receive", str(env.request_file()), "--accept")
    assert "NOT delivered" in out.stdout
    [consent] = env.json("list")
    assert not consent["delivered"] and "unavailable" in consent["delivery_error"]
    assert "not delivered" in env.wallet("list").stdout
    retry = env.wallet("deliver", consent["id"], ok=False)
    assert "error: undelivered:" in retry.stderr
    env.callback.fail = False
    env.json("deliver", consent["id"])
    assert env.json("list")[0]["delivered"]
    assert len(env.callback.received) == 1


def test_backup_restore_reproduces_list(env: Env) -> None:
    env.init()
    a = env.json("receive", str(env.request_file("a")), "--accept")["consent"]["id"]
    env.json("receive", str(env.request_file("b")), "--items", "transactions")
    env.json("suspend", a)
    before_json, before_text = env.json("list"), env.wallet("list").stdout
    backup = env.tmp / "wallet.backup"
    env.json("backup", str(backup))
    assert b"Kakeibo" not in backup.read_bytes()  # encrypted
    restored = env.tmp / "restored"
    env.run("restore", str(backup), "--home", str(restored))
    assert json.loads(env.run("list", "--home", str(restored), "--json").stdout) == before_json
    assert env.run("list", "--home", str(restored)).stdout == before_text
    # the restored wallet keeps working: same DID, and changes still publish
    assert env.run("did", "--home", str(restored)).stdout == env.wallet("did").stdout
    assert json.loads(env.run("resume", a, "--home", str(restored), "--json").stdout)["published"]
    refused = env.run("restore", str(backup), "--home", str(restored), ok=False)
    assert "error: wallet_exists:" in refused.stderr


def test_restore_with_wrong_passphrase_or_bad_file(env: Env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env.init()
    backup = env.tmp / "wallet.backup"
    env.json("backup", str(backup))
    monkeypatch.setenv("COPYME_PASSPHRASE", "wrong")
    wrong = env.run("restore", str(backup), "--home", str(env.tmp / "r1"), ok=False)
    assert "error: wrong_passphrase:" in wrong.stderr
    junk = env.tmp / "junk"
    junk.write_bytes(b"COPYME-WALLET-BACKUP\x01garbage")
    assert "error: bad_backup:" in env.run("restore", str(junk), "--home", str(env.tmp / "r2"), ok=False).stderr
    assert not (env.tmp / "r1" / "wallet.db").exists()


def test_wrong_passphrase_is_a_clear_error(env: Env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    env.init()
    cid = env.json("receive", str(env.request_file()), "--accept")["consent"]["id"]
    monkeypatch.setenv("COPYME_PASSPHRASE", "not it")
    result = env.wallet("revoke", cid, ok=False)
    assert result.exit_code == 3
    assert result.stderr.strip().startswith("error: wrong_passphrase:") and "Traceback" not in result.output
    monkeypatch.delenv("COPYME_PASSPHRASE")
    pfile = env.tmp / "pass"
    pfile.write_text("correct horse battery staple\n")
    assert env.json("revoke", cid, "--passphrase-file", str(pfile))["published"]


def test_tampered_request_is_refused(env: Env) -> None:
    env.init()
    raw = bytearray(env.request_bytes())
    pos = raw.find(b"Kakeibo Inc.")
    raw[pos] = ord("X")
    path = env.tmp / "tampered.cwt"
    path.write_bytes(bytes(raw))
    result = env.wallet("receive", str(path), "--accept", ok=False)
    assert "error: bad_signature:" in result.stderr
    assert env.json("list") == []


def test_expired_request_is_refused(env: Env) -> None:
    import time

    env.init()
    path = env.request_file(now=int(time.time()) - 3600)
    result = env.wallet("receive", str(path), "--accept", ok=False)
    assert "error: expired:" in result.stderr
    assert env.json("list") == []


def test_unknown_item_is_refused(env: Env) -> None:
    from protocol import Item

    env.init()
    path = env.request_file(items=(Item("transactions", True), Item("blood_type", False)))
    result = env.wallet("receive", str(path), "--accept", ok=False)
    assert "error: unknown_item:" in result.stderr and "blood_type" in result.stderr


def test_garbage_and_oversized_requests(env: Env) -> None:
    env.init()
    for name, data, code in [("garbage", b"\x00\x01not cbor", "malformed"), ("empty", b"", "malformed"),
                             ("big", b"\xa0" * 70_000, "too_large")]:
        path = env.tmp / name
        path.write_bytes(data)
        result = env.wallet("receive", str(path), "--accept", ok=False)
        assert f"error: {code}:" in result.stderr, (name, result.stderr)
    assert "error: not_found:" in env.wallet("receive", str(env.tmp / "nope"), "--accept", ok=False).stderr


def test_corrupted_database_is_a_clear_error_and_kept(env: Env) -> None:
    env.init()
    env.json("receive", str(env.request_file()), "--accept")
    db = env.home / "wallet.db"
    for leftover in (env.home / "wallet.db-wal", env.home / "wallet.db-shm"):
        leftover.unlink(missing_ok=True)
    damaged = b"this is not a database" + bytes(4096)
    db.write_bytes(damaged)
    for command in (["list"], ["show", "x" * 10], ["revoke", "x" * 10]):
        result = env.wallet(*command, ok=False)
        assert result.exit_code == 7 and "error: corrupt_store:" in result.stderr, result.output
        assert "Traceback" not in result.output
    assert db.read_bytes() == damaged
    assert "error: wallet_exists:" in env.wallet("init", "--registry", env.registry_url, ok=False).stderr


def test_not_initialised(env: Env) -> None:
    result = env.wallet("list", ok=False)
    assert result.exit_code == 4 and "error: not_initialised:" in result.stderr


def test_answer_flags_are_exclusive_and_needed(env: Env) -> None:
    env.init()
    path = str(env.request_file())
    assert "error: invalid:" in env.wallet("receive", path, "--accept", "--decline", ok=False).stderr
    assert "error: invalid:" in env.wallet("receive", path, ok=False).stderr
    env.json("receive", path, "--accept")
    assert "error: conflict:" not in env.wallet("receive", path).stderr  # shows the earlier decision
    assert "already accepted" in env.wallet("receive", path).stdout


def test_accept_grants_the_required_items_only(env: Env) -> None:
    """Privacy by default: --accept without naming items shares only what is required."""
    env.init()
    out = env.json("receive", str(env.request_file()), "--accept")
    assert out["consent"]["items"] == ["transactions"]


def test_an_unverified_requester_needs_an_explicit_flag_and_gets_a_warning(env: Env) -> None:
    env.init()
    path = str(env.request_file(key=samples.KEYS.stranger))
    refused = env.wallet("receive", path, "--accept", "--lang", "en", ok=False)
    assert "error: unverified_requester:" in refused.stderr and "--accept-unverified" in refused.stderr
    assert "Nobody vouches for this requester" in refused.stderr  # the glossary's sentence first
    assert env.json("list") == []
    taken = env.wallet("receive", path, "--accept", "--accept-unverified", "--lang", "ja")
    assert "未確認の依頼者" in taken.stderr and "accepted: consent" in taken.stdout
    assert env.json("receive", str(env.request_file(key=samples.KEYS.stranger, name="x")), "--decline")[
        "decision"] == "declined"  # declining never needs the flag


def test_days_shortens_the_validity(env: Env) -> None:
    env.init()
    consent = env.json("receive", str(env.request_file()), "--accept", "--days", "7")["consent"]
    assert consent["expires_at"] - consent["issued_at"] == 7 * 86400
    too_long = env.wallet("receive", str(env.request_file("b")), "--accept", "--days", "9999", ok=False)
    assert "error: invalid:" in too_long.stderr and "validity_days" in too_long.stderr


def test_news_lists_uses_and_ending_consents_once(env: Env) -> None:
    from tests.wallet.test_overview import add_receipt
    from wallet import Wallet

    env.init()
    first = env.json("news")
    assert first["since"] is None
    cid = env.json("receive", str(env.request_file()), "--accept", "--days", "3")["consent"]["id"]
    with Wallet.open(env.home) as wallet:
        add_receipt(wallet, cid, ["transactions"])
    news = env.json("news")
    assert [r["consent_id"] for r in news["uses"]] == [cid] and [c["id"] for c in news["ending"]] == [cid]
    again = env.json("news")
    assert again["uses"] == [] and [c["id"] for c in again["ending"]] == [cid]  # ending stays until it ends
    text = env.wallet("news", "--lang", "ja").stdout
    assert "終わります" in text


def test_due_lists_consents_ending_within_30_days(env: Env) -> None:
    env.init()
    soon = env.json("receive", str(env.request_file("soon", validity_days=20)), "--accept")["consent"]["id"]
    env.json("receive", str(env.request_file("later", validity_days=180)), "--accept")
    assert [c["id"] for c in env.json("due")] == [soon]
    assert soon in env.wallet("due").stdout
    assert len(env.json("due", "--days", "365")) == 2
    env.json("revoke", soon)
    assert env.json("due") == []
    assert "error: invalid" in env.wallet("due", "--days", "0", ok=False).stderr
