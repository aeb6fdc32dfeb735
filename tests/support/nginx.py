"""Real nginx for tests: the repository's deploy/nginx.conf, pointed at test ports, in a temp prefix.

The config is used as shipped except for the addresses (its listen port and upstream servers
are replaced by the test's loopback ports).  When the tests run as root, nginx's worker
processes run as ``nobody``, so the prefix folder is handed to that user.  If nginx cannot
start, :func:`run` raises: the caching tests fail, never skip.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.servers import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render(listen: int, upstreams: list[int]) -> str:
    """deploy/nginx.conf with ``listen`` and the upstream servers replaced."""
    text = CONF.read_text(encoding="utf-8")
    text = re.sub(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{listen};", text)
    servers = "".join(f"        server 127.0.0.1:{port};\n" for port in upstreams)
    text = re.sub(r"(upstream copyme_registry \{\n)(?:\s*server [^\n]+\n)+", lambda m: m.group(1) + servers, text)
    return text


@contextlib.contextmanager
def run(upstreams: list[int]) -> Iterator[str]:
    """Run nginx with the repo's config in front of ``upstreams``; yields its base URL."""
    prefix = Path(tempfile.mkdtemp(prefix="copyme-nginx-"))
    for sub in ("logs", "run", "cache", "tmp"):
        (prefix / sub).mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render(port, upstreams), encoding="utf-8")
    if os.geteuid() == 0:
        for path in (prefix, *prefix.rglob("*")):
            shutil.chown(path, "nobody", "nogroup")
    proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/health", proc=proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(prefix, ignore_errors=True)
