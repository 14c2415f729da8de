"""Analyze: shot cuts and faces for one chunk, from a single low-resolution decode.

Frames are decoded once at `fps` (shot cuts need every sampled frame); faces are looked
for on every n-th frame, since people move slowly compared with cuts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scenedetect.common import FrameTimecode
from scenedetect.detectors import ContentDetector

from clipforge.domain import Analysis, Chunk, Face, FaceSample, MediaInfo
from clipforge.media import ffmpeg
from clipforge.stages.faces import FaceDetector


def analysis_size(info: MediaInfo, width: int) -> tuple[int, int]:
    width = min(width, info.width) // 2 * 2
    height = round(width * info.height / info.width / 2) * 2
    return width, height


def analyze(
    info: MediaInfo,
    chunk: Chunk,
    detector: FaceDetector,
    fps: float = 10.0,
    face_fps: float = 2.0,
    width: int = 320,
    on_progress: Callable[[float], None] | None = None,
) -> Analysis:
    """Shot cut times and face samples (boxes in source pixels) within the chunk."""
    if not info.has_video:
        return Analysis(cuts=[], faces=[])
    w, h = analysis_size(info, width)
    scale = info.width / w
    scenes = ContentDetector(min_scene_len=max(1, int(fps)))
    every = max(1, round(fps / face_fps))
    cuts: list[float] = []
    faces: list[FaceSample] = []
    frames = ffmpeg.decode_frames(Path(info.path), chunk.start, chunk.duration, fps, w, h)
    for index, (t, frame) in enumerate(frames):
        for cut in scenes.process_frame(FrameTimecode(index, fps=fps), frame):
            cuts.append(round(chunk.start + cut.seconds, 3))
        if index % every == 0:
            found = [_scaled(f, scale) for f in detector.detect(frame)]
            faces.append(FaceSample(t=round(t, 3), faces=found))
            if on_progress is not None:
                on_progress(t - chunk.start)
    return Analysis(cuts=cuts, faces=faces)


def _scaled(face: Face, scale: float) -> Face:
    return Face(x=face.x * scale, y=face.y * scale, w=face.w * scale, h=face.h * scale,
                score=face.score)
