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
        no_io_in_follow: Any, stream_3min: Any, tmp_path: Path) -> None:
    tried, followed = no_io_in_follow
    settings = Settings(data_dir=tmp_path / "data", chunk_seconds=60, workers=2)
    report = process(stream_3min.video, Options(out_dir=tmp_path / "out",
                                                chat=stream_3min.chat, top=2), settings)
    assert tried == []
    assert len(report["clips"]) == 2 and all(c["file"] for c in report["clips"])
    for clip in report["clips"]:
        assert (tmp_path / "out" / clip["file"]).stat().st_size > 0
    # Every transition from score to the report went through a guarded follow.
    for stage in ("ingest", "chunk", "score", "enrol", "plan", "render", "report"):
        assert stage in followed, (stage, followed)
