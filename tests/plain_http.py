"""`python3 -m http.server` in a process group of its own: a server without HTTP Range
support (it always sends the whole file), as many simple hosts are."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.procs import kill_group, spawn
from tests.servers import free_port


@contextmanager
def plain_http_server(folder: Path, log: Path) -> Iterator[str]:
    """Serve FOLDER; yields the base URL. Its request log goes to LOG."""
    port = free_port()
    with log.open("ab") as out:
        proc = spawn([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                      "--directory", str(folder)], stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.head(url + "/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "http.server did not start"
                time.sleep(0.1)
        yield url
    finally:
        kill_group(proc)
        proc.wait()


def gets(log: Path, name: str) -> int:
    """How many GET requests for /NAME the server logged."""
    return sum(f'"GET /{name} ' in line for line in log.read_text().splitlines())
