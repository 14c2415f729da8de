"""The transcribe job: one chunk's speech as segments with word timings."""

from __future__ import annotations

from dataclasses import dataclass

from clipforge.analysis import transcribe
from clipforge.domain import Chunk, Segment
from clipforge.jobs.base import Result, unkeyed
from clipforge.jobs.context import Run
from clipforge.storage import artifacts


@dataclass(frozen=True)
class TranscribeInput:
    model: str
    language: str
    chunk: Chunk = unkeyed()  # its span is the job's target


def run(run: Run, inp: TranscribeInput) -> Result:
    piece = inp.chunk
    assert run.transcriber is not None, "the pool gives every run its speech model"
    done = piece.start
    segments: list[Segment] = []
    for seg in transcribe.transcribe(piece, run.transcriber(inp.model),
                                     inp.language):
        segments.append(seg)
        run.progress.advance("transcribe", max(0.0, seg.end - done))
        done = max(done, seg.end)
    run.progress.advance("transcribe", max(0.0, piece.end - done))
    path = run.artifact(".json")
    artifacts.write_json(path, artifacts.to_json(segments))
    return Result(path)


def reads(_run: Run, inp: TranscribeInput) -> list[str]:
    return [inp.chunk.audio]
