"""The analyze job: one chunk's shot cuts and faces (embedded, to be recognized against the
streamer's), from its keyframes: what scoring and enrolment need. Clips are analysed
frame by frame when they are planned (the plan job)."""

from __future__ import annotations

from dataclasses import dataclass

from clipforge.analysis.analyze import Recognition, scan
from clipforge.analysis.faces import FaceDetector
from clipforge.analysis.recognize import make_embedder
from clipforge.config import Settings
from clipforge.domain import Chunk
from clipforge.jobs.base import Result, unkeyed
from clipforge.jobs.context import Run
from clipforge.storage import artifacts


@dataclass(frozen=True)
class AnalyzeInput:
    width: int
    faces: list[object]  # the face backend, and the rate and width of recognition
    chunk: Chunk = unkeyed()  # its span is the job's target


def run(run: Run, inp: AnalyzeInput) -> Result:
    piece = inp.chunk
    last = [0.0]

    def tick(offset: float) -> None:
        run.progress.advance("analyze", offset - last[0])
        last[0] = offset

    result = scan(run.info, piece, FaceDetector(), inp.width, on_progress=tick,
                  recognition=recognition(run))
    run.progress.advance("analyze", piece.duration - last[0])
    path = run.artifact(".json")
    artifacts.write_json(path, artifacts.to_json(result))
    return Result(path)


def recognition(run: Run) -> Recognition:
    """The settings' face recognition, with an embedder of its own: dlib's nets keep
    per-call state, so threads do not share one."""
    s = run.settings
    return Recognition(make_embedder(s.face_backend, s.face_model_dir), s.recognize_fps,
                       s.recognize_width)


def recognition_settings(s: Settings) -> list[object]:
    """What `recognition` depends on, for the keys of the jobs that recognise faces."""
    return [s.face_backend, s.recognize_fps, s.recognize_width]


def reads(run: Run, _inp: AnalyzeInput) -> list[str]:
    return [run.info.path]
