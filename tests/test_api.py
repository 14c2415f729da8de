"""The API against a running `clipforge serve`, on SQLite and on PostgreSQL: the whole
review flow over HTTP and WebSocket, and a kill -9 in the middle of transcription."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from websockets.sync.client import ClientConnection, connect

from tests.conftest import SHORT_CLIP_ARGS, SHORT_CLIPS, process
from tests.servers import Server, pg_database
from tools import synth

SERVER_SETTINGS = {"chunk_seconds": "20", "workers": "2"}  # the web UI's tests use them too
# This file's tests run on stream_small with short clips: they test the flow, not the picks.
API_SETTINGS = {**SERVER_SETTINGS, **{name: str(value) for name, value in SHORT_CLIPS.items()}}
TOP = 2
Event = dict[str, Any]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}"
    else:
        with pg_database() as url:
            yield url


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers a test starts; stopped when it ends, passed or not."""
    started: list[Server] = []
    yield started
    for each in started:
        each.stop()


@pytest.fixture
def server(tmp_path: Path, database_url: str, servers: list[Server]) -> Server:
    servers.append(Server(tmp_path / "data", database_url, **API_SETTINGS))
    return servers[-1].start()


def make_token(server: Server) -> str:
    return server.cli("user", "create", "editor", "--password", "s3cret").strip()


def events_until(ws: ClientConnection, done: Callable[[Event], bool],
                 timeout: float = 600) -> list[Event]:
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        seen.append(event)
        if done(event):
            return seen
    raise AssertionError(f"timed out; saw {[e['name'] for e in seen]}")


def milestones(events: list[Event], stream_id: int) -> list[str]:
    return [e["name"] for e in events
            if e["stream_id"] == stream_id and e["name"] != "job.progress"]


def completed(stream_id: int) -> Callable[[Event], bool]:
    return lambda e: e["name"] == "stream.completed" and e["stream_id"] == stream_id


def duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    return float(out.stdout)


