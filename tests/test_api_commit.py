"""A write the API answers is committed: the answer is sent after the request's session
has committed, never before (FastAPI's default ends a `yield` dependency, our session,
only after the response has gone out)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import event
from sqlalchemy.orm import Session

from clipforge.api.app import create_app
from clipforge.config import Settings
from tests.conftest import cli_env, clipforge_cmd
from tests.procs import run_in_group
from tests.servers import free_port

COMMIT_DELAY = 1.0  # s each commit takes here: an answer sent before it ends is seen


@pytest.fixture
def slow_commits() -> Iterator[None]:
    def slow(_session: Session) -> None:
        time.sleep(COMMIT_DELAY)

    event.listen(Session, "before_commit", slow)
    yield
    event.remove(Session, "before_commit", slow)


def test_an_answered_write_is_already_committed(tmp_path: Path, slow_commits: None) -> None:
    data = tmp_path / "data"
    made = run_in_group(clipforge_cmd("user", "create", "ed", "--password", "pw"),
                        timeout=120, env=cli_env(data))
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    settings = Settings(data_dir=data)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, workers=False),
                                           port=free_port(), log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as api:
            created = api.post("/api/streamers", json={"name": "ada"})
            assert created.status_code == 201, created.text
            sid = created.json()["id"]
            edited = api.patch(f"/api/streamers/{sid}", json={"settings": {"layout": "blur"}})
            assert edited.status_code == 200, edited.text
            # Read at once, beside the server: the answer came after the commit.
            with sqlite3.connect(data / "clipforge.db", timeout=30) as db:
                (stored,) = db.execute("SELECT settings FROM streamers WHERE id = ?",
                                       (sid,)).fetchone()
            assert '"layout": "blur"' in stored, stored
    finally:
        server.should_exit = True
        thread.join(30)
