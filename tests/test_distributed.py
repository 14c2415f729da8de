"""Distributed mode end to end: the API and one process per stage worker, on PostgreSQL,
a Redis of our own and moto's S3 server. One cluster serves the tests in this file: a
stream completes with its media on S3 while every worker's /health and /metrics answer;
its events reach a Redis consumer group; workers are killed (kill -9) mid-transcription
and mid-render; Redis is killed and restarted mid-run; a worker is stopped gracefully
mid-job; several streams run at once with two workers per stage. After each, the ledger
shows one finished run per job and the events one completion per chunk and clip.

Each test submits a stream of its own and works with the workers running when it starts
(tests stop, kill and add workers), so they pass in any order and alone."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from websockets.sync.client import connect

from clipforge.execution.broker import kinds, queue_of
from tests.cluster import (
    AWS_ENV,
    Cluster,
    RedisServer,
    Worker,
    redis_server,
    s3_keys,
    s3_server,
)
from tests.conftest import CACHE, clipforge_cmd
from tests.live_hls_server import LiveSimulator
from tests.media_server import MediaServer
from tests.procs import kill_group, spawn
from tests.servers import free_port, pg_database
from tests.tcp_gate import Gate
from tools import synth

# Short clips of short streams: the server's defaults (CLIPFORGE_TOP, ...).
DEFAULTS = {"top": "1", "min_len": "3", "max_len": "6", "allow_private_urls": "true"}


@pytest.fixture(scope="module")
def base_stream() -> synth.StreamSpec:
    return synth.cached_stream(CACHE / "streams", duration=24.0, width=640, height=360,
                               fps=15, seed=9)


@pytest.fixture(scope="module")
def variants(base_stream: synth.StreamSpec, tmp_path_factory: pytest.TempPathFactory
             ) -> Callable[[int], Path]:
    """Copies of the stream that differ in their metadata: distinct streams to ClipForge
    (another content fingerprint), the same work."""
    folder = tmp_path_factory.mktemp("variants")

    def make(n: int) -> Path:
        out = folder / f"stream-{n}.mp4"
        if not out.exists():
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(base_stream.video),
                            "-c", "copy", "-metadata", f"comment=variant {n}", str(out)],
                           check=True)
        return out

    return make


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis: RedisServer) -> Iterator[Cluster]:
    with pg_database() as database_url, s3_server() as endpoint:
        running = Cluster(tmp_path_factory.mktemp("cluster"), database_url, redis.url,
                          endpoint, **DEFAULTS)
        try:
            yield running.start()
        finally:
            running.stop()


@pytest.fixture(scope="module")
def api(cluster: Cluster) -> httpx.Client:
    token = cluster.api.cli("user", "create", "ops").strip()
    client = cluster.api.client(token)
    client.headers["X-Test-Token"] = token
    return client


@pytest.fixture(scope="module")
def ledger(cluster: Cluster) -> Iterator[sa.Engine]:
    engine = sa.create_engine(cluster.api.database_url)
    yield engine
    engine.dispose()


def submit(api: httpx.Client, video: Path, **options: Any) -> int:
    created = api.post("/api/streams", json={"path": str(video), **options})
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def wait_done(api: httpx.Client, stream_ids: list[int], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    pending = set(stream_ids)
    while pending and time.monotonic() < deadline:
        for sid in list(pending):
            detail = api.get(f"/api/streams/{sid}").json()
            assert detail["status"] in ("processing", "done"), detail
            if detail["status"] == "done":
                pending.discard(sid)
        time.sleep(0.5)
    assert not pending, f"streams {sorted(pending)} did not complete"


def jobs(ledger: sa.Engine, stream_id: int) -> list[dict[str, Any]]:
    with ledger.connect() as c:
        rows = c.execute(sa.text("SELECT id, stage, target, status, attempts, worker, key "
                                 "FROM jobs WHERE stream_id = :s"), {"s": stream_id})
        return [dict(r._mapping) for r in rows]


def events(ledger: sa.Engine, stream_id: int) -> list[tuple[str, dict[str, Any]]]:
    with ledger.connect() as c:
        rows = c.execute(sa.text("SELECT name, payload FROM events WHERE stream_id = :s "
                                 "ORDER BY id"), {"s": stream_id})
        return [(r.name, r.payload if isinstance(r.payload, dict) else json.loads(r.payload))
                for r in rows]


def assert_ran_once(ledger: sa.Engine, stream_id: int) -> list[dict[str, Any]]:
    """Every job of the stream done, once: one row per stage and target, and one
    completion event per chunk (transcribed, analyzed) and per clip (rendered)."""
    found = jobs(ledger, stream_id)
    assert all(j["status"] == "done" for j in found), found
    per_target = Counter((j["stage"], j["target"]) for j in found)
    assert set(per_target.values()) == {1}, per_target
    stages = Counter(j["stage"] for j in found)
    assert stages["ingest"] == stages["chunk"] == stages["score"] == stages["report"] == 1
    assert stages["transcribe"] == stages["analyze"] >= 1
    named = events(ledger, stream_id)
    done = Counter(name for name, _ in named)
    assert done["chunk.transcribed"] == stages["transcribe"]
    assert done["chunk.analyzed"] == stages["analyze"]
    assert done["clip.rendered"] == stages["render"]
    assert done["stream.completed"] == 1
    chunks = [p["chunk"] for name, p in named if name == "chunk.transcribed"]
    assert len(set(chunks)) == len(chunks)
    return found


def clips_of(api: httpx.Client, stream_id: int) -> list[dict[str, Any]]:
    return list(api.get(f"/api/streams/{stream_id}/clips").json()["items"])


def running_job(ledger: sa.Engine, stage: str, stream_id: int, timeout: float = 120
                ) -> dict[str, Any]:
    """Wait for a job of `stage` to be running; returns its row."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job in jobs(ledger, stream_id):
            if job["stage"] == stage and job["status"] == "running":
                return job
        time.sleep(0.02)
    raise AssertionError(f"no {stage} job ran: {jobs(ledger, stream_id)}")


