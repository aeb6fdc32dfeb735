"""Recipient records carry APPI's items and export as CSV that spreadsheets open."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from issuer import IssuerStore, build_request, export_csv, list_records, publish, receive_consent, record_receipt
from tests.support.samples import KEYS

from .conftest import GOOD_ARGS, grant


def test_record_and_csv(tmp_path: Path) -> None:
    store = IssuerStore(tmp_path / "issuer.db")
    request = build_request(requester=KEYS.requester, **GOOD_ARGS)
    publish(store, request, account="alice", base_url="https://kakeibo.example")
    consent = receive_consent(store, grant(request), requester=KEYS.requester.did)
    record = record_receipt(store, consent, provider_name="さくら銀行", items=["transactions"],
                            purpose="dpv:ServiceProvision", now=1_795_000_000)
    assert record.to_json()["received_on"] == "2026-11-18T11:06:40Z"
    assert (record.provider, record.person, record.account) == (KEYS.holder.did, KEYS.user.did, "alice")
    assert (record.obtained_by, record.consent_id) == ("consent", consent.id)
    assert list_records(store, "bob") == []
    rows = list(csv.reader(io.StringIO(export_csv(list_records(store)))))
    assert rows[0][0].startswith("受領年月日") and len(rows) == 2
    assert rows[1][:4] == ["2026-11-18T11:06:40Z", "さくら銀行", KEYS.holder.did, KEYS.user.did]
    assert rows[1][-2:] == ["本人の同意 consent", consent.id]
    store.close()
    # records survive a restart
    assert len(list_records(IssuerStore(tmp_path / "issuer.db"))) == 1
