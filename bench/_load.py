"""A small HTTP/1.1 load generator, run as its own process so it does not share the server's GIL.

    python bench/_load.py URL --clients 8 --seconds 3 [--bodies FILE] [--method POST]

Each client is one keep-alive connection sending requests back to back (closed loop).  With
``--bodies`` every request carries the next body from FILE (4-byte big-endian length + bytes,
repeated); each body is used once, because the data gate refuses a replayed presentation.
Raw asyncio streams rather than an HTTP library: a general client costs more CPU per request
than the server under test, and on two cores it would measure itself.  Prints one JSON object:
requests, seconds, statuses, and every latency in seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


def read_bodies(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        out.append(data[pos + 4:pos + 4 + size])
        pos += 4 + size
    return out


def write_bodies(path: Path, bodies: list[bytes]) -> None:
    path.write_bytes(b"".join(len(b).to_bytes(4, "big") + b for b in bodies))


async def _client(host: str, port: int, head: bytes, bodies: list[bytes] | None, state: dict, deadline: float,
                  latencies: list[float], statuses: dict[int, int], paths: list[bytes] | None = None) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            now = time.perf_counter()
            if now >= deadline:
                return
            if bodies is not None:
                i = state["next"]
                if i >= len(bodies):
                    state["exhausted"] = True
                    return
                state["next"] = i + 1
                body = bodies[i]
                writer.write(head + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            elif paths is not None:
                i = state["next"]
                state["next"] = i + 1
                writer.write(b"GET " + paths[i % len(paths)] + head + b"\r\n")
            else:
                writer.write(head + b"\r\n")
            start = time.perf_counter()
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = 0
            for line in header.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run(url: str, clients: int, seconds: float, bodies: list[bytes] | None, method: str,
              content_type: str, paths: list[bytes] | None = None) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if paths is not None:  # GET <one path after another>; the request line is completed per request
        head = f" HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
    else:
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
    if bodies is not None:
        head += f"Content-Type: {content_type}\r\n".encode()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    state = {"next": 0, "exhausted": False}
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(_client(host, port, head, bodies, state, deadline, latencies, statuses, paths)
                           for _ in range(clients)))
    elapsed = time.perf_counter() - start
    return {"requests": len(latencies), "seconds": elapsed, "statuses": {str(k): v for k, v in statuses.items()},
            "exhausted": state["exhausted"], "latencies": latencies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--bodies", type=Path)
    parser.add_argument("--paths", type=Path, help="GET these paths (one a line) in turn instead of URL's path")
    parser.add_argument("--method", default=None)
    parser.add_argument("--content-type", default="application/vnd.copyme.presentation+cwt")
    args = parser.parse_args()
    bodies = read_bodies(args.bodies) if args.bodies else None
    method = args.method or ("POST" if bodies is not None else "GET")
    paths = [line.encode() for line in args.paths.read_text().split()] if args.paths else None
    result = asyncio.run(run(args.url, args.clients, args.seconds, bodies, method, args.content_type, paths))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