def job_status(ledger: sa.Engine, job_id: int, until: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline and status != until:
        with ledger.connect() as c:
            status = c.execute(sa.text("SELECT status FROM jobs WHERE id = :j"),
                               {"j": job_id}).scalar_one()
        time.sleep(0.1)
    return status


def eventually(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def relayed_names(redis_url: str, stream_id: int) -> list[str]:
    """The names of a stream's events in the relay's Redis stream, in order."""
    import redis as redis_py

    from clipforge.execution.relay import STREAM

    client = redis_py.Redis.from_url(redis_url)
    try:
        events = [json.loads(fields[b"event"]) for _, fields in client.xrange(STREAM)]
    finally:
        client.close()
    return [e["name"] for e in events if e.get("stream_id") == stream_id]


def sent_marker(job: dict[str, Any]) -> str:
    """The broker's record that this attempt of the job was sent (execution/broker.py)."""
    return f"clipforge:sent:{job['id']}:{job['attempts']}"


def live(cluster: Cluster) -> list[Worker]:
    """The cluster's workers still running (tests stop, kill and add them)."""
    return [w for w in cluster.workers if w.proc is not None and w.proc.poll() is None]


def jobs_done(worker: Worker) -> Counter[str]:
    """The worker's `clipforge_jobs_done_total`, by stage."""
    text = httpx.get(f"{worker.url}/metrics", timeout=10).text
    found = re.findall(r'^clipforge_jobs_done_total\{stage="(\w+)"\} ([0-9.]+)$', text, re.M)
    return Counter({stage: int(float(count)) for stage, count in found})


def pid_of(job: dict[str, Any]) -> int:
    return int(str(job["worker"]).rpartition(":")[2])


def holder(cluster: Cluster, job: dict[str, Any]) -> Worker:
    """The live worker of the job's stage that runs it."""
    (found,) = [w for w in cluster.of(queue_of(job["stage"]))
                if w.proc is not None and w.proc.pid == pid_of(job)]
    return found


class Probe(threading.Thread):
    """Asks every worker's /health and /metrics while a run goes on."""

    def __init__(self, workers: list[Worker]) -> None:
        super().__init__(daemon=True)
        self.workers, self.stop = workers, threading.Event()
        self.answers: dict[str, list[tuple[int, int]]] = {w.kind: [] for w in workers}

    def run(self) -> None:
        while not self.stop.is_set():
            for w in self.workers:
                try:
                    health = httpx.get(f"{w.url}/health", timeout=10)
                    metrics = httpx.get(f"{w.url}/metrics", timeout=10)
                    ok = "clipforge_jobs_in_flight" in metrics.text and \
                        health.json()["kind"] == w.kind
                    answer = (health.status_code, metrics.status_code if ok else 0)
                except httpx.HTTPError:
                    answer = (0, 0)
                self.answers[w.kind].append(answer)
            self.stop.wait(0.3)


def test_stream_completes_with_its_media_on_s3(cluster: Cluster, api: httpx.Client,
                                               ledger: sa.Engine,
                                               base_stream: synth.StreamSpec) -> None:
    import redis

    token = api.headers["X-Test-Token"]
    workers = live(cluster)
    counted = {w.url: jobs_done(w) for w in workers}  # other tests' streams may come first
    probe = Probe(workers)
    probe.start()
    listener = redis.Redis.from_url(cluster.env["CLIPFORGE_REDIS_URL"]).pubsub()
    listener.subscribe("clipforge:events")
    ws_url = cluster.api.url.replace("http", "ws") + "/ws"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        with base_stream.video.open("rb") as f:
            created = api.post("/api/streams/upload",
                               files={"file": ("stream.mp4", f, "video/mp4")})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        seen: list[str] = []
        while not seen or seen[-1] != "stream.completed":
            event = json.loads(ws.recv(timeout=300))
            if event["stream_id"] == sid:
                seen.append(event["name"])
    probe.stop.set()
    probe.join()
    assert seen[0] == "stream.submitted" and "highlights.scored" in seen
    published = []  # the relay's pub/sub copies, which wake the WebSocket
    while (message := listener.get_message(timeout=1)) is not None:
        if message["type"] == "message":
            published.append(json.loads(message["data"]))
    listener.close()
    relayed = [e["name"] for e in published if e["stream_id"] == sid]
    assert relayed[:len(seen)] == seen  # (a last job.progress may follow completion)

    # Every worker answered /health and /metrics during the run.
    for kind, answers in probe.answers.items():
        assert answers and all(a == (200, 200) for a in answers), (kind, answers)
    found = assert_ran_once(ledger, sid)
    # Each stage ran in a worker of its kind, never in the API (and no clip is published
    # here: the publisher idles).
    kind_of = {w.proc.pid: w.kind for w in workers}  # type: ignore[union-attr]
    ran = {(kind_of.get(pid_of(j)), queue_of(j["stage"])) for j in found}
    assert all(worker == stage for worker, stage in ran), ran
    assert {kind for kind, _ in ran} == set(kinds()) - {"publisher", "live"}

    # The media: the upload, the chunks, the artifacts and the clip are on S3.
    detail = api.get(f"/api/streams/{sid}").json()
    assert detail["source"].startswith("store/uploads/")
    with ledger.connect() as c:
        key = c.execute(sa.text("SELECT key FROM streams WHERE id = :s"), {"s": sid}).scalar()
    stored = s3_keys(cluster.env["CLIPFORGE_S3_ENDPOINT_URL"], f"media/{key}/")
    clip = clips_of(api, sid)[0]
    assert f"media/{key}/out/clips/{clip['id']}.mp4" in stored
    assert any("/chunks/" in k and k.endswith(".wav") for k in stored)
    assert any(k.endswith("report.json") for k in stored)
    assert f"media/{detail['source'].removeprefix('store/')}" in \
        s3_keys(cluster.env["CLIPFORGE_S3_ENDPOINT_URL"], "media/uploads/")
    video = api.get(f"/api/clips/{clip['id']}/video")
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"

    # Each worker counted the jobs it ran.
    for w in workers:
        pid = w.proc.pid  # type: ignore[union-attr]
        ran_here = Counter(j["stage"] for j in found if pid_of(j) == pid)
        assert jobs_done(w) - counted[w.url] == ran_here, w.kind

    # The direct endpoint runs a job of the worker's stages here and now; a finished one
    # is not run again, another stage's job is refused.
    asr = cluster.of("asr")[0]
    transcribed = next(j for j in found if j["stage"] == "transcribe")
    rendered = next(j for j in found if j["stage"] == "render")
    again = httpx.post(f"{asr.url}/jobs/{transcribed['id']}/run", timeout=60)
    assert again.json() == {"job": transcribed["id"], "outcome": "skipped"}
    refused = httpx.post(f"{asr.url}/jobs/{rendered['id']}/run", timeout=60)
    assert refused.status_code == 422 and "render job" in refused.json()["message"]
    assert httpx.post(f"{asr.url}/jobs/999999/run", timeout=60).status_code == 404


def test_events_reach_a_redis_consumer_group(cluster: Cluster, api: httpx.Client,
                                            variants: Callable[[int], Path]) -> None:
    from clipforge.execution.relay import STREAM, EventLog

    sid = submit(api, variants(4))
    wait_done(api, [sid])
    url = cluster.env["CLIPFORGE_REDIS_URL"]
    eventually(lambda: "stream.completed" in relayed_names(url, sid),
               f"stream {sid}'s completion relayed to {STREAM}")
    group = f"test-group-{sid}"  # a group of its own: it reads the log from its start
    log = EventLog(url, group, "reader-1", idle_ms=0)
    try:
        entries = log.read(count=100_000, block_ms=100)
        names = [event["name"] for _, event in entries if event.get("stream_id") == sid]
        assert "stream.completed" in names and "chunk.transcribed" in names
        # Unacknowledged entries go to the next consumer that asks (reader-1 died).
        other = EventLog(url, group, "reader-2", idle_ms=0)
        again = other.read(count=100_000, block_ms=100)
        assert [i for i, _ in again] == [i for i, _ in entries]
        for entry_id, _ in again:
            other.ack(entry_id)
        # Acknowledged, they are not given out again (a last job.progress may come new).
        assert not {i for i, _ in other.read(count=100_000, block_ms=100)} & \
            {i for i, _ in entries}
        other.close()
    finally:
        log.close()


def test_killed_workers_mid_job_leave_one_result_each(cluster: Cluster, api: httpx.Client,
                                                      ledger: sa.Engine,
                                                      variants: Callable[[int], Path]
                                                      ) -> None:
    sid = submit(api, variants(1), top=2, full_transcript=True)
    hit = running_job(ledger, "transcribe", sid)
    holder(cluster, hit).kill()
    cluster.add("asr", 2)  # a new one takes the job over
    cut = running_job(ledger, "render", sid)
    holder(cluster, cut).kill()
    # With no worker starting on this machine to notice, the job waits for its lease to
    # run out; then the sweeper queues it again (as for a machine that went away).
    assert job_status(ledger, cut["id"], until="queued") == "queued"
    cluster.add("render", 2)
    wait_done(api, [sid])

    found = {j["id"]: j for j in assert_ran_once(ledger, sid)}
    assert found[hit["id"]]["attempts"] >= 2 and found[cut["id"]]["attempts"] >= 2
    clips = clips_of(api, sid)
    assert len(clips) == 2 and len({c["id"] for c in clips}) == 2
    assert all(c["status"] == "rendered" for c in clips)


def test_redis_restarted_mid_run(cluster: Cluster, api: httpx.Client, ledger: sa.Engine,
                                 redis: RedisServer, variants: Callable[[int], Path]) -> None:
    import redis as redis_py

    for vision in cluster.of("vision"):  # the analyze jobs' messages wait in Redis
        assert vision.stop() == 0
    sid = submit(api, variants(2), full_transcript=True)
    in_flight = running_job(ledger, "transcribe", sid)
    waiting = [j for j in jobs(ledger, sid) if j["stage"] == "analyze"]
    assert waiting and all(j["status"] == "queued" for j in waiting), waiting
    before = redis_py.Redis.from_url(redis.url)
    eventually(lambda: all(before.exists(sent_marker(j)) for j in waiting),
               f"analyze jobs {waiting} sent")
    before.close()

    redis.stop()  # every message and marker is lost, the analyze jobs' with them
    # The job in flight finishes meanwhile; what follows it cannot be sent.
    assert job_status(ledger, in_flight["id"], until="done") == "done"
    redis.start()
    # The sweepers send the lost jobs again: the same attempt (no worker took them) has a
    # marker in the new, empty Redis.
    after = redis_py.Redis.from_url(redis.url)
    eventually(lambda: all(after.exists(sent_marker(j)) for j in waiting),
               f"analyze jobs {waiting} sent again after the restart")
    after.close()
    cluster.add("vision", 4)
    wait_done(api, [sid])
    found = {j["id"]: j for j in assert_ran_once(ledger, sid)}
    assert all(found[j["id"]]["attempts"] > j["attempts"] for j in waiting)


def test_stopped_worker_hands_back_its_job(cluster: Cluster, api: httpx.Client,
                                           ledger: sa.Engine,
                                           variants: Callable[[int], Path]) -> None:
    for idle in cluster.of("vision"):
        assert idle.stop() == 0  # SIGTERM with nothing to do: a clean exit
    # The worker reads the store through a gate: held, its job cannot finish (it fetches
    # the stream's media first), however long this test takes to stop it.
    gate = Gate(cluster.env["CLIPFORGE_S3_ENDPOINT_URL"]).start()
    try:
        quick = cluster.add("vision", 2, worker_grace_seconds="0.1",
                            s3_endpoint_url=gate.url)
        gate.hold()
        sid = submit(api, variants(3), full_transcript=True)
        job = running_job(ledger, "analyze", sid)
        assert pid_of(job) == quick.proc.pid  # type: ignore[union-attr]
        assert gate.held.wait(timeout=120), "the analyze job never read the store"
        assert quick.stop() == 0
    finally:
        gate.stop()
    assert f"handed back jobs [{job['id']}]" in quick.log.read_text()
    assert job_status(ledger, job["id"], until="queued") == "queued"
    cluster.add("vision", 3)
    wait_done(api, [sid])
    found = {j["id"]: j for j in assert_ran_once(ledger, sid)}
    # Run again, to completion, by the next worker.
    assert found[job["id"]]["attempts"] > job["attempts"]
    assert found[job["id"]]["worker"] != job["worker"]


def test_streams_at_once_with_two_workers_per_stage(cluster: Cluster, api: httpx.Client,
                                                    ledger: sa.Engine,
                                                    variants: Callable[[int], Path]) -> None:
    for kind in kinds():
        while len(cluster.of(kind)) < 2:
            cluster.add(kind, 10 + len(cluster.of(kind)), wait=False)
    for worker in cluster.workers:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.wait_ready()
    served = MediaServer(variants(13).parent).start()  # one stream comes by URL
    try:
        ids = [submit(api, variants(10 + n)) for n in range(3)]
        by_url = api.post("/api/streams", json={"url": served.url(variants(13).name)})
        assert by_url.status_code == 201, by_url.text
        ids.append(by_url.json()["id"])
        wait_done(api, ids)
    finally:
        served.stop()
    # The URL stream's download is a store path (in S3), not the ingest worker's own.
    with ledger.connect() as c:
        info = c.execute(sa.text("SELECT info FROM streams WHERE id = :s"),
                         {"s": ids[-1]}).scalar_one()
    info = info if isinstance(info, dict) else json.loads(info)
    assert info["path"].startswith("store/") and "/source/" in info["path"], info
    assert clips_of(api, ids[-1])[0]["status"] == "rendered"
    used: set[str] = set()
    for sid in ids:
        used |= {str(j["worker"]) for j in assert_ran_once(ledger, sid)}
    vod_kinds = set(kinds()) - {"publisher", "live"}
    assert len(used) >= len(vod_kinds) + 2  # the second workers took jobs too


def test_up_starts_and_stops_a_one_machine_cluster(cluster: Cluster, tmp_path: Path) -> None:
    env = dict(cluster.env, CLIPFORGE_DATA_DIR=str(tmp_path / "up"), **AWS_ENV)
    port, base = free_port(), free_port()
    proc = spawn(clipforge_cmd("up", "--port", str(port), "--worker-ports", str(base)),
                 env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        urls = [f"http://127.0.0.1:{port}/api/health"] + [
            f"http://127.0.0.1:{base + n}/health" for n in range(len(kinds()))]
        deadline = time.monotonic() + 300  # a hang guard (a starved machine)
        pending = list(urls)
        while pending and time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(pending[0], timeout=2).status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        assert not pending, proc.stdout.read().decode() if proc.poll() is not None else pending
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0, out.decode()
        for url in urls:
            with pytest.raises(httpx.HTTPError):
                httpx.get(url, timeout=2)
    finally:
        kill_group(proc)  # up and every process it started, even when the test failed


def test_a_live_stream_is_a_leased_job_another_worker_takes_over(
        cluster: Cluster, api: httpx.Client, ledger: sa.Engine) -> None:
    """A live stream submitted to the API is a `live` job on a live worker. That worker
    is killed -9 once a moment is confirmed, and no worker of its machine (cache) is left: a new
    live worker with its own cache takes the job over from the store. The stream ends
    `done` with every planted highlight clipped once, each clip announced once and in
    the store."""
    spec = synth.cached_stream(CACHE / "streams", duration=180.0, width=640, height=360,
                               fps=15, seed=3)
    sim = LiveSimulator(synth.cached_hls(spec, CACHE / "live", fps=15), interval=0.75).start()
    try:
        made = api.post("/api/streams", json={"url": sim.url(), "live": True,
                                              "chat": str(spec.chat), "min_len": 6,
                                              "max_len": 12})
        assert made.status_code == 201, made.text
        sid = int(made.json()["id"])
        first = running_job(ledger, "live", sid)
        victim = holder(cluster, first)

        def confirmed() -> bool:  # kill -9 once a moment is confirmed
            found = list(victim.data_dir.glob("**/live/moments.json"))
            return bool(found) and bool(json.loads(found[0].read_text())["moments"])

        eventually(confirmed, "a moment confirmed while live", timeout=300)
        victim.kill()
        assert sim.revealed < len(sim.segments), "the stream ended before the kill"
        cluster.add("live", 2)  # its own data dir: it has nothing of the first one's
        wait_done(api, [sid], timeout=600)
    finally:
        sim.stop()
    # The new worker went on from where the first left off (its state, from the store):
    # at most the last few segments before the kill are fetched again, not the stream.
    again = [name for name, _ in sim.segments if sim.fetched(f"/{name}") > 1]
    assert len(again) <= 3, again
    assert all(sim.fetched(f"/{name}") >= 1 for name, _ in sim.segments)
    (job,) = jobs(ledger, sid)  # done just after it ended the stream (its uploads)
    assert job_status(ledger, job["id"], until="done") == "done"
    assert job["stage"] == "live" and job["attempts"] >= 2, job
    assert job["worker"] != first["worker"]
    clips = clips_of(api, sid)
    spans = sorted((c["start"], c["end"]) for c in clips)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:], strict=False):
        assert min(a1, b1) - max(a0, b0) < 0.5 * min(a1 - a0, b1 - b0), spans
    for planted in spec.highlights:
        assert any(start - 1.0 <= planted <= end for start, end in spans), (planted, spans)
    named = events(ledger, sid)
    announced = [p["clip_id"] for name, p in named if name == "clip.rendered"]
    assert sorted(announced) == sorted(c["id"] for c in clips)
    assert [name for name, _ in named].count("stream.completed") == 1
    stored = set(s3_keys(cluster.env["CLIPFORGE_S3_ENDPOINT_URL"]))
    for clip in clips:
        assert any(k.endswith(f"/clips/{clip['id']}.mp4") for k in stored), clip["id"]
