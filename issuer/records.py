"""Recipient records: what APPI asks a company to confirm and write down when it *receives* data.

APPI Art. 30(1) obliges a business receiving personal data from a third party to confirm
(i) the provider's name and address and, for a corporation, its representative's name, and
(ii) how the provider acquired the data (取得の経緯) — e.g. "collected from the customer as the
account holder", which is not the same as the legal basis of the provision.  Art. 30(3) then
asks for a record of the confirmed matters and the other matters the PPC Enforcement Rules
(個人情報の保護に関する法律施行規則) set: Rules Art. 22 says how to confirm (the provider's
declaration; for the acquisition, its contract or other suitable means), Art. 23 how records
are made (per receipt, in writing or electronically), Art. 24 what a record holds and Art. 25
how long it is kept (Art. 30(4)).  Rules Arts. 19–21 are the *provider's* side (Art. 29), kept
by the data holder, not here.

For a receipt under the person's consent (APPI Art. 27(1)) Rules Art. 24 asks for: that the
person's consent was obtained; the provider's name, address and representative; how it
acquired the data; the person's name or other matter identifying the person; and the data
items.  The date of receipt is listed for opt-out receipts only; we keep it anyway.  One
:class:`RecipientRecord` per receipt carries all of them: the consent id (the credential's CID)
proves the consent, the user's DID and our own account id identify the person, and the
provider's particulars come from a :class:`ProviderProfile` — the company's configuration,
overridden by what the holder declares about itself at ``GET /v1/holder``.  Each record keeps a
copy of them as they were at the time of receipt.  Records are append-only and exportable as
CSV (UTF-8 with BOM, so spreadsheet software in Japan opens it correctly).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from protocol import clock

from .store import IssuerStorage, StoredConsent

__all__ = ["CSV_COLUMNS", "ProviderProfile", "RecipientRecord", "export_csv", "list_records", "record_receipt"]

#: Column headers of the CSV export, in order (English key / 日本語), following Rules Art. 24.
CSV_COLUMNS = (
    ("received_at", "受領年月日 Date received"),
    ("obtained_by", "本人の同意 Person's consent"),
    ("consent_id", "同意ID Consent id"),
    ("provider_name", "提供者の名称 Provider name"),
    ("provider_address", "提供者の住所 Provider address"),
    ("provider_representative", "代表者の氏名 Provider's representative"),
    ("provider", "提供者DID Provider DID"),
    ("acquisition", "提供者による取得の経緯 How the provider acquired the data"),
    ("person", "本人 Person (DID)"),
    ("account", "本人のアカウント Person's account"),
    ("items", "個人データの項目 Data items"),
    ("purpose", "利用目的 Purpose"),
)

#: What an empty cell of a record made before a field existed says in the CSV.
NOT_RECORDED = "（記録なし） not recorded"

#: The basis of provision we write: the person's consent (APPI Art. 27(1)).
BY_CONSENT = "consent"


def _text(value: Any) -> str | None:
    """A declared value as one string: a string, or a ``{"ja", "en"}`` mapping (ja first)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, Mapping):
        parts = [str(value[k]).strip() for k in ("ja", "en") if isinstance(value.get(k), str) and value[k].strip()]
        return " / ".join(dict.fromkeys(parts)) or None
    return None


@dataclass(frozen=True)
class ProviderProfile:
    """Who the data holder is and how it acquired the data: APPI Art. 30(1) (i) and (ii).

    ``name`` is by language (``ja``, ``en``); ``representative`` is the name of a corporation's
    representative; ``acquisition`` says how the provider came to hold the data (取得の経緯).
    Empty strings mean "not known": they are recorded as such, never invented.
    """

    name: Mapping[str, str] = field(default_factory=lambda: {"ja": "データ保有者", "en": "Data holder"})
    address: str = ""
    representative: str = ""
    acquisition: str = ""

    def display_name(self, lang: str = "ja") -> str:
        """The name in ``lang`` (else English, else any)."""
        return self.name.get(lang) or self.name.get("en") or next(iter(self.name.values()), "")

    def declared(self, answer: Mapping[str, Any]) -> ProviderProfile:
        """This profile, updated with what the holder declares about itself (``GET /v1/holder``).

        Rules Art. 22 lets the recipient confirm name, address and representative by the
        provider's own declaration, so a value the holder states wins over configuration;
        a missing or malformed one keeps the configured value.
        """
        name = answer.get("name")
        changes: dict[str, Any] = {}
        if isinstance(name, Mapping):
            names = {str(k): str(v) for k, v in name.items() if isinstance(v, str) and v.strip()}
            if names:
                changes["name"] = names
        for key in ("address", "representative", "acquisition"):
            value = _text(answer.get(key))
            if value is not None:
                changes[key] = value
        return replace(self, **changes)


