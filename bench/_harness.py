"""Shared helpers for the benchmarks: rates, latency percentiles, tables, JSON results, processes.

Every bench script imports its timing from here so that "p99" or "ops/s" means the same thing
in every table: rates are best-of-N interleaved runs (the machine is shared, and the best run
is the one least disturbed by others), percentiles are nearest-rank over all samples.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The same loopback helpers the tests use, so "is it up yet" means one thing everywhere.
from tests.support.servers import free_port  # noqa: E402
from tests.support.servers import wait_until_up as wait_http  # noqa: E402

# ---------------------------------------------------------------- rates and latencies


def rate(fn: Callable[[], Any], seconds: float, batch: int = 20,
         clock: Callable[[], float] = time.perf_counter) -> float:
    """Calls of ``fn`` per second of ``clock`` over about ``seconds`` of it.

    The default is wall time; a script comparing single-process cases on the shared machine
    passes ``time.process_time`` (CPU seconds), which other processes' load does not stretch.
    """
    n, start = 0, clock()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            fn()
        n += batch
        now = clock()
        if now >= deadline:
            return n / (now - start)


def best_rates(cases: dict[str, Callable[[], Any]], *, seconds: float, rounds: int,
               clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """The best rate of each case over ``rounds`` interleaved rounds (noise only ever slows a run),
    per second of ``clock`` (see :func:`rate`)."""
    best = {name: 0.0 for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            best[name] = max(best[name], rate(fn, seconds, clock=clock))
    return best


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile ``p`` (0-100) of ``values`` (need not be sorted)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_stats(seconds: Iterable[float]) -> dict[str, float]:
    """p50 / p90 / p99 / max / mean of latencies given in seconds, reported in milliseconds."""
    values = sorted(seconds)
    if not values:
        return {"n": 0}
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p90_ms": round(percentile(ms, 90), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(ms[-1], 2),
            "mean_ms": round(sum(ms) / len(ms), 2)}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def best_time(fn: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` calls, in seconds."""
    return min(timed(fn)[0] for _ in range(repeat))


# ---------------------------------------------------------------- output


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, title: str | None = None) -> str:
    """A plain-text table of ``rows`` (numbers right-aligned, thousands separated); also printed."""
    if not rows:
        return ""
    cols = list(columns or rows[0].keys())

    def cell(value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return "-" if value is None else str(value)
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    cells = [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(cols)]
    numeric = [all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in rows) for c in cols]
    out = []
    if title:
        out.append(title)
    out.append("  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cols, widths, numeric, strict=True)))
    out.append("  ".join("-" * w for w in widths))
    for line in cells:
        out.append("  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(line, widths, numeric, strict=True)))
    text = "\n".join(out)
    print(text + "\n", flush=True)
    return text


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "cpu": cpu, "load_1min_at_start": load, "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` with the machine description next to ``data``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"bench": name, "machine": machine(), **data}, indent=2, ensure_ascii=False))
    print(f"wrote {path.relative_to(ROOT)}")
    return path


# ---------------------------------------------------------------- processes


class Service:
    """A service as a real process on a loopback port (``copyme ... serve`` or ``bench/_serve.py``)."""

    def __init__(self, args: list[str], *, port: int | None = None, health: str = "/health",
                 env: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [sys.executable, *args, "--host", "127.0.0.1", "--port", str(self.port)]
        self.health = health
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.timeout = timeout

    @classmethod
    def cli(cls, *args: str, **kw: Any) -> Service:
        """``python -m copyme <args>``: the command a user runs."""
        return cls(["-m", "copyme", *args], **kw)

    def start(self) -> Service:
        self.proc = subprocess.Popen(self.args, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_http(self.url + self.health, timeout=self.timeout, proc=self.proc)
        except Exception:
            self.stop()
            raise
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) of the process in MiB, from /proc."""
        return rss_of(self.pid)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rss_of(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MiB: the resident set now and its peak."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["VmHWM"], 1)


def callgrind_instructions(args: list[str], out: Path, timeout: float = 1800) -> int:
    """Instructions (callgrind ``Ir``) of ``python args...`` run under valgrind (hash seed fixed)."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, *args],
                   env=env, check=True, capture_output=True, timeout=timeout)
    match = re.search(r"^summary:\s*(\d+)", out.read_text(), re.MULTILINE)
    if match is None:
        raise SystemExit(f"no callgrind summary in {out}")
    return int(match.group(1))
