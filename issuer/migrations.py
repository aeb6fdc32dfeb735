"""The issuer's schema steps, oldest first, for both backends (see :mod:`storage.migrations`).

Step 1 is the schema every issuer had before steps were recorded (``IF NOT EXISTS``, so such a
file or database adopts it); step 2 adds what the rights flows keep: the rights requests
received with our signed answers, the data copied from the holder under each consent (what an
erasure request erases), when a user declined a request, and which consent a re-consent
replaced.
"""

from __future__ import annotations

from storage import Migration

__all__ = ["MIGRATIONS"]

_SQLITE_1 = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY, account TEXT, cid TEXT, raw BLOB, issued_at INTEGER, expires_at INTEGER,
    answered INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_requests_cid ON requests (cid);
CREATE TABLE IF NOT EXISTS consents (
    id TEXT PRIMARY KEY, account TEXT, request_id TEXT, "user" TEXT, items TEXT, purposes TEXT,
    raw BLOB, received_at INTEGER, expires_at INTEGER, status_uri TEXT, status_index INTEGER,
    status_key TEXT, state TEXT, state_detail TEXT, state_checked_at INTEGER
);
CREATE INDEX IF NOT EXISTS idx_consents_account ON consents (account);
CREATE INDEX IF NOT EXISTS idx_consents_status_uri ON consents (status_uri);
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY, received_at INTEGER, provider TEXT, provider_name TEXT,
    provider_address TEXT NOT NULL DEFAULT '', provider_representative TEXT NOT NULL DEFAULT '',
    acquisition TEXT NOT NULL DEFAULT '', person TEXT, account TEXT, items TEXT, purpose TEXT,
    obtained_by TEXT, consent_id TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)
"""

_POSTGRES_1 = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY, account TEXT, cid TEXT, raw BYTEA, issued_at BIGINT, expires_at BIGINT,
    answered BIGINT
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_requests_cid ON requests (cid);
CREATE TABLE IF NOT EXISTS consents (
    id TEXT PRIMARY KEY, account TEXT, request_id TEXT, "user" TEXT, items TEXT, purposes TEXT,
    raw BYTEA, received_at BIGINT, expires_at BIGINT, status_uri TEXT, status_index BIGINT,
    status_key TEXT, state TEXT, state_detail TEXT, state_checked_at BIGINT,
    stored BIGSERIAL
);
CREATE INDEX IF NOT EXISTS idx_consents_account ON consents (account);
CREATE INDEX IF NOT EXISTS idx_consents_status_uri ON consents (status_uri);
CREATE TABLE IF NOT EXISTS records (
    id BIGSERIAL PRIMARY KEY, received_at BIGINT, provider TEXT, provider_name TEXT,
    provider_address TEXT, provider_representative TEXT, acquisition TEXT, person TEXT,
    account TEXT, items TEXT, purpose TEXT, obtained_by TEXT, consent_id TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)
"""

# A rights request is unique by its CID and by (user, cti): the second makes a replay with a
# fresh signature (a new CID) still a replay.
_SQLITE_2 = """
ALTER TABLE requests ADD COLUMN declined_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN replaces TEXT NOT NULL DEFAULT '';
CREATE TABLE rights (
    id TEXT PRIMARY KEY, consent_id TEXT NOT NULL, account TEXT NOT NULL, "user" TEXT NOT NULL,
    cti TEXT NOT NULL, kind TEXT NOT NULL, raw BLOB NOT NULL, received_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL, ack BLOB NOT NULL, done BLOB NOT NULL DEFAULT x'',
    done_at INTEGER NOT NULL DEFAULT 0, erased_items TEXT NOT NULL DEFAULT '[]',
    erased_records INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX rights_by_user_cti ON rights ("user", cti);
CREATE INDEX rights_by_consent ON rights (consent_id);
CREATE TABLE copied (
    id INTEGER PRIMARY KEY, consent_id TEXT NOT NULL, account TEXT NOT NULL, item TEXT NOT NULL,
    value TEXT NOT NULL, copied_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX copied_by_consent_item ON copied (consent_id, item)
"""

_POSTGRES_2 = """
ALTER TABLE requests ADD COLUMN declined_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN replaces TEXT NOT NULL DEFAULT '';
CREATE TABLE rights (
    id TEXT PRIMARY KEY, consent_id TEXT NOT NULL, account TEXT NOT NULL, "user" TEXT NOT NULL,
    cti TEXT NOT NULL, kind TEXT NOT NULL, raw BYTEA NOT NULL, received_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL, ack BYTEA NOT NULL, done BYTEA NOT NULL DEFAULT ''::bytea,
    done_at BIGINT NOT NULL DEFAULT 0, erased_items TEXT NOT NULL DEFAULT '[]',
    erased_records BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX rights_by_user_cti ON rights ("user", cti);
CREATE INDEX rights_by_consent ON rights (consent_id);
CREATE TABLE copied (
    id BIGSERIAL PRIMARY KEY, consent_id TEXT NOT NULL, account TEXT NOT NULL, item TEXT NOT NULL,
    value TEXT NOT NULL, copied_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX copied_by_consent_item ON copied (consent_id, item)
"""

#: Every schema step of the issuer, oldest first.
MIGRATIONS = (
    Migration("0001_requests_consents_records_meta", _SQLITE_1, _POSTGRES_1),
    Migration("0002_rights_copied_declines_replaces", _SQLITE_2, _POSTGRES_2),
)
