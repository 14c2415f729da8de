"""Load: 20 uploads at once to `clipforge serve`, on SQLite and on PostgreSQL. Every stream
ends done, and nothing is lost or done twice: no job key, clip id or event id repeats, each
stream has one job per (stage, target) of its run and one submitted and one completed
event."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.servers import Server, pg_database

UPLOADS = 20
DEADLINE = 900.0  # seconds for all of them to finish, on a busy 2-core machine


def make_clip(path: Path, index: int) -> Path:
    """8-12 s of test pattern with a tone of its own, so each upload is a distinct stream."""
    seconds = 8 + index % 5
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc=s=160x120:r=10:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=f={300 + 37 * index}:d={seconds}",
                    "-shortest", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", str(path)], check=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("uploads")
    return [make_clip(folder / f"stream-{i:02d}.mp4", i) for i in range(UPLOADS)]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'load.db'}"
    else:
        with pg_database() as url:
            yield url


def upload(server: Server, token: str, path: Path) -> httpx.Response:
    with server.client(token) as api, path.open("rb") as video:
        return api.post("/api/streams/upload", data={"top": "1"},
                        files={"file": (path.name, video, "video/mp4")})


def wait_all(server: Server, token: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    deadline = time.monotonic() + DEADLINE
    ended: dict[int, dict[str, Any]] = {}
    with server.client(token) as api:
        while len(ended) < len(ids):
            for sid in ids:
                if sid in ended:
                    continue
                detail = api.get(f"/api/streams/{sid}").json()
                if detail["status"] in ("done", "failed"):
                    ended[sid] = detail
            left = {sid for sid in ids if sid not in ended}
            assert time.monotonic() < deadline, f"streams {sorted(left)} never ended"
            time.sleep(1.0)
    return ended


def test_twenty_concurrent_uploads_lose_and_repeat_nothing(
        clips: list[Path], database_url: str, tmp_path: Path) -> None:
    server = Server(tmp_path / "data", database_url, workers="2", min_len="4",
                    max_len="6", chunk_seconds="60")
    try:
        server.start()
        token = server.cli("user", "create", "loader").strip()
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
            responses = list(pool.map(lambda p: upload(server, token, p), clips))
        for response in responses:
            assert response.status_code == 201, response.text
        ids = [response.json()["id"] for response in responses]
        assert len(set(ids)) == UPLOADS, ids
        ended = wait_all(server, token, ids)
        elapsed = time.monotonic() - began
        failed = {sid: d["error"] for sid, d in ended.items() if d["status"] != "done"}
        assert not failed, failed
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as db:
            streams = {row.id: row.run for row in db.execute(sa.text(
                "SELECT id, run FROM streams"))}
            jobs = db.execute(sa.text(
                "SELECT key, stream_id, run, stage, target, status FROM jobs")).all()
            clip_rows = db.execute(sa.text("SELECT id, stream_id FROM clips")).all()
            events = db.execute(sa.text("SELECT id, stream_id, name FROM events")).all()
    finally:
        engine.dispose()

    assert set(streams) == set(ids)
    keys = Counter(job.key for job in jobs)
    assert not [k for k, n in keys.items() if n > 1], "job keys repeated"
    for sid, run in streams.items():
        mine = [job for job in jobs if job.stream_id == sid and job.run == run]
        assert mine, f"stream {sid} has no jobs of run {run}"
        per_target = Counter((job.stage, job.target) for job in mine)
        assert {k: n for k, n in per_target.items() if n > 1} == {}, sid
        assert {job.status for job in mine} == {"done"}, (sid, mine)
    clip_ids = Counter(row.id for row in clip_rows)
    assert not [c for c, n in clip_ids.items() if n > 1], "clip ids repeated"
    assert set(Counter(row.stream_id for row in clip_rows)) <= set(ids)
    event_ids = Counter(row.id for row in events)
    assert not [e for e, n in event_ids.items() if n > 1], "event ids repeated"
    for sid in ids:
        names = Counter(row.name for row in events if row.stream_id == sid)
        assert names["stream.submitted"] == 1, (sid, names)
        assert names["stream.completed"] == 1, (sid, names)
    print(f"{UPLOADS} uploads done in {elapsed:.1f}s; {len(jobs)} jobs, "
          f"{len(clip_rows)} clips, {len(events)} events")
