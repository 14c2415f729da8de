"""Ctrl-C stops `clipforge serve`, `worker` and `up` even when they were started with
SIGINT ignored, as every child of a shell's background job is (`cmd &`): Python keeps an
inherited ignore, so without handlers of their own Ctrl-C would do nothing. Each exits 0,
and nothing it started is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster import redis_server
from tests.conftest import cli_env, clipforge_cmd
from tests.procs import kill_group, spawn
from tests.servers import free_port, pg_database


def _as_a_background_job() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return spawn(clipforge_cmd(*args), env=env, stdout=out, stderr=subprocess.STDOUT,
                     preexec_fn=_as_a_background_job)


def wait_healthy(proc: subprocess.Popen[bytes], urls: list[str], log: Path) -> None:
    deadline = time.monotonic() + 180
    for url in urls:
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{url} never answered:\n{log.read_text()}"
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)


def ctrl_c(proc: subprocess.Popen[bytes], log: Path) -> None:
    """SIGINT to the command alone; it must stop itself and what it started."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=90)  # a hang guard, not a timing claim
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 90 s after Ctrl-C:\n{log.read_text()}")
    assert proc.returncode == 0, log.read_text()
    with pytest.raises(ProcessLookupError):  # its group is empty: no child outlives it
        os.killpg(proc.pid, 0)
    assert "Traceback" not in log.read_text()


@pytest.fixture
def distributed(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Settings for distributed mode: a throwaway PostgreSQL database, our own Redis, a
    shared folder as the store."""
    with pg_database() as database, redis_server(tmp_path / "redis") as redis:
        env = cli_env(tmp_path / "data")
        env.update(CLIPFORGE_DATABASE_URL=database, CLIPFORGE_REDIS_URL=redis.url,
                   CLIPFORGE_STORAGE_URL=str(tmp_path / "store"),
                   CLIPFORGE_WORKER_GRACE_SECONDS="3")
        yield env


def test_serve_stops_on_ctrl_c_with_sigint_ignored(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    proc = start(["serve", "--port", str(port)], cli_env(tmp_path / "data"), log)
    try:
        wait_healthy(proc, [f"http://127.0.0.1:{port}/api/health"], log)
        ctrl_c(proc, log)
    finally:
        kill_group(proc)


def test_worker_stops_on_ctrl_c_with_sigint_ignored(distributed: dict[str, str],
                                                   tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "worker.log"
    subprocess.run(clipforge_cmd("db", "upgrade"), env=distributed, check=True, timeout=120,
                   capture_output=True)
    proc = start(["worker", "--stage", "scoring", "--port", str(port)], distributed, log)
    try:
        wait_healthy(proc, [f"http://127.0.0.1:{port}/health"], log)
        ctrl_c(proc, log)
    finally:
        kill_group(proc)


def test_up_stops_its_cluster_on_ctrl_c_with_sigint_ignored(distributed: dict[str, str],
                                                            tmp_path: Path) -> None:
    from clipforge.execution.broker import kinds

    port, base, log = free_port(), free_port(), tmp_path / "up.log"
    proc = start(["up", "--port", str(port), "--worker-ports", str(base)], distributed, log)
    try:
        wait_healthy(proc, [f"http://127.0.0.1:{port}/api/health"] + [
            f"http://127.0.0.1:{base + n}/health" for n in range(len(kinds()))], log)
        ctrl_c(proc, log)
    finally:
        kill_group(proc)
