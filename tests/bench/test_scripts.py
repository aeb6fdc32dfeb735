"""Every benchmark script still runs: each in its ``--quick`` mode, as a real process.

The figures of a quick run mean nothing; what is checked is that the script finishes, prints
its table and writes its JSON result, so the benchmarks never rot while the code moves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: scale.py also starts a PostgreSQL cluster and multi-worker services (about 4 minutes on a busy 2-core machine)
SCRIPTS = ["peers", "gate", "revocation", pytest.param("scale", marks=pytest.mark.timeout(900)), "memory", "receipts",
           "relationships", "nonce", "wire", "verifier", "wallet", "registry"]
_LIMIT = {"scale": 840}


def _python(name: str) -> str:
    """The interpreter a script runs under: ``peers`` needs pycose and joserfc, which pin cbor2 < 6,
    so it runs in the peers environment that ``bash .ci/run`` makes ($COPYME_PEERS_PYTHON)."""
    if name != "peers":
        return sys.executable
    python = os.environ.get("COPYME_PEERS_PYTHON")
    if python:
        return python
    if os.environ.get("CI"):
        pytest.fail("COPYME_PEERS_PYTHON is not set: bash .ci/run makes the peers environment")
    pytest.skip("bench/peers.py runs in the peers environment: set COPYME_PEERS_PYTHON (bash .ci/run does)")


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_bench_script_runs(name: str) -> None:
    result_file = ROOT / "bench" / "results" / f"{name}-quick.json"
    before = result_file.stat().st_mtime if result_file.exists() else 0.0
    out = subprocess.run([_python(name), str(ROOT / "bench" / f"{name}.py"), "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=_LIMIT.get(name, 180))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "wrote bench/results/" in out.stdout
    assert result_file.stat().st_mtime > before
    data = json.loads(result_file.read_text())
    assert data["bench"] == f"{name}-quick" and data["machine"]["cpus"]


def test_every_bench_script_is_in_the_smoke_test() -> None:
    names = {p.stem for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_")}
    listed = {s if isinstance(s, str) else s.values[0] for s in SCRIPTS}
    assert names == listed


def test_wire_instruction_mode_says_when_valgrind_is_missing(tmp_path: Path) -> None:
    """Without valgrind on the PATH, ``--instructions`` says so and succeeds (CI does not install it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {**os.environ, "PATH": str(bin_dir)}
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "wire.py"), "--instructions"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "valgrind is not installed" in out.stdout


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["stages", "pulling"])
def test_gate_modes_run(mode: str) -> None:
    """``gate.py --stages`` serves releases cut short after each stage, ``--pulling`` serves them while the
    users' wallets pull their receipts; every request answers 200."""
    result_file = ROOT / "bench" / "results" / f"gate-{mode}-quick.json"
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "gate.py"), f"--{mode}", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"wrote bench/results/gate-{mode}-quick.json" in out.stdout
    data = json.loads(result_file.read_text())
    if mode == "stages":
        assert [row["stage"] for row in data["rows"]] == ["lane", "decode", "decide", "rows", "release"]
        assert all(row["data_requests"] > 0 and row["data_cpu_us"] > 0 for row in data["rows"])
    else:  # the wallets got receipts signed while the load ran
        assert [row["case"] for row in data["rows"]] == ["alone", "wallets pulling"]
        assert data["rows"][1]["receipts_signed"] > 0 and all(row["data_rps"] > 0 for row in data["rows"])
