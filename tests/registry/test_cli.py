"""`copyme registry ...` as real processes: serve, trust add/remove/show, --help, killed mid-write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from common import RegistryClient
from protocol import StatusListToken, TrustList
from registry import Registry, cli
from tests.support.samples import KEYS
from tests.support.servers import serve_cli

from .conftest import LIST_ID, make_token


def copyme(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``copyme registry <args>`` as a real process."""
    return subprocess.run([sys.executable, "-m", "copyme", "registry", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COPYME_HOME": str(home / "copyme-home")})


def in_process(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The same command run in this process (fast), with the same outputs and exit status."""
    result = CliRunner().invoke(cli.app, list(args), env={"COPYME_HOME": str(home / "copyme-home")})
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def test_help_explains_every_command(tmp_path: Path) -> None:
    out = copyme("--help", home=tmp_path).stdout
    assert "serve" in out and "trust" in out
    serve_help = in_process("serve", "--help", home=tmp_path).stdout
    for option in ("--host", "--port", "--db", "--home", "--heartbeat"):
        assert option in serve_help
    trust_help = in_process("trust", "--help", home=tmp_path).stdout
    assert all(word in trust_help for word in ("add", "remove", "show"))
    assert "--role" in in_process("trust", "add", "--help", home=tmp_path).stdout


def test_trust_commands(tmp_path: Path) -> None:
    home = tmp_path / "reg"
    added = copyme("trust", "add", KEYS.holder.did, "--ja", "さくら銀行", "--en", "Sakura Bank",
                   "--role", "data_holder", "--home", str(home), "--json", home=tmp_path)
    assert added.returncode == 0, added.stderr
    body = json.loads(added.stdout)
    assert body["organisations"] == [{"did": KEYS.holder.did, "name": {"ja": "さくら銀行", "en": "Sakura Bank"},
                                      "role": "data_holder"}]
    in_process("trust", "add", KEYS.requester.did, "--ja", "かけいぼ", "--en", "Kakeibo", "--role", "data_user",
               "--home", str(home), home=tmp_path)
    shown = in_process("trust", "show", "--home", str(home), home=tmp_path)
    assert "Sakura Bank" in shown.stdout and "Kakeibo" in shown.stdout and body["council"] in shown.stdout
    removed = in_process("trust", "remove", KEYS.holder.did, "--home", str(home), "--json", home=tmp_path)
    assert [o["did"] for o in json.loads(removed.stdout)["organisations"]] == [KEYS.requester.did]
    signed = Registry.open(home).trust_list()
    assert signed.issuer == body["council"] and [o.did for o in signed.organisations] == [KEYS.requester.did]


@pytest.mark.parametrize(("args", "code", "status"), [
    (["trust", "remove", "did:key:z6MkhTGz8CbEpZDzEdVYQDmWZWfQyK7F3sdecafs7YdXhqcw"], "not_found", 4),
    (["trust", "add", "not-a-did", "--ja", "x", "--en", "x", "--role", "data_user"], "invalid", 2),
    (["trust", "add", KEYS.holder.did, "--ja", "x", "--en", "x", "--role", "overlord"], "invalid", 2),
    (["trust", "add", KEYS.holder.did, "--ja", "", "--en", "x", "--role", "data_user"], "invalid", 2),
])
def test_trust_errors_are_one_line(tmp_path: Path, args: list[str], code: str, status: int) -> None:
    result = (copyme if code == "not_found" else in_process)(*args, "--home", str(tmp_path / "reg"), home=tmp_path)
    assert result.returncode == status
    assert result.stderr.startswith(f"error: {code}: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    as_json = in_process(*args, "--home", str(tmp_path / "reg"), "--json", home=tmp_path)
    assert json.loads(as_json.stderr)["error"] == code


def test_serve_with_db_and_trust_list_changes_live(tmp_path: Path) -> None:
    db = tmp_path / "data" / "lists.db"
    with serve_cli(["registry", "serve", "--db", str(db), "--log-level", "warning"]) as (url, _proc):
        client = RegistryClient(url)
        token = make_token(url, iat=int(time.time()))
        assert client.publish(LIST_ID, token)["seq"] == 1
        assert TrustList.decode(client.trust_list()).organisations == ()
        result = copyme("trust", "add", KEYS.holder.did, "--ja", "銀行", "--en", "Bank", "--role", "both",
                        "--db", str(db), home=tmp_path)
        assert result.returncode == 0, result.stderr
        signed = TrustList.decode(client.trust_list())  # re-signed by the CLI, served at once
        assert [o.did for o in signed.organisations] == [KEYS.holder.did]
        fetched = client.fetch(LIST_ID)
        assert fetched is not None and fetched.token == token
    assert db.exists() and (db.parent / "council.key").exists()


def test_killed_mid_write_loses_nothing_accepted(tmp_path: Path) -> None:
    home = tmp_path / "reg"
    base = int(time.time()) - 5000
    accepted: list[int] = []
    stop = threading.Event()
    with serve_cli(["registry", "serve", "--home", str(home), "--log-level", "warning"]) as (url, proc):
        client = RegistryClient(url, timeout=2.0)

        def writer() -> None:
            iat = base
            while not stop.is_set():
                iat += 1
                try:
                    client.publish(LIST_ID, make_token(url, iat=iat))
                except Exception:
                    return
                accepted.append(iat)

        thread = threading.Thread(target=writer)
        thread.start()
        while len(accepted) < 20:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        thread.join(timeout=10)
    stored = Registry.open(home).get(LIST_ID)
    assert stored.iat >= accepted[-1]  # every acknowledged write survived the kill
    assert StatusListToken.decode(stored.token).issued_at == stored.iat
