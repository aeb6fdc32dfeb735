"""`copyme demo --script` as a user runs it: a real process, real services, exit status 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def test_demo_script_runs_the_journey_and_every_outcome_is_expected(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "copyme", "demo", "--script", "--home", str(tmp_path / "home")],
                            capture_output=True, text=True, timeout=180)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "All 17 steps went as expected." in out
    assert "the two companies hold different DIDs and status lists for you" in out
    assert "NOT as expected" not in out and "Traceback" not in out + result.stderr
    for expected in ("the bank refused: suspended", "you asked it to stop using this data (conflict)",
                     "cannot resume a consent that is revoked", "the bank released: balance, transactions",
                     "Kakeibo acknowledged it (signed), due by", "Kakeibo erased: balance, transactions (4 records)",
                     "the copied bank data is gone from Kakeibo's store",
                     "your wallet fetched the signed completion: done, erased balance, transactions",
                     "chain checked up to #5", "#3 Kakeibo: transactions, balance — refused (suspended)",
                     "#2 Hoken Insurance: name, birthdate — released",
                     "New purposes: Personalising the service", "Kept for: 365 → 730 days",
                     "The same terms as now.", "one step: the new consent is active and the one it replaces is revoked"):
        assert expected in out
    # the services were stopped: nothing of the demo is left listening
    assert (tmp_path / "home" / "logs" / "registry.log").exists()
    _assert_no_secret_in_logs(tmp_path / "home")


def _assert_no_secret_in_logs(home: Path, *more: str) -> None:
    """No API token, login key or passphrase in any service's log of a demo home."""
    from copyme.demo import PASSPHRASE

    token = (home / "wallet" / "api.token").read_text().strip()
    logs = list((home / "logs").glob("*.log"))
    assert logs
    for log in logs:
        text = log.read_text(errors="replace")
        for secret in (token, PASSPHRASE, *more):
            assert secret not in text, f"a secret is in {log.name}"
        assert "key=" not in text


def test_demo_rejects_an_unknown_language(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-m", "copyme", "demo", "--script", "--lang", "fr"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "error: invalid" in result.stdout


def test_demo_prints_what_to_click_and_stops_everything_on_ctrl_c(tmp_path) -> None:
    import re
    import signal
    import time

    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "copyme", "demo", "--home", str(tmp_path / "home")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "Press Ctrl-C" in out, out
        urls = re.findall(r"http://(?:127\.0\.0\.1|localhost):\d+", out)
        login = re.search(r"(http://localhost:\d+)/login\?key=([A-Za-z0-9_-]+)", out)
        assert len(set(urls)) >= 4 and login, out
        token = (tmp_path / "home" / "wallet" / "api.token").read_text().strip()
        assert token not in out and login.group(2) != token
        assert "copyme wallet login-link --home" in out
        with httpx.Client(base_url=login.group(1)) as browser:
            assert browser.get(login.group(0)).status_code == 303 and browser.get("/").status_code == 200
            assert browser.get(login.group(0)).status_code == 403  # once only
        for url in set(urls):
            assert httpx.get(url + "/health", timeout=5).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for url in set(urls):
        with pytest.raises(httpx.TransportError):
            httpx.get(url + "/health", timeout=2)
    _assert_no_secret_in_logs(tmp_path / "home", login.group(2))


def test_an_interrupted_script_exits_non_zero(tmp_path: Path) -> None:
    """Ctrl-C during ``copyme demo --script``: services stopped, and exit 130, never 0."""
    proc = subprocess.Popen([sys.executable, "-m", "copyme", "demo", "--script", "--home", str(tmp_path / "home")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        seen = ""
        while time.monotonic() < deadline and "services up" not in seen:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
        assert "services up" in seen, seen
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 130, seen + rest
        assert "interrupted" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
