"""Several instances of one issuer over one PostgreSQL database (``--db postgresql://…``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from issuer import ProviderProfile, build_request, list_records, open_store, publish, receive_consent, record_receipt
from tests.support.samples import KEYS
from tests.support.servers import free_port

from .conftest import GOOD_ARGS, grant

BANK = ProviderProfile(name={"ja": "さくら銀行", "en": "Sakura Bank"})


def test_what_one_instance_stores_every_instance_sees(pg_dsn: str) -> None:
    first, second = open_store(pg_dsn), open_store(pg_dsn)
    try:
        request = build_request(requester=KEYS.requester, **GOOD_ARGS)
        publish(first, request, account="alice", base_url="https://kakeibo.example")
        # the wallet's callback lands on the other instance
        consent = receive_consent(second, grant(request), requester=KEYS.requester.did)
        assert first.consent(consent.id).account == "alice"
        assert first.request(request.request_id.hex()).answered
        record_receipt(first, consent, provider=BANK, items=["transactions"], purpose="dpv:ServiceProvision")
        record_receipt(second, consent, provider=BANK, items=["balance"], purpose="dpv:ServiceProvision")
        ids = [r.id for r in list_records(first)]
        assert ids == sorted(ids) and len(ids) == 2 == len(list_records(second, "alice"))
    finally:
        first.close()
        second.close()


def test_a_dsn_that_does_not_answer_is_one_line_at_start(tmp_path: Path) -> None:
    dsn = f"postgresql://kakeibo:s3cret-pw@127.0.0.1:{free_port()}/issuer"
    result = subprocess.run(
        [sys.executable, "-m", "copyme", "issuer", "serve", "--holder", "http://127.0.0.1:9", "--holder-did",
         KEYS.holder.did, "--demo", "--db", dsn, "--home", str(tmp_path), "--port", str(free_port())],
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unavailable: cannot reach PostgreSQL at 127.0.0.1:")
    assert "s3cret-pw" not in result.stderr + result.stdout
