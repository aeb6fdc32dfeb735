"""Running a service and its child processes: one way to serve, wait, and stop.

:func:`run_server` runs an ASGI app under uvicorn in the foreground and can say where it listens
(the real port, also for ``--port 0``) and tidy up before shutdown.  :func:`serve_workers` runs
several worker processes sharing one port, each building its app from the configuration its
parent hands down (:func:`worker_config`).  :class:`Child` is a service
started as a child process with its own log file: wait until its ``/health`` answers, stop it
politely, then firmly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Child", "run_server", "serve_workers", "worker_config"]


def run_server(app: Any, *, host: str, port: int, log_level: str = "warning", access_log: bool = True,
          graceful: int | None = 3, on_listen: Callable[[int], None] | None = None,
          on_shutdown: Callable[[], None] | None = None) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT/SIGTERM.

    ``on_listen(port)`` runs once the socket listens (with the port actually bound);
    ``on_shutdown()`` runs when shutdown begins (uvicorn re-raises the signal after it).
    """
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit and on_listen is not None:
                bound = [s.getsockname()[1] for server in self.servers for s in server.sockets]
                on_listen(bound[0] if bound else port)

        async def shutdown(self, sockets: Any = None) -> None:
            if on_shutdown is not None:
                on_shutdown()
            await super().shutdown(sockets=sockets)

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=access_log,
                            timeout_graceful_shutdown=graceful)
    Server(config).run()


def serve_workers(factory: str, config: Mapping[str, Any], *, env: str, workers: int, host: str, port: int,
                  log_level: str = "warning", graceful: int | None = 3) -> None:
    """Serve ``workers`` processes sharing ``host:port``, until SIGINT/SIGTERM.

    Each worker imports ``factory`` (``"package.module:function"``) and calls it to build its app;
    the function reads ``config`` (JSON-able) back with :func:`worker_config` and ``env``, the
    environment variable that carries it to the workers.
    """
    import uvicorn

    os.environ[env] = json.dumps(dict(config))
    uvicorn.run(factory, factory=True, workers=workers, host=host, port=port, log_level=log_level,
                timeout_graceful_shutdown=graceful)


def worker_config(env: str) -> dict[str, Any]:
    """The configuration :func:`serve_workers` handed a worker process in ``env``."""
    config = json.loads(os.environ[env])
    if not isinstance(config, dict):
        raise ValueError(f"{env} does not hold a worker configuration")
    return config


@dataclass
class Child:
    """One service running as a child process, answering at ``url``, logging to ``log``."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    args: list[str] = field(default_factory=list)

    @classmethod
    def spawn(cls, name: str, argv: Sequence[str], url: str, log: Path) -> Child:
        """Start ``python -m <argv...>`` in its own session (a Ctrl-C reaches only the parent)."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", *argv], stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return cls(name, url, proc, log, list(argv))

    def wait_up(self, timeout: float = 30.0) -> None:
        """Poll ``/health`` until it answers 200; a child that exits is an error with its log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise RuntimeError(f"the {self.name} exited with status {self.proc.returncode}:\n{tail}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the {self.name} did not come up at {self.url} within {timeout:.0f}s")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
