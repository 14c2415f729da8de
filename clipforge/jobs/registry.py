"""Every job stage, declared once: its input, its step, what follows it, the event that
announces it, the worker kind (and port) that runs it, the store files it reads, and
whether it belongs to its stream's runs. The pool, the stage workers, the broker's
queues, the event payloads and the ledger all read this table.

Adding a stage: write its module (an input dataclass, `run`, `follow`), then add one
`Stage(...)` line below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from clipforge import domain, errors
from clipforge.jobs import (
    analyze,
    chunk,
    enrol,
    ingest,
    language,
    live,
    plan,
    publish,
    render,
    report,
    score,
    transcribe,
)
from clipforge.jobs.base import Finished, Result, decode
from clipforge.jobs.context import Run
from clipforge.storage import ledger
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import JobRow, StreamRow


@dataclass(frozen=True)
class Worker:
    """A kind of stage worker (distributed mode): its queue's name and its HTTP port."""

    name: str
    port: int


INGEST, ASR, VISION = Worker("ingest", 8001), Worker("asr", 8002), Worker("vision", 8003)
SCORING, RENDER = Worker("scoring", 8004), Worker("render", 8005)
PUBLISHER = Worker("publisher", 8006)
LIVE = Worker("live", 8007)  # one thread per live stream followed, for hours


def _no_files(_run: Run, _inp: Any) -> list[str]:
    return []


def _nothing(_inp: Any) -> dict[str, object]:
    return {}


def _one_unit(_inp: Any) -> float:
    return 1.0


def _chunk_seconds(inp: Any) -> float:
    return float(inp.chunk.end - inp.chunk.start)


def _chunk_index(inp: Any) -> dict[str, object]:
    return {"chunk": inp.chunk.index}


def _clip(inp: Any) -> dict[str, object]:
    return {"clip_id": inp.clip.id}


def _ends(_done: Finished, _inp: Any) -> list[JobSpec]:
    return []


@dataclass(frozen=True)
class Stage:
    name: str
    input: type
    step: Callable[[Run, Any], Result]
    follow: Callable[[Finished, Any], list[JobSpec]]  # the jobs queued after it
    worker: Worker
    event: str | None = None  # announced when a job of it is done
    reads: Callable[[Run, Any], list[str]] = _no_files  # media fetched before it runs
    units: Callable[[Any], float] = _one_unit  # its share of its stage's progress bar
    announce: Callable[[Any], dict[str, object]] = _nothing  # added to its events
    detached: bool = False  # outside its stream's runs: runs and fails on its own

    def decode(self, payload: dict[str, Any]) -> Any:
        return decode(self.input, payload)


STAGES: dict[str, Stage] = {stage.name: stage for stage in (
    Stage("ingest", ingest.IngestInput, ingest.run, ingest.follow, INGEST,
          domain.STREAM_INGESTED, reads=ingest.reads),
    Stage("language", language.LanguageInput, language.run, language.follow, ASR,
          reads=language.reads),
    Stage("chunk", chunk.ChunkInput, chunk.run, chunk.follow, INGEST,
          domain.STREAM_CHUNKED, reads=chunk.reads),
    Stage("transcribe", transcribe.TranscribeInput, transcribe.run, score.after_chunk, ASR,
          domain.CHUNK_TRANSCRIBED, reads=transcribe.reads, units=_chunk_seconds,
          announce=_chunk_index),
    Stage("analyze", analyze.AnalyzeInput, analyze.run, score.after_chunk, VISION,
          domain.CHUNK_ANALYZED, reads=analyze.reads, units=_chunk_seconds,
          announce=_chunk_index),
    Stage("score", score.ScoreInput, score.run, score.follow, SCORING,
          domain.HIGHLIGHTS_SCORED),
    Stage("enrol", enrol.EnrolInput, enrol.run, enrol.follow, VISION),
    Stage("plan", plan.PlanInput, plan.run, plan.follow, VISION, reads=plan.reads,
          announce=_clip),
    Stage("render", render.RenderInput, render.run, render.follow, RENDER,
          domain.CLIP_RENDERED, reads=render.reads, announce=_clip),
    Stage("report", report.ReportInput, report.run, report.follow, SCORING),
    Stage("publish", publish.PublishInput, publish.run, _ends, PUBLISHER,
          announce=publish.announce, detached=True),
    Stage("live", live.LiveInput, live.run, live.follow, LIVE),
)}

# The worker kinds that have stages to run, in pipeline order.
WORKERS: dict[str, Worker] = {s.worker.name: s.worker for s in STAGES.values()}


def stage(name: str) -> Stage:
    try:
        return STAGES[name]
    except KeyError:
        raise errors.StateError(f"job stage {name}: unknown; the stages are "
                                f"{', '.join(STAGES)} (clipforge/jobs/registry.py)") from None


def worker(name: str) -> Worker:
    try:
        return WORKERS[name]
    except KeyError:
        raise errors.BadOption(f"stage {name}: use one of {', '.join(WORKERS)}") from None


def stages_of(kind: str) -> list[str]:
    """The stages a worker of KIND runs."""
    found = worker(kind)
    return [s.name for s in STAGES.values() if s.worker == found]


def enqueue(s: Session, stream: StreamRow, spec: JobSpec) -> tuple[JobRow, bool]:
    """Queue a job as its stage declares: in its stream's current run (True when an
    earlier run did it already), or detached from the stream's runs."""
    if stage(spec.stage).detached:
        return ledger.enqueue_detached(s, stream, spec), False
    return ledger.enqueue(s, stream, spec)
