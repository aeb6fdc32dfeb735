"""Pairwise DIDs: one identity and one status list per relationship (data holder x data user),
linked at the holder by the wallet itself.  A real registry, bank (verifier) and two data users
(Kakeibo and an insurer) run on loopback; the wallet is the library."""

from __future__ import annotations

from pathlib import Path

from tests.support.servers import ThreadServer, free_port
from verifier.app import create_app as verifier_app
from wallet import Wallet
from wallet.status import LIST_SIZE

from .conftest import PASSPHRASE, Parties


def test_each_data_user_gets_its_own_did_and_list(parties: Parties) -> None:
    holder = parties.holder
    with parties.wallet() as wallet:
        linked = wallet.link(parties.bank, holder.new_link_code("C-1002"))
        anchor = linked["did"]
        kakeibo = parties.consent(wallet, parties.kakeibo, "ken")
        hoken = parties.consent(wallet, parties.hoken, "ken")
        again = parties.consent(wallet, parties.kakeibo, "ken2", items=["transactions"])
        dids = {wallet.did, anchor, kakeibo.issuer, hoken.issuer}
        assert len(dids) == 4  # the wallet's own DID, the bank-linked one, one per data user
        assert again.issuer == kakeibo.issuer and again.status.uri == kakeibo.status.uri
        assert kakeibo.status.uri != hoken.status.uri and kakeibo.status.key != hoken.status.key
        # the bank knows every relationship DID as the same customer; it was told by the wallet
        assert holder.links.dids_of("C-1002") == sorted([anchor, kakeibo.issuer, hoken.issuer])
        assert all(r.linked_at for r in wallet.relationships.all())
        assert wallet.info()["relationships"] == 2
        lists = wallet.store.rows("SELECT size, relationship FROM lists")
        assert len(lists) == 2 and {row["size"] for row in lists} == {LIST_SIZE}
    for issuer, account in ((parties.kakeibo, "ken"), (parties.hoken, "ken")):
        response = parties.fetch(issuer, account)
        assert response.status_code == 200, response.text
    assert parties.fetch(parties.hoken, "ken").json()["items"]["name"] == "佐藤 健"


def test_relationship_before_the_holder_is_linked_links_with_the_code(parties: Parties) -> None:
    with parties.wallet() as wallet:
        credential = parties.consent(wallet, parties.kakeibo, "ken")
        [relationship] = wallet.relationships.all()
        assert relationship.linked_at is None and relationship.did == credential.issuer
        refused = parties.fetch(parties.kakeibo, "ken")
        assert refused.json()["error"] == "not_linked"
        linked = wallet.link(parties.bank, parties.holder.new_link_code("C-1001"))
        assert [r["did"] for r in linked["relationships"]] == [credential.issuer]
    assert parties.fetch(parties.kakeibo, "ken").status_code == 200


def test_holder_down_at_consent_then_sync_links(parties: Parties, tmp_path: Path) -> None:
    # a second bank front on a port of its own, stopped while the user consents
    port = free_port()
    front = ThreadServer(verifier_app(parties.holder), port).start()
    url = front.url
    with parties.wallet() as wallet:
        wallet.link(url, parties.holder.new_link_code("C-1001"))
        front.stop()
        credential = parties.consent(wallet, parties.kakeibo, "ken")
        [relationship] = wallet.relationships.all()
        assert relationship.linked_at is None and (relationship.link_error or "").startswith("unavailable")
        assert parties.holder.links.customer_for(credential.issuer) is None
        front = ThreadServer(verifier_app(parties.holder), port).start()
        try:
            wallet.sync()
        finally:
            front.stop()
        [relationship] = wallet.relationships.all()
        assert relationship.linked_at is not None and relationship.link_error is None
    assert parties.holder.links.customer_for(credential.issuer) == "C-1001"


def test_relationships_survive_backup_and_recovery(parties: Parties) -> None:
    with parties.wallet() as wallet:
        wallet.link(parties.bank, parties.holder.new_link_code("C-1001"))
        credential = parties.consent(wallet, parties.kakeibo, "ken")
        phrase = wallet.keys.phrase_seed.phrase("en")  # type: ignore[union-attr]
        from wallet import write_backup

        write_backup(wallet.store, wallet.home, parties.tmp / "w.backup", PASSPHRASE, kdf="min")
    with Wallet.recover(parties.tmp / "fresh", phrase, PASSPHRASE, backup=parties.tmp / "w.backup") as restored:
        [relationship] = restored.relationships.all()
        assert relationship.did == credential.issuer
        assert restored.relationships.key(relationship).did == credential.issuer  # derived again from the phrase
        # a further consent of the same relationship is signed by the same DID, on the same list
        again = parties.consent(restored, parties.kakeibo, "ken")
        assert again.issuer == credential.issuer and again.status.uri == credential.status.uri
    assert parties.fetch(parties.kakeibo, "ken").status_code == 200
