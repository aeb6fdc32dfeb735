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
SCRIPTS = ["peers", "gate", "revocation", pytest.param("scale", marks=pytest.mark.timeout(900)), "memory",
           "relationships", "nonce"]
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
