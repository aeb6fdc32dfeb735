"""Recipient records: what APPI asks a company to write down when it *receives* personal data.

Under APPI Art. 30 a third party receiving personal data records (施行規則 §20–§22): the date
of receipt, the provider (name; here also its DID), the person the data is about, the data
items, and how the provider came to provide it — here always *by the person's consent*, with
the consent id (the credential's CID) as proof.  Records are append-only and exportable as CSV
(UTF-8 with BOM, so spreadsheet software in Japan opens it correctly).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from protocol import clock

from .store import IssuerStore, StoredConsent

__all__ = ["CSV_COLUMNS", "RecipientRecord", "export_csv", "list_records", "record_receipt"]

#: Column headers of the CSV export, in order (English key / 日本語).
CSV_COLUMNS = (
    ("received_at", "受領年月日 Date received"),
    ("provider_name", "提供者 Provider"),
    ("provider", "提供者DID Provider DID"),
    ("person", "本人 Person"),
    ("account", "本人のアカウント Account"),
    ("items", "項目 Items"),
    ("purpose", "利用目的 Purpose"),
    ("obtained_by", "取得の経緯 How obtained"),
    ("consent_id", "同意ID Consent id"),
)


@dataclass(frozen=True)
class RecipientRecord:
    """One receipt of personal data."""

    id: int
    received_at: int
    provider: str
    provider_name: str
    person: str
    account: str
    items: tuple[str, ...]
    purpose: str
    obtained_by: str
    consent_id: str

    def to_json(self) -> dict[str, Any]:
        """A JSON view, with the date also as ISO 8601 UTC."""
        return {
            "id": self.id, "received_at": self.received_at,
            "received_on": _iso(self.received_at), "provider": self.provider,
            "provider_name": self.provider_name, "person": self.person, "account": self.account,
            "items": list(self.items), "purpose": self.purpose, "obtained_by": self.obtained_by,
            "consent_id": self.consent_id,
        }


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_receipt(store: IssuerStore, consent: StoredConsent, *, provider_name: str,
                   items: Sequence[str], purpose: str, now: int | None = None) -> RecipientRecord:
    """Write the record of receiving ``items`` from the consent's data holder."""
    credential = consent.credential
    row = {
        "received_at": clock.now(now), "provider": credential.audience,
        "provider_name": provider_name, "person": consent.user, "account": consent.account,
        "items": json.dumps(list(items)), "purpose": purpose, "obtained_by": "consent",
        "consent_id": consent.id,
    }
    record_id = store.add_record(row)
    return _record({**row, "id": record_id})


def list_records(store: IssuerStore, account: str | None = None) -> list[RecipientRecord]:
    """All recipient records (or one account's), oldest first."""
    return [_record(r) for r in store.records(account)]


def export_csv(rows: Iterable[RecipientRecord]) -> str:
    """The records as CSV text with a bilingual header row (prefix ``\\ufeff`` when saving)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for _, title in CSV_COLUMNS])
    for record in rows:
        values = record.to_json()
        values["received_at"] = values["received_on"]
        values["items"] = " ".join(record.items)
        values["obtained_by"] = "本人の同意 consent" if record.obtained_by == "consent" else record.obtained_by
        writer.writerow([values[key] for key, _ in CSV_COLUMNS])
    return out.getvalue()


def _record(row: dict[str, Any]) -> RecipientRecord:
    return RecipientRecord(
        id=int(row["id"]), received_at=row["received_at"], provider=row["provider"],
        provider_name=row["provider_name"], person=row["person"], account=row["account"],
        items=tuple(json.loads(row["items"])), purpose=row["purpose"],
        obtained_by=row["obtained_by"], consent_id=row["consent_id"],
    )
