"""Run real services for tests: uvicorn on 127.0.0.1 free ports, in a thread or a subprocess."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, timeout: float = 20.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Poll ``url`` until it answers at all (any status), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"service exited with {proc.returncode}: {out}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not come up within {timeout}s")


class ThreadServer:
    """A uvicorn server for an ASGI app in a background thread (real sockets, real HTTP)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` on a free loopback port for the duration of the block; yields its base URL."""
    server = ThreadServer(app, port).start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def serve_cli(args: list[str], health_path: str = "/health", env: dict[str, str] | None = None,
              port: int | None = None, timeout: float = 20.0) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run ``copyme <args> --host 127.0.0.1 --port N`` as a real process; yields (URL, process)."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "copyme", *args, "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + health_path, timeout=timeout, proc=proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class SlowServer:
    """A loopback server that answers every connection with headers, then one byte every ``gap`` s.

    The drip never trips a per-read timeout; only an overall deadline stops a client.  Bounded:
    each connection drips at most ``rounds`` bytes.  ``connections`` counts the accepted ones.
    """

    def __init__(self, gap: float, head: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
                 rounds: int = 60) -> None:
        self.gap, self.head, self.rounds = gap, head, rounds
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(self.head)
                for _ in range(self.rounds):
                    if self._stop.wait(self.gap):
                        return
                    conn.sendall(b"x")
            except OSError:
                return

    def wait_for(self, connections: int, timeout: float = 10.0) -> None:
        """Until at least ``connections`` have been accepted."""
        deadline = time.monotonic() + timeout
        while self.connections < connections:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.connections} of {connections} connections arrived")
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()

    def __enter__(self) -> SlowServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
