"""The parts of distributed mode, in one process: the store on a shared folder (paths,
fetch on first use, what a step wrote), the ledger's claim of a delivered job (PostgreSQL:
a duplicate delivery is dropped, an expired lease is requeued, a stopping worker hands
its job back), and one message per job attempt on Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from clipforge.storage import artifacts, ledger, store
from clipforge.storage.models import JobRow, StreamRow, utcnow
from clipforge.storage.repository import Repository
from tests.cluster import RedisServer, redis_server
from tests.conftest import CliRunner
from tests.servers import pg_database


@pytest.fixture
def folder_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)  # entering the store changes the working directory
    shared = tmp_path / "shared"
    store.enter(str(shared), tmp_path / "cache-a")
    yield shared
    store.leave()


def test_folder_store_paths_fetch_and_upload(folder_store: Path, tmp_path: Path) -> None:
    work = store.work_root("ignored") / "abc"
    assert work == Path("store/abc") and Path.cwd() == tmp_path / "cache-a"
    before = store.snapshot(work)
    work.mkdir(parents=True)
    artifacts.write_json(work / "result.json", {"words": 3})
    (work / "half.json.part").write_text("{")  # an unfinished write
    written = store.written_since(work, before)
    assert written == [work / "result.json"]
    assert store.publish(written) == 1
    assert (folder_store / "abc" / "result.json").read_text() == \
        (work / "result.json").read_text()
    assert not list(folder_store.rglob("*.part"))  # uploaded under a temp name, renamed

    # Another machine (another cache) reads it by the same relative path.
    store.enter(str(folder_store), tmp_path / "cache-b")
    assert not (tmp_path / "cache-b" / work / "result.json").exists()
    assert store.exists(work / "result.json")
    assert artifacts.read_json(work / "result.json") == {"words": 3}
    assert (tmp_path / "cache-b" / work / "result.json").exists()
    assert store.portable(tmp_path / "cache-b" / "store" / "x.mp4") == Path("store/x.mp4")
    with pytest.raises(Exception, match="missing from the store"):
        store.local(work / "never-written.json")


@pytest.fixture
def repo() -> Iterator[Repository]:
    with pg_database() as url:
        found = Repository(url)
        yield found
        found.engine.dispose()


def _job(repo: Repository) -> int:
    with repo.session() as s:
        stream = StreamRow(key="k1", source="store/uploads/k1.mp4", duration=10.0,
                           status="processing", run=1, info={}, options={})
        s.add(stream)
        s.flush()
        row, _ = ledger.enqueue(s, stream, ledger.JobSpec("transcribe", "0-10"))
        return row.id


def test_a_delivered_job_is_claimed_once(repo: Repository) -> None:
    job_id = _job(repo)
    with repo.session() as s:
        assert ledger.runnable_queued(s) == [(job_id, "transcribe", 0)]
        claimed = ledger.claim_job(s, job_id, "host:1", lease=60)
        assert claimed is not None and claimed.attempts == 1
    with repo.session() as s:  # a duplicate delivery: leased by a live worker
        assert ledger.claim_job(s, job_id, "host:2", lease=60) is None
        assert ledger.runnable_queued(s) == []
    with repo.session() as s:  # the worker went silent: its lease ran out
        s.get_one(JobRow, job_id).lease_until = utcnow() - timedelta(seconds=1)
    with repo.session() as s:
        assert ledger.requeue_expired(s) == [job_id]
        assert ledger.runnable_queued(s) == [(job_id, "transcribe", 1)]  # a new attempt
        again = ledger.claim_job(s, job_id, "host:2", lease=60)
        assert again is not None and again.attempts == 2
    with repo.session() as s:  # asked to stop, host:2 hands it back
        assert ledger.release(s, "host:2") == [job_id]
    with repo.session() as s:
        last = ledger.claim_job(s, job_id, "host:3", lease=60)
        assert last is not None
        ledger.finish(s, last, 1.0, "store/k1/t.json")
    with repo.session() as s:  # finished: every later delivery is dropped
        assert ledger.claim_job(s, job_id, "host:4", lease=60) is None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as server:
        yield server


def test_each_attempt_is_sent_once_until_redis_loses_it(redis: RedisServer) -> None:
    from clipforge.execution.broker import Broker, queue_of

    broker = Broker(redis.url, redispatch_seconds=60)
    try:
        assert broker.send(7, "transcribe", 0)
        assert not broker.send(7, "transcribe", 0)  # its message is waiting
        assert broker.send(7, "transcribe", 1)  # claimed once, queued again
        assert broker.redis.hlen(f"clipforge:{queue_of('transcribe')}.msgs") == 2
        broker.forget(7, 1)  # a delivery that could not claim it
        assert broker.send(7, "transcribe", 1)
        redis.stop()  # messages and markers go together
        redis.start()
        deadline = time.monotonic() + 10
        while not broker.ping() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert broker.send(7, "transcribe", 1)
    finally:
        broker.close()


def test_every_stage_has_a_worker_queue_and_port() -> None:
    from clipforge.execution.broker import kinds, ports, queue_of
    from clipforge.jobs.registry import STAGES, stages_of

    assert {queue_of(stage) for stage in STAGES} <= set(ports())
    assert kinds()[:5] == ["ingest", "asr", "vision", "scoring", "render"]
    assert sorted(s for kind in kinds() for s in stages_of(kind)) == sorted(STAGES)


def test_worker_and_up_say_what_they_need(run_cli: CliRunner) -> None:
    no_redis = run_cli("worker", "--stage", "asr")
    assert no_redis.returncode == 2 and "CLIPFORGE_REDIS_URL" in no_redis.stderr
    no_pg = run_cli("up")
    assert no_pg.returncode == 2 and "CLIPFORGE_REDIS_URL" in no_pg.stderr
