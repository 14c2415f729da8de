"""What follows a finished job is decided inside the transaction that holds its stream's
row lock, so it must be quick and must not fail on a file or a process: a stage's
`follow` only reads and writes rows. Proved by running a stream with every file opening
and process start made to fail while a `follow` runs."""

from __future__ import annotations

import builtins
import io
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from clipforge.config import Settings
from clipforge.domain import Options
from clipforge.execution import completion
from clipforge.services.orchestrator import process
from tests.conftest import SHORT_CLIPS

_inside = threading.local()  # only the thread running a follow is refused anything


@contextmanager
def following() -> Iterator[None]:
    before = getattr(_inside, "on", False)
    _inside.on = True
    try:
        yield
    finally:
        _inside.on = before


def refused(real: Callable[..., Any], what: str, seen: list[str]) -> Callable[..., Any]:
    def guard(*args: Any, **kwargs: Any) -> Any:
        if getattr(_inside, "on", False):
            seen.append(f"{what} {args[:1]}")
            raise OSError(f"{what} while a stage's follow runs")
        return real(*args, **kwargs)
    return guard


@pytest.fixture
def no_io_in_follow(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """(what a follow tried, which stages' follows ran)."""
    tried: list[str] = []
    followed: list[str] = []
    monkeypatch.setattr(subprocess, "Popen", refused(subprocess.Popen, "process", tried))
    monkeypatch.setattr(builtins, "open", refused(builtins.open, "open", tried))
    monkeypatch.setattr(io, "open", refused(io.open, "open", tried))
    monkeypatch.setattr(os, "open", refused(os.open, "os.open", tried))
    real_advance = completion.advance

    def advance(s: Any, run: Any, stream: Any, job: Any, tracker: Any) -> None:
        followed.append(job.stage)
        with following():
            real_advance(s, run, stream, job, tracker)

    monkeypatch.setattr(completion, "advance", advance)
    return tried, followed


def test_the_guard_refuses_files_and_processes(no_io_in_follow: Any, tmp_path: Path) -> None:
    tried, _ = no_io_in_follow
    with following():
        with pytest.raises(OSError):
            (tmp_path / "x.txt").write_text("no")
        with pytest.raises(OSError):
            subprocess.run(["true"], check=True)
    assert len(tried) == 2
    (tmp_path / "x.txt").write_text("yes")  # outside a follow, as usual


def test_score_to_render_reads_no_file_and_starts_no_process(
        no_io_in_follow: Any, stream_small: Any, tmp_path: Path) -> None:
    tried, followed = no_io_in_follow
    settings = Settings(data_dir=tmp_path / "data", chunk_seconds=30, workers=2)
    report = process(stream_small.video, Options(out_dir=tmp_path / "out", top=2,
                                                 chat=stream_small.chat, **SHORT_CLIPS),
                     settings)
    assert tried == []
    assert len(report["clips"]) == 2 and all(c["file"] for c in report["clips"])
    for clip in report["clips"]:
        assert (tmp_path / "out" / clip["file"]).stat().st_size > 0
    # Every transition from score to the report went through a guarded follow.
    for stage in ("ingest", "chunk", "score", "enrol", "plan", "render", "report"):
        assert stage in followed, (stage, followed)


def test_a_job_whose_worker_keeps_dying_fails_after_its_attempts(tmp_path: Path) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from clipforge.storage import ledger
    from clipforge.storage.models import EventRow, JobRow, StreamRow, utcnow
    from clipforge.storage.repository import Repository

    repo = Repository(f"sqlite:///{tmp_path / 'state.db'}")
    with repo.session() as s:
        stream = StreamRow(key="k", source="x.mp4", duration=10.0, status="processing",
                           run=1, info={}, options={})
        s.add(stream)
        s.flush()
        job_id = ledger.enqueue(s, stream, ledger.JobSpec("analyze", "0-10"))[0].id

    def died() -> None:  # the worker holding it was killed: its lease runs out
        with repo.session() as s:
            s.get_one(JobRow, job_id).lease_until = utcnow() - timedelta(seconds=1)
        with repo.session() as s:
            assert ledger.requeue_expired(s) == [job_id]

    with repo.session() as s:
        assert ledger.claim(s, "w:1", 60, attempts=3) is not None
    died()
    with repo.session() as s:  # the first retry runs at once
        assert ledger.claim(s, "w:2", 60, attempts=3) is not None
    died()
    with repo.session() as s:  # the next waits
        assert s.get_one(JobRow, job_id).lease_until > utcnow()
        assert ledger.claim(s, "w:3", 60, attempts=3) is None
        s.get_one(JobRow, job_id).lease_until = utcnow() - timedelta(seconds=1)
    with repo.session() as s:
        assert ledger.claim(s, "w:3", 60, attempts=3) is not None
    died()
    with repo.session() as s:
        s.get_one(JobRow, job_id).lease_until = None
    with repo.session() as s:  # the third death was the last
        assert ledger.claim(s, "w:4", 60, attempts=3) is None
    with repo.session() as s:
        job = s.get_one(JobRow, job_id)
        assert job.status == "failed" and "gave up after 3 attempts" in (job.error or "")
        assert s.get_one(StreamRow, job.stream_id).status == "failed"
        names = list(s.scalars(select(EventRow.name)))
        assert names == ["job.failed"]
    repo.engine.dispose()


def test_a_bad_stored_setting_fails_its_stream_and_the_pool_goes_on(
        stream_small: Any, tmp_path: Path) -> None:
    """One stream's broken option fails that stream's job; the pool's only thread goes
    on to the next stream, which ends done, with 0 clips (nothing stands out in it)."""
    from sqlalchemy import select

    from clipforge.execution.pool import LocalPool
    from clipforge.services.orchestrator import Orchestrator
    from clipforge.storage.models import EventRow, StreamRow
    from clipforge.storage.repository import Repository

    quiet = tmp_path / "quiet.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:d=40",
                    "-f", "lavfi", "-i", "color=gray:s=320x180:d=40", "-t", "40",
                    "-c:v", "libx264", "-c:a", "aac", str(quiet)], check=True)
    settings = Settings(data_dir=tmp_path / "data", workers=1)
    repo = Repository(settings.database_url)
    pool = LocalPool(repo, settings)
    orchestrator = Orchestrator(repo, settings, pool.tracker)
    broken = orchestrator.submit(stream_small.video, Options(
        out_dir=tmp_path / "a", top=1, chat=stream_small.chat, **SHORT_CLIPS))
    with repo.session() as s:  # as an older version (or a hand edit) may have stored it
        row = s.get_one(StreamRow, broken)
        row.options = {**row.options, "caption_size": "abc"}
    fine = orchestrator.submit(quiet, Options(out_dir=tmp_path / "b"))
    pool.start()
    try:
        first, second = pool.wait(broken), pool.wait(fine)
    finally:
        pool.stop()
    assert first.status == "failed" and "abc" in (first.error or ""), first.error
    assert second.status == "done", second.error
    assert all(thread.is_alive() is False for thread in pool._threads)  # stopped, not died
    with repo.session() as s:
        notices = [e.payload["message"] for e in s.scalars(select(EventRow).where(
            EventRow.stream_id == fine, EventRow.name == "stream.notice"))]
    assert any(n.startswith("0 clips") for n in notices), notices
    report = (tmp_path / "b" / "report.json").read_text()
    assert '"clips": []' in report and "0 clips" in report
    repo.engine.dispose()


def test_a_stage_is_queued_detached_as_the_registry_declares(tmp_path: Path) -> None:
    from clipforge.jobs import registry
    from clipforge.jobs.publish import publish_spec
    from clipforge.storage import ledger
    from clipforge.storage.models import StreamRow
    from clipforge.storage.repository import Repository

    repo = Repository(f"sqlite:///{tmp_path / 'state.db'}")
    with repo.session() as s:
        stream = StreamRow(key="k", source="x.mp4", duration=10.0, status="done", run=1,
                           info={}, options={})
        s.add(stream)
        s.flush()
        published, _ = registry.enqueue(s, stream, publish_spec("c1", "youtube"))
        analyzed, _ = registry.enqueue(s, stream, ledger.JobSpec("analyze", "0-10"))
        assert published.detached and not analyzed.detached
        # A detached job runs while its stream is not being processed; the other waits.
        assert [j for j, *_ in ledger.runnable_queued(s)] == [published.id]
    repo.engine.dispose()