def test_review_flow_over_http_and_websocket(server: Server, stream_small: synth.StreamSpec,
                                             tmp_path: Path) -> None:
    token = make_token(server)
    api = server.client(token)
    ws_url = server.url.replace("http", "ws") + "/ws"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        with stream_small.video.open("rb") as f:
            created = api.post("/api/streams/upload", data={"top": str(TOP)},
                               files={"file": ("my stream.mp4", f, "video/mp4")})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        events = events_until(ws, completed(sid))

        # Every milestone, in pipeline order, ids increasing.
        names = milestones(events, sid)
        chunks = names.count("chunk.transcribed")
        assert chunks >= 2 and names.count("chunk.analyzed") == chunks
        assert names[:3] == ["stream.submitted", "stream.ingested", "stream.chunked"]
        assert sorted(names[3:3 + 2 * chunks]) == sorted(
            ["chunk.transcribed", "chunk.analyzed"] * chunks)
        assert names[3 + 2 * chunks:] == ["highlights.scored", *["clip.rendered"] * TOP,
                                          "stream.completed"]
        # Each event once, in the order every reader sees: commit order, which is not id
        # order (storage/ledger.py); the event poll API gives the same sequence.
        assert len({e["id"] for e in events}) == len(events)
        polled: list[Event] = []
        while page := api.get("/api/events", params={
                "stream_id": sid, "since": polled[-1]["id"] if polled else 0}).json():
            polled += page
        assert [e["id"] for e in polled if e["name"] != "job.progress"] == [
            e["id"] for e in events if e["stream_id"] == sid and e["name"] != "job.progress"]
        assert any(e["name"] == "job.progress" for e in events)

        detail = api.get(f"/api/streams/{sid}").json()
        assert detail["status"] == "done" and detail["clips"] == TOP
        assert detail["language"] == "en"  # the server's default
        assert "language" not in {s["stage"] for s in detail["stages"]}  # only auto detects
        assert {s["stage"]: s["status"] for s in detail["stages"]}["render"] == "done"
        clips = api.get(f"/api/streams/{sid}/clips").json()["items"]
        assert [c["rank"] for c in clips] == [1, 2]
        assert all(c["status"] == "rendered" and c["reasons"] for c in clips)

        # Trim the best clip by a second each side: it is rendered again.
        clip = clips[0]
        start, end = clip["start"] + 1.0, clip["end"] - 1.0
        patched = api.patch(f"/api/clips/{clip['id']}", json={"start": start, "end": end,
                                                               "title": "Trimmed"})
        assert patched.status_code == 200, patched.text
        again = milestones(events_until(ws, completed(sid)), sid)
        assert again == ["clip.edited", "clip.rendered", "stream.completed"]
        edited = api.get(f"/api/clips/{clip['id']}").json()
        assert (edited["start"], edited["end"], edited["title"]) == (start, end, "Trimmed")
        assert edited["revision"] == 1 and edited["words"]
        video = api.get(f"/api/clips/{clip['id']}/video")
        assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
        (tmp_path / "clip.mp4").write_bytes(video.content)
        assert abs(duration(tmp_path / "clip.mp4") - (end - start)) < 0.25

        approved = api.post(f"/api/clips/{clip['id']}/approve")
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        last = events_until(ws, lambda e: e["name"] == "clip.approved", timeout=30)[-1]
        assert last["payload"]["clip_id"] == clip["id"]

    # A client that reconnects asks for what it missed.
    with connect(ws_url + f"?since=0&stream_id={sid}",
                 additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        replay = events_until(ws, lambda e: e["name"] == "clip.approved", timeout=30)
    assert replay[0]["name"] == "stream.submitted"
    assert milestones(replay, sid) == names + again + ["clip.approved"]


def test_websocket_and_api_refuse_a_bad_token(server: Server) -> None:
    with connect(server.url.replace("http", "ws") + "/ws") as ws:
        ws.send(json.dumps({"token": "nope"}))  # a browser's way: the first message
        assert json.loads(ws.recv(timeout=10))["error"] == "unauthorized"
        with pytest.raises(Exception):  # noqa: B017 - closed with 4401
            ws.recv(timeout=10)
        assert ws.close_code == 4401
    answer = server.client("nope").get("/api/streams")
    assert answer.status_code == 401 and answer.json()["code"] == "unauthorized"


@pytest.fixture(scope="session")
def reference_clips(stream_small: synth.StreamSpec, tmp_path_factory: pytest.TempPathFactory
                    ) -> list[tuple[float, float]]:
    """What an uninterrupted run picks, with the server's settings."""
    root = tmp_path_factory.mktemp("reference")
    proc = process(stream_small.video, None, root / "out", root / "data", "--top", str(TOP),
                   *SHORT_CLIP_ARGS, chunk_seconds=API_SETTINGS["chunk_seconds"])
    assert proc.returncode == 0, proc.stderr
    report = json.loads((root / "out" / "report.json").read_text())
    return [(c["start"], c["end"]) for c in report["clips"]]


def ledger(url: str, stream_id: int) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT j.id, j.stage, j.target, j.status, j.attempts, j.run = s.run AS current "
            "FROM jobs j JOIN streams s ON s.id = j.stream_id WHERE s.id = :sid ORDER BY j.id"),
            {"sid": stream_id}).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]


