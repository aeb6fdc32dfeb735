"""Recipient records carry APPI's items (Art. 30; Rules Art. 24) and export as CSV that spreadsheets open."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from issuer import (
    Issuer,
    IssuerStorage,
    IssuerStore,
    ProviderProfile,
    StoredConsent,
    build_request,
    export_csv,
    list_records,
    open_store,
    publish,
    receive_consent,
    record_receipt,
)
from issuer.demo import SAKURA_BANK, kakeibo_config
from issuer.records import CSV_COLUMNS, NOT_RECORDED
from issuer.service import resolve_holder
from protocol import KeyPair
from tests.support.samples import KEYS
from tests.support.servers import serve

from .conftest import GOOD_ARGS, grant

BANK = ProviderProfile(
    name={"ja": "さくら銀行", "en": "Sakura Bank"},
    address="東京都千代田区さくら通り1-2-3",
    representative="代表取締役 桜井 花子",
    acquisition="口座名義人である本人から取得 / collected from the customer as the account holder",
)


def held_consent(store: IssuerStorage, account: str = "alice") -> StoredConsent:
    """A consent received for ``account`` through the real callback path."""
    request = build_request(requester=KEYS.requester, **GOOD_ARGS)
    publish(store, request, account=account, base_url="https://kakeibo.example")
    return receive_consent(store, grant(request), requester=KEYS.requester.did)


def csv_rows(text: str) -> list[dict[str, str]]:
    """The CSV as dicts keyed by the English column keys (checks the header row on the way)."""
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [title for _, title in CSV_COLUMNS]
    return [dict(zip([key for key, _ in CSV_COLUMNS], row, strict=True)) for row in rows[1:]]


def test_record_and_csv(tmp_path: Path, backend: str | None) -> None:
    location = backend or tmp_path / "issuer.db"
    store = open_store(location)
    consent = held_consent(store)
    record = record_receipt(store, consent, provider=BANK, items=["transactions"],
                            purpose="dpv:ServiceProvision", now=1_795_000_000)
    assert record.to_json()["received_on"] == "2026-11-18T11:06:40Z"
    assert (record.provider, record.person, record.account) == (KEYS.holder.did, KEYS.user.did, "alice")
    assert (record.obtained_by, record.consent_id, record.consent_obtained) == ("consent", consent.id, True)
    # Art. 30(1)(i): name, address, representative; (ii): how the provider acquired the data
    assert (record.provider_name, record.provider_address, record.provider_representative) == (
        "さくら銀行", BANK.address, BANK.representative)
    assert record.acquisition == BANK.acquisition
    assert record.to_json()["consent_obtained"] is True and record.to_json()["acquisition"] == BANK.acquisition
    assert list_records(store, "bob") == []
    [row] = csv_rows(export_csv(list_records(store)))
    assert row == {
        "received_at": "2026-11-18T11:06:40Z", "obtained_by": "本人の同意を得ている consent obtained",
        "consent_id": consent.id, "provider_name": "さくら銀行", "provider_address": BANK.address,
        "provider_representative": BANK.representative, "provider": KEYS.holder.did,
        "acquisition": BANK.acquisition, "person": KEYS.user.did, "account": "alice",
        "items": "transactions", "purpose": "dpv:ServiceProvision",
    }
    store.close()
    # records survive a restart, with every field
    [again] = list_records(open_store(location))
    assert again == record


def test_csv_headers_name_the_appi_items() -> None:
    titles = " ".join(title for _, title in CSV_COLUMNS)
    for words in ("受領年月日", "本人の同意", "提供者の名称", "提供者の住所", "代表者の氏名", "取得の経緯",
                  "本人", "個人データの項目"):
        assert words in titles
    assert len({key for key, _ in CSV_COLUMNS}) == len(CSV_COLUMNS)


def test_unknown_particulars_are_recorded_as_not_recorded(tmp_path: Path) -> None:
    """An empty field is never an invented value, and the CSV tells a gap from a blank."""
    store = IssuerStore(tmp_path / "issuer.db")
    record = record_receipt(store, held_consent(store), provider=ProviderProfile(name={"en": "Bank"}),
                            items=["transactions", "balance"], purpose="dpv:ServiceProvision", now=1_795_000_000)
    assert (record.provider_name, record.provider_address, record.acquisition) == ("Bank", "", "")
    [row] = csv_rows(export_csv([record]))
    assert row["provider_address"] == row["provider_representative"] == row["acquisition"] == NOT_RECORDED
    assert row["items"] == "transactions balance"
    store.close()


@pytest.mark.parametrize(("answer", "expected"), [
    ({}, BANK),
    ({"name": {"ja": "さくら銀行本店", "en": "Sakura Bank HQ"}, "address": "大阪府大阪市1-1"},
     ProviderProfile(name={"ja": "さくら銀行本店", "en": "Sakura Bank HQ"}, address="大阪府大阪市1-1",
                     representative=BANK.representative, acquisition=BANK.acquisition)),
    ({"representative": {"ja": "頭取 桜井 花子", "en": "Hanako Sakurai"}, "acquisition": "  "},
     ProviderProfile(name=BANK.name, address=BANK.address, representative="頭取 桜井 花子 / Hanako Sakurai",
                     acquisition=BANK.acquisition)),
    # malformed declarations keep the configured values
    ({"name": "not a mapping", "address": 12, "representative": None, "acquisition": ["x"]}, BANK),
    ({"name": {"ja": "", "en": 5}}, BANK),
])
def test_holder_declaration_overrides_configuration(answer: dict[str, Any], expected: ProviderProfile) -> None:
    assert BANK.declared(answer) == expected


def test_old_database_is_migrated_and_old_records_stay_readable(tmp_path: Path) -> None:
    """A file written before the provider's address, representative and acquisition existed."""
    path = tmp_path / "issuer.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, received_at INTEGER, provider TEXT, "
                 "provider_name TEXT, person TEXT, account TEXT, items TEXT, purpose TEXT, obtained_by TEXT, "
                 "consent_id TEXT)")
    conn.execute("INSERT INTO records VALUES (1, 1795000000, ?, 'さくら銀行', ?, 'alice', ?, "
                 "'dpv:ServiceProvision', 'consent', 'bafyold')",
                 (KEYS.holder.did, KEYS.user.did, json.dumps(["transactions"])))
    conn.commit()
    conn.close()
    store = IssuerStore(path)
    [old] = list_records(store)
    assert (old.id, old.provider_name, old.consent_id, old.consent_obtained) == (1, "さくら銀行", "bafyold", True)
    assert (old.provider_address, old.provider_representative, old.acquisition) == ("", "", "")
    new = record_receipt(store, held_consent(store), provider=BANK, items=["transactions"],
                         purpose="dpv:ServiceProvision", now=1_795_000_100)
    assert new.id == 2
    old_row, new_row = csv_rows(export_csv(list_records(store)))
    assert old_row["acquisition"] == old_row["provider_address"] == NOT_RECORDED
    assert new_row["acquisition"] == BANK.acquisition
    store.close()
    # opening it again changes nothing
    assert len(list_records(IssuerStore(path))) == 2


