"""Provision records: APPI items, hash chain, append-only, tamper detection, CSV."""

from __future__ import annotations

import sqlite3

import pytest

from tests.support import samples
from verifier.errors import RecordsTampered
from verifier.grant import Grant
from verifier.records import Records
from verifier.store import open_database


def _grant(n: int) -> Grant:
    return Grant(recipient=samples.KEYS.requester.did, user=samples.KEYS.user.did, customer_id="C-1001",
                 items=("transactions",), purpose="dpv:ServiceProvision", consent_id=f"bafy{n}",
                 presentation_id=bytes(16), verified_at=samples.NOW, consent_expires_at=samples.NOW + 10)


@pytest.fixture
def records(tmp_path: object) -> Records:
    log = Records(open_database(f"{tmp_path}/v.db"))
    for n in range(3):
        log.provision(_grant(n), now=samples.NOW + n)
    log.refusal("revoked", "the user revoked this consent", recipient=samples.KEYS.requester.did,
                now=samples.NOW + 5)
    return log


def test_chain_verifies_and_survives_reopen(records: Records, tmp_path: object) -> None:
    assert records.verify_chain() == 4
    again = Records(open_database(f"{tmp_path}/v.db"))
    again.provision(_grant(9), now=samples.NOW + 9)
    assert again.verify_chain() == 5


def test_records_carry_appi_items(records: Records) -> None:
    first = records.all()[0]
    assert first["at"] == samples.NOW and first["recipient"] == samples.KEYS.requester.did
    assert first["person"] == "C-1001" and first["items"] == ["transactions"]
    assert first["consent_obtained"] is True and first["consent_id"] == "bafy0"
    assert records.all()[-1]["reason"] == "revoked"


def test_updates_and_deletes_are_refused(records: Records, tmp_path: object) -> None:
    conn = sqlite3.connect(f"{tmp_path}/v.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE records SET person = 'C-1002' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM records WHERE seq = 2")


@pytest.mark.parametrize("sql", [
    "UPDATE records SET person = 'C-1002' WHERE seq = 2",
    "UPDATE records SET items = '[\"balance\"]' WHERE seq = 1",
    "DELETE FROM records WHERE seq = 2",
    "UPDATE records SET at = at + 1 WHERE seq = 3",
])
def test_tampering_is_detected(records: Records, tmp_path: object, sql: str) -> None:
    conn = sqlite3.connect(f"{tmp_path}/v.db", isolation_level=None)
    conn.execute("DROP TRIGGER records_no_update")
    conn.execute("DROP TRIGGER records_no_delete")
    conn.execute(sql)
    with pytest.raises(RecordsTampered) as info:
        records.verify_chain()
    assert info.value.code == "records_tampered"


def test_csv_export(records: Records) -> None:
    lines = records.to_csv().splitlines()
    assert lines[0].startswith("seq,date,kind,recipient,person,items,purpose,consent_obtained,consent_id")
    assert ",provision," in lines[1] and "C-1001" in lines[1] and ",yes,bafy0," in lines[1]
    assert ",refusal," in lines[4] and ",revoked," in lines[4]
    assert len(lines) == 5