def test_kill_9_mid_transcription_then_restart_completes_once(
        tmp_path: Path, database_url: str, stream_small: synth.StreamSpec,
        reference_clips: list[tuple[float, float]], servers: list[Server]) -> None:
    # The killed server's jobs run again when their lease lapses: 20 s, not the default
    # minute, to keep the test short (heartbeats come every 5 s).
    servers.append(Server(tmp_path / "data", database_url, job_lease_seconds="20",
                          **API_SETTINGS))
    server = servers[-1].start()
    api = server.client(make_token(server))
    created = api.post("/api/streams", json={"path": str(stream_small.video), "top": TOP})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    deadline = time.monotonic() + 300
    while not any(e["name"] == "chunk.transcribed" for e in
                  api.get("/api/events", params={"stream_id": sid}).json()):
        assert time.monotonic() < deadline, "transcription never started"
        time.sleep(0.05)
    server.kill()

    before = ledger(database_url, sid)
    transcribing = [j for j in before if j["stage"] == "transcribe"]
    assert any(j["status"] != "done" for j in transcribing), "killed too late to test"
    done_before = {j["id"] for j in before if j["status"] == "done"}

    server.start()
    deadline = time.monotonic() + 600
    while (status := api.get(f"/api/streams/{sid}").json()["status"]) == "processing":
        assert time.monotonic() < deadline, "the stream did not finish after the restart"
        time.sleep(0.5)
    assert status == "done"

    after = [j for j in ledger(database_url, sid) if j["current"]]
    assert all(j["status"] == "done" for j in after)
    for stage in ("transcribe", "analyze"):
        targets = [j["target"] for j in after if j["stage"] == stage]
        assert len(targets) == len(set(targets)) >= 2, f"{stage} ran twice for a chunk"
    for stage in ("ingest", "chunk", "score", "report"):
        assert [j["stage"] for j in after].count(stage) == 1
    assert all(j["attempts"] == 1 for j in after if j["id"] in done_before), \
        "work finished before the kill was done again"
    assert any(j["attempts"] == 2 for j in after), "the interrupted job was not resumed"

    events = api.get("/api/events", params={"stream_id": sid, "limit": 500}).json()
    names = milestones(events, sid)
    chunks = len({j["target"] for j in after if j["stage"] == "transcribe"})
    assert names.count("chunk.transcribed") == chunks  # one event per chunk, no repeats
    clips = api.get(f"/api/streams/{sid}/clips").json()["items"]
    assert len(clips) == len(reference_clips)
    bounds = [t for c in clips for t in (c["start"], c["end"])]
    assert bounds == pytest.approx([t for pair in reference_clips for t in pair], abs=0.01)


def wait_for(api: Any, stream_id: int, status: str, timeout: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (detail := api.get(f"/api/streams/{stream_id}").json())["status"] != status:
        assert detail["status"] in ("processing", status), detail
        assert time.monotonic() < deadline, f"stream never got {status}"
        time.sleep(0.3)
    return dict(detail)


def test_a_failed_job_keeps_its_error_and_is_retried(tmp_path: Path,
                                                     stream_small: synth.StreamSpec,
                                                     servers: list[Server]) -> None:
    source = tmp_path / "on-a-usb-drive.mp4"
    shutil.copy(stream_small.video, source)
    url = f"sqlite:///{tmp_path / 'api.db'}"
    servers.append(Server(tmp_path / "data", url, pool=False, **API_SETTINGS))
    queued_only = servers[-1].start()
    token = make_token(queued_only)
    created = queued_only.client(token).post("/api/streams",
                                             json={"path": str(source), "top": TOP})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    queued_only.stop()

    source.rename(tmp_path / "unplugged.mp4")  # the drive goes away before work starts
    servers.append(Server(tmp_path / "data", url, **API_SETTINGS))
    api = servers[-1].start().client(token)
    failed = wait_for(api, sid, "failed")
    assert "ingest" in failed["error"] and source.name in failed["error"]
    jobs = api.get("/api/jobs", params={"stream_id": sid, "status": "failed"}).json()
    assert [j["stage"] for j in jobs["items"]] == ["ingest"]
    job = jobs["items"][0]
    assert source.name in job["error"]  # never the server path, which the API hides
    events = api.get("/api/events", params={"stream_id": sid}).json()
    assert any(e["name"] == "job.failed" and e["payload"]["job"] == job["id"]
               for e in events)

    (tmp_path / "unplugged.mp4").rename(source)
    retried = api.post(f"/api/jobs/{job['id']}/retry")
    # Queued again; a fast pool may have claimed it before the answer was written.
    assert retried.status_code == 200 and retried.json()["status"] in ("queued", "running")
    assert api.post(f"/api/jobs/{job['id']}/retry").status_code == 409  # not failed now
    done = wait_for(api, sid, "done")
    assert done["clips"] == TOP and done["error"] is None
