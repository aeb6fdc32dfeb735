"""`copyme verifier ...` as real processes: serve, link-code, records, customers, did."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from protocol import LinkProof
from tests.support import samples
from tests.support.servers import serve_cli


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "copyme", "verifier", *args], capture_output=True, text=True,
                          timeout=60)


def test_serve_link_and_records(tmp_path: Path) -> None:
    home = str(tmp_path / "bank")
    did = _run("did", "--home", home).stdout.strip()
    assert did.startswith("did:key:z")
    code = _run("link-code", "C-1001", "--home", home).stdout.strip()
    with serve_cli(["verifier", "serve", "--home", home, "--registry", "http://127.0.0.1:9", "--demo"]) as (url, _):
        assert httpx.get(url + "/v1/holder").json()["did"] == did
        user = samples.KEYS.user
        import time

        proof = LinkProof(user=user.did, holder=did, code=code, issued_at=int(time.time())).sign(user)
        assert httpx.post(url + "/v1/links", content=proof).json() == {"linked": True, "did": user.did}
        # the registry is unreachable: a refusal (recorded), never a 5xx traceback or data
        refused = httpx.post(url + "/v1/data", content=b"junk")
        assert refused.status_code == 400 and refused.json()["error"] == "malformed"
        docs = httpx.get(url + "/openapi.json").json()
        assert {"/v1/data", "/v1/verify", "/v1/links", "/v1/nonce", "/v1/holder", "/health"} <= set(docs["paths"])
    chain = _run("records", "--home", home, "--verify-chain")
    assert chain.returncode == 0 and "chain ok: 1 records" in chain.stdout
    csv = _run("records", "--home", home, "--csv").stdout.splitlines()
    assert csv[0].startswith("seq,date,kind") and ",refusal," in csv[1] and ",malformed," in csv[1]


def test_serve_without_a_data_source_refuses_to_start(tmp_path: Path) -> None:
    result = _run("serve", "--home", str(tmp_path), "--registry", "http://127.0.0.1:9")
    assert result.returncode == 2 and result.stderr.startswith("error: no_data_source: ")
    assert "--demo" in result.stderr and "Traceback" not in result.stderr
    both = _run("serve", "--home", str(tmp_path), "--registry", "http://127.0.0.1:9", "--demo", "--source", "a:b")
    assert both.returncode == 2 and "no_data_source" in both.stderr
    bad = _run("serve", "--home", str(tmp_path), "--registry", "http://127.0.0.1:9", "--source", "nope_xyz:f")
    assert bad.returncode != 0 and bad.stderr.startswith("error: invalid: ")


def test_errors_are_one_line(tmp_path: Path) -> None:
    result = _run("link-code", "C-0000", "--home", str(tmp_path), "--demo")
    assert result.returncode != 0 and result.stderr.strip() == "error: not_found: no customer 'C-0000'"
    assert "Traceback" not in result.stderr


def test_customers() -> None:
    out = _run("customers").stdout
    assert "C-1001" in out and "山田 花子" in out


def test_records_head_and_expect_head(tmp_path: Path) -> None:
    home = tmp_path / "bank"
    from verifier.holder import Holder

    holder = Holder.open(home)
    for n in range(3):
        holder.records.refusal("malformed", f"junk {n}", now=samples.NOW + n)
    holder.close()
    head = _run("records", "--home", str(home), "--head").stdout.strip()
    assert head.startswith("3:") and len(head) == 2 + 64
    chain = _run("records", "--home", str(home), "--verify-chain", "--json")
    assert json.loads(chain.stdout) == {"chain": "ok", "records": 3, "head": head}
    import sqlite3

    conn = sqlite3.connect(home / "verifier.db", isolation_level=None)
    conn.execute("DROP TRIGGER records_no_delete")
    conn.execute("DELETE FROM records WHERE seq = 3")
    conn.close()
    assert _run("records", "--home", str(home), "--verify-chain").returncode == 0  # a shorter chain still chains
    cut = _run("records", "--home", str(home), "--verify-chain", "--expect-head", head)
    assert cut.returncode != 0 and cut.stderr.startswith("error: records_tampered: ") and "cut off" in cut.stderr
    bad = _run("records", "--home", str(home), "--expect-head", "nonsense")
    assert bad.returncode != 0 and bad.stderr.startswith("error: invalid: ")
