"""Run a verifier or registry app with options the CLI does not expose, optionally sampling its stacks.

    python bench/_serve.py verifier --home DIR --registry URL [--no-feed] [--max-staleness N]
                                    [--synchronous normal|full] [--profile FILE] [--stage STAGE]
                                    --host 127.0.0.1 --port N
    python bench/_serve.py registry --home DIR [--profile FILE] --host 127.0.0.1 --port N

``--no-feed`` starts the verifier without its change-feed subscription (poll-only: a list is
re-fetched only when its ttl / max staleness runs out).  ``--profile`` samples every thread's
Python stack every millisecond (uvicorn's event loop *and* the thread pool that runs the
verification, which a single-thread profiler would miss) and writes the busiest frames to FILE
when the server stops.  ``--stage`` cuts every release short after that stage
(``bench/_stages.py``), to decompose what a release costs.
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Leaf frames that mean "this thread is waiting", not working.
_IDLE = {"wait", "select", "_worker", "get", "poll", "run_forever", "_run_once", "sleep", "acquire",
         "readline", "recv_into", "read", "_read_status", "_sampler", "accept"}


class Sampler:
    """A wall-clock stack sampler over all threads (a poor man's py-spy: no extra install, no ptrace)."""

    def __init__(self, interval: float = 0.001, out: Path | None = None) -> None:
        self.interval = interval
        self.out = out
        self.self_counts: collections.Counter[str] = collections.Counter()
        self.total_counts: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sampler, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _sampler(self) -> None:
        me = threading.get_ident()
        last_write = time.monotonic()
        while not self._stop.wait(self.interval):
            if self.out is not None and time.monotonic() - last_write > 1.0:
                self.out.write_text(self.report(stop=False))  # the process may be killed, not stopped
                last_write = time.monotonic()
            for ident, frame in sys._current_frames().items():
                if ident == me or frame.f_code.co_name in _IDLE:
                    continue
                self.samples += 1
                seen = set()
                leaf = True
                while frame is not None:
                    code = frame.f_code
                    name = f"{code.co_name}  {_short(code.co_filename)}:{code.co_firstlineno}"
                    if leaf:
                        self.self_counts[name] += 1
                        leaf = False
                    if name not in seen:
                        self.total_counts[name] += 1
                        seen.add(name)
                    frame = frame.f_back

    def report(self, top: int = 45, stop: bool = True) -> str:
        if stop:
            self._stop.set()
        n = max(1, self.samples)
        lines = [f"{self.samples} busy samples (1 ms wall-clock, all threads)", "", "inclusive:"]
        lines += [f"{100 * c / n:6.1f}%  {name}" for name, c in self.total_counts.most_common(top)]
        lines += ["", "self:"]
        lines += [f"{100 * c / n:6.1f}%  {name}" for name, c in self.self_counts.most_common(top)]
        return "\n".join(lines) + "\n"


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["verifier", "registry"])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--registry", default=None)
    parser.add_argument("--no-feed", action="store_true")
    parser.add_argument("--max-staleness", type=int, default=None)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--synchronous", choices=["normal", "full"], default="normal")
    parser.add_argument("--stage", default=None, help="cut releases short after this stage (bench/_stages.py)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    import uvicorn

    if args.kind == "verifier":
        from verifier.app import create_app
        from verifier.sources import demo_source

        app = create_app(home=args.home, registry_url=args.registry, max_staleness=args.max_staleness,
                         follow_feed=not args.no_feed, synchronous=args.synchronous, source=demo_source())
        if args.stage is not None:
            from _stages import cut_short

            cut_short(app.state.holder, args.stage)
    else:
        from registry.app import create_app as registry_app

        app = registry_app(args.home)
    sampler = Sampler(out=args.profile) if args.profile else None
    if sampler:
        sampler.start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        if sampler and args.profile:
            args.profile.write_text(sampler.report())


if __name__ == "__main__":
    main()