@dataclass(frozen=True)
class RecipientRecord:
    """One receipt of personal data, with the items of Rules Art. 24 (and the date and purpose)."""

    id: int
    received_at: int
    provider: str
    provider_name: str
    provider_address: str
    provider_representative: str
    acquisition: str
    person: str
    account: str
    items: tuple[str, ...]
    purpose: str
    obtained_by: str
    consent_id: str

    @property
    def consent_obtained(self) -> bool:
        """Whether the provision rested on the person's consent (本人の同意を得ている旨)."""
        return self.obtained_by == BY_CONSENT and bool(self.consent_id)

    def to_json(self) -> dict[str, Any]:
        """A JSON view, with the date also as ISO 8601 UTC."""
        return {
            "id": self.id, "received_at": self.received_at,
            "received_on": _iso(self.received_at), "provider": self.provider,
            "provider_name": self.provider_name, "provider_address": self.provider_address,
            "provider_representative": self.provider_representative,
            "acquisition": self.acquisition, "person": self.person, "account": self.account,
            "items": list(self.items), "purpose": self.purpose, "obtained_by": self.obtained_by,
            "consent_obtained": self.consent_obtained, "consent_id": self.consent_id,
        }


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_receipt(store: IssuerStorage, consent: StoredConsent, *, provider: ProviderProfile,
                   items: Sequence[str], purpose: str, now: int | None = None) -> RecipientRecord:
    """Write the record of receiving ``items`` from the consent's data holder, under that consent.

    ``provider`` is copied into the record, so a later change of the holder's address or
    representative does not rewrite what was confirmed at this receipt.
    """
    credential = consent.credential
    row = {
        "received_at": clock.now(now), "provider": credential.audience,
        "provider_name": provider.display_name("ja"), "provider_address": provider.address,
        "provider_representative": provider.representative, "acquisition": provider.acquisition,
        "person": consent.user, "account": consent.account, "items": json.dumps(list(items)),
        "purpose": purpose, "obtained_by": BY_CONSENT, "consent_id": consent.id,
    }
    record_id = store.add_record(row)
    return _record({**row, "id": record_id})


def list_records(store: IssuerStorage, account: str | None = None) -> list[RecipientRecord]:
    """All recipient records (or one account's), oldest first."""
    return [_record(r) for r in store.records(account)]


def export_csv(rows: Iterable[RecipientRecord]) -> str:
    """The records as CSV text with a bilingual header row (prefix ``\\ufeff`` when saving).

    A field a record does not have (made before the field existed) reads "not recorded"
    rather than an empty cell, so an auditor can tell a gap from a blank.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([title for _, title in CSV_COLUMNS])
    for record in rows:
        values = record.to_json()
        values["received_at"] = values["received_on"]
        values["items"] = " ".join(record.items)
        values["obtained_by"] = ("本人の同意を得ている consent obtained" if record.consent_obtained
                                 else record.obtained_by)
        writer.writerow([values[key] if values[key] != "" else NOT_RECORDED for key, _ in CSV_COLUMNS])
    return out.getvalue()


def _record(row: dict[str, Any]) -> RecipientRecord:
    return RecipientRecord(
        id=int(row["id"]), received_at=row["received_at"], provider=row["provider"],
        provider_name=row["provider_name"], provider_address=row.get("provider_address") or "",
        provider_representative=row.get("provider_representative") or "",
        acquisition=row.get("acquisition") or "", person=row["person"], account=row["account"],
        items=tuple(json.loads(row["items"])), purpose=row["purpose"],
        obtained_by=row["obtained_by"], consent_id=row["consent_id"],
    )
