"""Provision records: APPI items, hash chain, append-only, tamper detection, CSV."""

from __future__ import annotations

import sqlite3

import pytest

from protocol.errors import InvalidArgument
from tests.support import samples
from verifier.errors import RecordsTampered
from verifier.grant import Grant
from verifier.records import GENESIS, Records, _digest
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
    assert lines[0].startswith("seq,date,kind,recipient,recipient_name,person,items,purpose,consent_obtained,consent_id")
    assert ",provision," in lines[1] and "C-1001" in lines[1] and ",yes,bafy0," in lines[1]
    assert ",refusal," in lines[4] and ",revoked," in lines[4]
    assert len(lines) == 5


def test_head_detects_cut_off_newest_records(records: Records, tmp_path: object) -> None:
    kept = records.head()  # what an auditor keeps outside the holder
    assert kept.startswith("4:") and kept == records.verified_head()
    records.provision(_grant(7), now=samples.NOW + 7)
    assert records.verify_chain(expect_head=kept) == 5  # the log may grow past the kept head
    conn = sqlite3.connect(f"{tmp_path}/v.db", isolation_level=None)
    conn.execute("DROP TRIGGER records_no_delete")
    conn.execute("DELETE FROM records WHERE seq >= 4")  # cut off the newest: the rest still chains
    assert records.verify_chain() == 3
    with pytest.raises(RecordsTampered, match="cut off"):
        records.verify_chain(expect_head=kept)


def test_a_rewritten_tail_does_not_match_the_kept_head(records: Records, tmp_path: object) -> None:
    kept = records.head()
    conn = sqlite3.connect(f"{tmp_path}/v.db", isolation_level=None)
    conn.execute("DROP TRIGGER records_no_delete")
    conn.execute("DELETE FROM records WHERE seq = 4")
    fresh = Records(open_database(f"{tmp_path}/v.db"))  # re-chained from record 3, as a forger would
    fresh.refusal("revoked", "something else", now=samples.NOW + 6)
    assert fresh.verify_chain() == 4
    with pytest.raises(RecordsTampered, match="rewritten"):
        fresh.verify_chain(expect_head=kept)


@pytest.mark.parametrize("head", ["", "4", "x:" + "0" * 64, "4:abc", "4:" + "G" * 64])
def test_a_malformed_head_is_an_invalid_argument(records: Records, head: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        records.verify_chain(expect_head=head)
    assert info.value.code == "invalid"


def test_recipient_name_is_kept_and_chained(records: Records, tmp_path: object) -> None:
    name = {"ja": "家計簿アプリ株式会社", "en": "Kakeibo App Inc."}
    records.provision(_grant(5), now=samples.NOW + 6, recipient_name=name)
    last = records.all()[-1]
    assert last["recipient_name"] == name and last["recipient"] == samples.KEYS.requester.did
    assert "家計簿アプリ株式会社 / Kakeibo App Inc." in records.to_csv().splitlines()[-1]
    assert records.all()[0]["recipient_name"] is None  # unknown recipients: the DID only
    conn = sqlite3.connect(f"{tmp_path}/v.db", isolation_level=None)
    conn.execute("DROP TRIGGER records_no_update")
    conn.execute("UPDATE records SET recipient_name = '{\"en\": \"Someone Else\", \"ja\": \"別会社\"}' WHERE seq = 5")
    with pytest.raises(RecordsTampered):
        records.verify_chain()


def test_a_log_from_before_names_is_migrated_and_still_verifies(tmp_path: object) -> None:
    conn = sqlite3.connect(f"{tmp_path}/old.db", isolation_level=None)
    conn.execute("""CREATE TABLE records (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,
        recipient TEXT, person TEXT, user TEXT, items TEXT NOT NULL, purpose TEXT,
        consent_obtained INTEGER NOT NULL, consent_id TEXT, reason TEXT, detail TEXT,
        prev TEXT NOT NULL, hash TEXT NOT NULL)""")
    row = dict(seq=1, at=samples.NOW, kind="refusal", recipient=None, person=None, user=None, items=[],
               purpose=None, consent_obtained=False, consent_id=None, reason="malformed", detail="x", prev=GENESIS)
    conn.execute("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                 [1, samples.NOW, "refusal", None, None, None, "[]", None, 0, None, "malformed", "x", GENESIS,
                  _digest(row)])
    conn.close()
    log = Records(open_database(f"{tmp_path}/old.db"))
    log.provision(_grant(1), now=samples.NOW + 1, recipient_name={"ja": "甲", "en": "A"})
    assert log.verify_chain() == 2
