"""Real servers for tests: a throwaway PostgreSQL database, and `clipforge serve` in a
subprocess (so a test can kill -9 it, as a crash would)."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import CACHE, cli_env, clipforge_cmd
from tests.procs import kill_group, run_in_group, spawn, stop_group

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
# Where tests keep the recordings they submit by path (the generated-media cache and pytest's
# temp folders); a test about the media roots sets its own.
MEDIA_ROOTS = os.pathsep.join([str(CACHE), tempfile.gettempdir()])


def _pg_connect(url: str = PG_ADMIN):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=3)


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (dropped afterwards); skips when the server is absent
    locally, fails under CI=true."""
    try:
        admin = _pg_connect()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required in CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"clipforge_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with _pg_connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`clipforge serve` on a free port with its own data dir and database."""

    def __init__(self, data_dir: Path, database_url: str, pool: bool = True,
                 **settings: str) -> None:
        self.data_dir, self.database_url, self.pool = data_dir, database_url, pool
        self.env = cli_env(data_dir)
        self.env["CLIPFORGE_DATABASE_URL"] = database_url
        self.env["CLIPFORGE_MEDIA_ROOTS"] = MEDIA_ROOTS
        self.env.update({f"CLIPFORGE_{k.upper()}": v for k, v in settings.items()})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "serve.log"
        self.command = ["serve"]  # or ["up", "--worker-ports", PORT]: the distributed shape

    def cli(self, *args: str) -> str:
        proc = run_in_group(clipforge_cmd(*args), timeout=120, env=self.env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def start(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [*self.command, "--port", str(self.port)]
        if not self.pool:
            args.append("--no-workers")
        with self.log.open("ab") as log:
            self.proc = spawn(clipforge_cmd(*args), env=self.env, stdout=log,
                              stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        """kill -9: no shutdown, no cleanup, as a power cut would leave it."""
        assert self.proc is not None
        kill_group(self.proc)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60,
                            headers={"Authorization": f"Bearer {token}"})
