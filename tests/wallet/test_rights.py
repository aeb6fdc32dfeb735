"""Stop-use and erasure requests from the wallet to the real Kakeibo app: revoke with an erasure
request, the signed acknowledgement, the company's completion, the copied data gone; delivery
retried after an outage; forged answers refused and nothing stored from them.

Registry, bank (verifier) and Kakeibo (issuer) run for real on loopback ports; the wallet runs
in-process, and once as the real ``copyme wallet`` CLI.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from issuer.app import create_app as issuer_app
from protocol import ConsentCredential, RightsAck, RightsDone, RightsRequest, Typ
from tests.support.samples import KEYS
from tests.support.servers import ThreadServer, serve
from wallet import Wallet

from .conftest import PASSPHRASE
from .conftest import consent_at_kakeibo as _consent

http = httpx.Client(timeout=10)


def _copied(url: str, account: str = "ken") -> set[str]:
    return {c["item"] for c in http.get(f"{url}/api/copied", params={"account": account}).json()["copied"]}


def test_revoke_with_erasure_through_the_cli_and_the_completion(world: dict[str, Any]) -> None:
    consent_id, url = _consent(world), world["kakeibo_url"]
    assert _copied(url) == {"transactions", "balance"}
    home = world["home"] / "wallet"
    world["wallet"].close()  # the CLI opens the wallet itself

    def cli(*args: str) -> Any:
        proc = subprocess.run([sys.executable, "-m", "copyme", "wallet", *args, "--home", str(home), "--json"],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "COPYME_PASSPHRASE": PASSPHRASE})
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    revoked = cli("revoke", consent_id, "--erase", "both")
    assert revoked["state"] == "revoked"
    assert revoked["rights"]["state"] == "acknowledged" and revoked["rights"]["kind"] == "both"

    [pending] = http.get(f"{url}/api/rights", params={"open_only": "true"}).json()["rights"]
    assert pending["consent_id"] == consent_id and pending["rights_id"] == revoked["rights"]["rights_request"]
    assert cli("rights", "--follow-up")[0]["state"] == "acknowledged"  # not done yet

    done = http.post(f"{url}/api/rights/{pending['rights_id']}/complete").json()
    assert done["state"] == "done"
    assert _copied(url) == set()

    [followed] = cli("rights", consent_id, "--follow-up")
    assert followed["state"] == "done"
    assert followed["erased_items"] == ["balance", "transactions"] and followed["erased_records"] == 2
    shown = cli("show", consent_id)
    assert shown["rights"][0]["state"] == "done"

    w = Wallet.open(home, PASSPHRASE)
    try:
        evidence = w.rights_desk.evidence(followed["id"])
        request = RightsRequest.decode(bytes.fromhex(evidence["rights_request"]))
        ack = RightsAck.decode(bytes.fromhex(evidence["ack"] or ""))
        ack.check_answers(request)
        # Due 14 days after the data user received the request: both times come from one reading
        # of its clock (the signed ack), so no second ticking between two processes can shift them.
        assert ack.due_at - ack.received_at == 14 * 86400 and revoked["rights"]["due_at"] == ack.due_at
        assert request.issued_at <= revoked["rights"]["sent_at"] <= ack.received_at  # one machine's clock
        RightsDone.decode(bytes.fromhex(evidence["done"] or "")).check_answers(request)
        signer = ConsentCredential.decode(w.store.row("SELECT raw FROM consents WHERE id = ?",
                                                      (consent_id,))["raw"]).issuer  # type: ignore[index]
        assert request.user == signer != w.did  # the consent's own (relationship) key, not the wallet's DID
    finally:
        w.close()


def test_delivery_is_retried_after_an_outage(world: dict[str, Any]) -> None:
    w, kakeibo = world["wallet"], world["kakeibo"]
    consent_id = _consent(world)
    port = int(world["kakeibo_url"].rsplit(":", 1)[1])
    kakeibo.stop()
    view = w.ask_rights(consent_id, "erase")
    assert view.state == "sent" and view.send_error and view.send_error.startswith("unavailable")
    first_cid = view.cid
    again = ThreadServer(issuer_app(world["home"] / "kakeibo", world["bank"], demo=True), port).start()
    try:
        [retried] = w.follow_up_rights()
    finally:
        again.stop()
    assert retried.state == "acknowledged" and retried.attempts == 2
    assert retried.cid != first_cid  # a fresh signature, never a replay


def test_overdue_past_the_due_date(world: dict[str, Any]) -> None:
    w = world["wallet"]
    view = w.ask_rights(_consent(world), "stop_use")
    assert view.state == "acknowledged" and view.due_at
    assert w.rights(now=view.due_at + 1)[0].state == "overdue"


def _redeclare(world: dict[str, Any], consent_id: str, rights: str | None) -> None:
    """Stand-in for a data user whose declared endpoint is different: the stored request is
    replaced by one declaring ``rights``, signed by the same company key."""
    from protocol import ConsentRequest

    w = world["wallet"]
    row = w.store.row("SELECT r.cid, r.raw FROM consents c JOIN requests r ON r.cid = c.request_cid WHERE c.id = ?",
                      (consent_id,))
    assert row is not None
    changed = dataclasses.replace(ConsentRequest.decode(row["raw"]), rights=rights)
    with w.store.transaction() as db:
        db.conn.execute("UPDATE requests SET raw = ? WHERE cid = ?",
                        (changed.sign(world["kakeibo_app"].state.issuer.key), row["cid"]))


def test_no_rights_endpoint_changes_nothing(world: dict[str, Any]) -> None:
    from wallet.errors import NoRightsEndpoint

    w = world["wallet"]
    consent_id = _consent(world)
    _redeclare(world, consent_id, None)
    with pytest.raises(NoRightsEndpoint) as err:
        w.revoke(consent_id, erase="both")
    assert err.value.code == "no_rights_endpoint"
    assert w.consent(consent_id).state == "active"
    assert w.rights() == []


def _forger() -> FastAPI:
    """A rights endpoint answering with acknowledgements signed by a key that is not the data user's."""
    app = FastAPI()

    @app.post("/rights")
    async def rights(request: Request) -> Response:
        asked = RightsRequest.decode(await request.body())
        forged = dataclasses.replace(RightsAck.answer(asked, due_at=asked.issued_at + 86400, now=asked.issued_at),
                                     data_user=KEYS.stranger.did)
        return Response(forged.sign(KEYS.stranger), media_type=Typ.RIGHTS_ACK.value)

    return app


def test_a_forged_acknowledgement_is_refused_and_not_kept(world: dict[str, Any]) -> None:
    w = world["wallet"]
    consent_id = _consent(world)
    with serve(_forger()) as forger:
        _redeclare(world, consent_id, forger + "/rights")
        view = w.ask_rights(consent_id, "both")
    assert view.state == "sent" and view.send_error and view.send_error.startswith("wrong_signer")
    assert w.rights_desk.evidence(view.id)["ack"] is None


def test_bad_kind_and_unknown_consent(world: dict[str, Any]) -> None:
    from protocol import InvalidArgument, NotFound

    w = world["wallet"]
    consent_id = _consent(world)
    with pytest.raises(InvalidArgument):
        w.ask_rights(consent_id, "shred")
    with pytest.raises(NotFound):
        w.ask_rights("bafynothingatall", "erase")
    assert w.rights() == []