def test_issuer_records_the_holder_as_declared_at_v1_holder(tmp_path: Path) -> None:
    """``resolve_holder`` passes the holder's own statements on; configuration fills the rest."""
    bank = FastAPI()

    @bank.get("/v1/holder")
    def holder() -> dict[str, Any]:
        return {"did": KEYS.holder.did, "name": {"ja": "さくら銀行", "en": "Sakura Bank"},
                "address": "東京都中央区日本橋9-9-9"}

    with serve(bank) as url:
        did, about = resolve_holder(url)
        assert did == KEYS.holder.did and about["address"] == "東京都中央区日本橋9-9-9"
        store = IssuerStore(tmp_path / "issuer.db")
        company = Issuer(KEYS.requester, store, kakeibo_config(url), holder=lambda: resolve_holder(url))
        profile = company.provider()
    assert profile.address == "東京都中央区日本橋9-9-9"  # declared by the holder
    assert (profile.representative, profile.acquisition) == (SAKURA_BANK["representative"],
                                                            SAKURA_BANK["acquisition"])  # configured
    assert profile.display_name("en") == "Sakura Bank"
    store.close()


def test_an_older_resolver_answering_only_names_still_works(tmp_path: Path) -> None:
    store = IssuerStore(tmp_path / "issuer.db")
    company = Issuer(KeyPair.generate(), store, kakeibo_config("http://127.0.0.1:9"),
                     holder=lambda: (KEYS.holder.did, {"ja": "もみじ銀行", "en": "Momiji Bank"}))
    assert company.holder_did() == KEYS.holder.did
    assert company.holder_name("en") == "Momiji Bank"
    assert company.provider().address == SAKURA_BANK["address"]
    store.close()
