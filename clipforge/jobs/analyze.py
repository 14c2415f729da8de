"""The analyze job: one chunk's shot cuts, faces (recognized against the streamer's),
facecam overlay and motion."""

from __future__ import annotations

from dataclasses import dataclass

from clipforge.analysis.analyze import Recognition, analyze
from clipforge.analysis.faces import FaceDetector
from clipforge.analysis.recognize import make_embedder
from clipforge.domain import Chunk
from clipforge.jobs.base import Result, unkeyed
from clipforge.jobs.context import Run
from clipforge.storage import artifacts


@dataclass(frozen=True)
class AnalyzeInput:
    fps: float
    face_fps: float
    width: int
    faces: list[object]  # the face backend, and the rate and width of recognition
    chunk: Chunk = unkeyed()  # its span is the job's target


def run(run: Run, inp: AnalyzeInput) -> Result:
    piece, s = inp.chunk, run.settings
    last = [0.0]

    def tick(offset: float) -> None:
        run.progress.advance("analyze", offset - last[0])
        last[0] = offset

    # One embedder per job: dlib's nets keep per-call state, so threads do not share one.
    recognition = Recognition(make_embedder(s.face_backend, s.face_model_dir),
                              s.recognize_fps, s.recognize_width)
    result = analyze(run.info, piece, FaceDetector(), inp.fps, inp.face_fps, inp.width,
                     on_progress=tick, recognition=recognition)
    run.progress.advance("analyze", piece.duration - last[0])
    path = run.artifact(".json")
    artifacts.write_json(path, artifacts.to_json(result))
    return Result(path)


def reads(run: Run, _inp: AnalyzeInput) -> list[str]:
    return [run.info.path]
