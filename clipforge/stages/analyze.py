"""Analyze: shot cuts, faces (and who they are), the facecam overlay and where the picture
moves, for one chunk.

Frames are decoded once at `fps` and low resolution (shot cuts need every sampled frame);
faces are looked for on every n-th frame, since people move slowly compared with cuts.
Recognition needs more pixels than detection: a face 14 px wide in the 320 px analysis
frame is ~55 px in a 1280 px one, enough for a useful embedding. So, when an embedder is
given, a second decode at `recognize_width` and `recognize_fps` runs alongside, and the
faces of the samples at those times are embedded from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scenedetect.common import FrameTimecode
from scenedetect.detectors import ContentDetector

from clipforge.domain import Analysis, Chunk, Face, FaceSample, MediaInfo
from clipforge.media import ffmpeg
from clipforge.stages import facecam as facecam_stage
from clipforge.stages.faces import FaceDetector
from clipforge.stages.recognize import Embedder


@dataclass(frozen=True)
class Recognition:
    embedder: Embedder
    fps: float = 1.0
    width: int = 1280


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
    recognition: Recognition | None = None,
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
    motion = facecam_stage.Motion()
    frames = ffmpeg.decode_frames(Path(info.path), chunk.start, chunk.duration, fps, w, h)
    sharp = _Sharp(info, chunk, recognition)
    previous: np.ndarray | None = None
    for index, (t, frame) in enumerate(frames):
        motion.add(frame)
        for cut in scenes.process_frame(FrameTimecode(index, fps=fps), frame):
            cuts.append(round(chunk.start + cut.seconds, 3))
        if index % every == 0:
            found = [_scaled(f, scale) for f in detector.detect(frame)]
            found = sharp.faces(t, found, detector)
            if previous is not None:
                found = [replace(f, mouth=mouth_motion(previous, frame, _scaled(f, 1 / scale)))
                         for f in found]
            faces.append(FaceSample(t=round(t, 3), faces=found))
            if on_progress is not None:
                on_progress(t - chunk.start)
        previous = frame
    sharp.close()
    small = [FaceSample(s.t, [_scaled(f, 1 / scale) for f in s.faces]) for s in faces]
    cam = facecam_stage.find_facecam(small, motion, w, h)
    return Analysis(cuts=cuts, faces=faces,
                    facecam=facecam_stage.scaled(cam, scale) if cam else None,
                    motion=motion.grid())


MIN_MOUTH_FACE = 12  # px (analysis frame): smaller faces' mouths are a pixel or two


def mouth_motion(previous: np.ndarray, frame: np.ndarray, face: Face) -> float | None:
    """Change around the mouth minus change around the eyes between two consecutive
    frames (0.1 s apart): talking moves the mouth more than the rest of the face, a head
    turn moves both. Boxes are BlazeFace's (brows to chin)."""
    if face.w < MIN_MOUTH_FACE:
        return None

    def change(x0: float, y0: float, x1: float, y1: float) -> float:
        xs = slice(int(face.x + x0 * face.w), max(int(face.x + x1 * face.w), 1))
        ys = slice(int(face.y + y0 * face.h), max(int(face.y + y1 * face.h), 1))
        a = previous[ys, xs].astype(np.float32).mean(axis=2)
        b = frame[ys, xs].astype(np.float32).mean(axis=2)
        return float(np.abs(a - b).mean()) if a.size else 0.0

    return round(max(0.0, change(0.25, 0.62, 0.75, 0.95) - change(0.2, 0.15, 0.8, 0.45)), 3)


class _Sharp:
    """The higher-resolution frames recognition embeds faces from, read in step with
    the analysis frames (both decodes start at the chunk start, so a frame at time t
    exists in both when t is a multiple of 1/recognize_fps)."""

    def __init__(self, info: MediaInfo, chunk: Chunk, recognition: Recognition | None):
        self.recognition = recognition
        self.frames: Iterator[tuple[float, np.ndarray]] | None = None
        self.scale = 1.0
        if recognition is not None:
            w, h = analysis_size(info, recognition.width)
            self.scale = w / info.width
            self.frames = ffmpeg.decode_frames(Path(info.path), chunk.start, chunk.duration,
                                               recognition.fps, w, h)
        self.current: tuple[float, np.ndarray] | None = None

    def faces(self, t: float, found: list[Face], detector: FaceDetector) -> list[Face]:
        """At recognition times: the faces found in the sharp frame (tiled, so smaller
        faces are found too), each with its embedding; else `found` as it is."""
        frame = self._frame_at(t)
        if frame is None or self.recognition is None:
            return found
        sharp = detector.detect_tiled(frame)
        embedder = self.recognition.embedder
        return [replace(_scaled(f, 1 / self.scale), embedding=embedder.embed(frame, f))
                for f in sharp]

    def _frame_at(self, t: float) -> np.ndarray | None:
        if self.frames is None or self.recognition is None:
            return None
        half = 0.5 / self.recognition.fps
        while self.current is None or self.current[0] < t - half:
            self.current = next(self.frames, None)
            if self.current is None:
                self.frames = None
                return None
        at, frame = self.current
        return frame if abs(at - t) < 0.06 else None  # only where the times agree

    def close(self) -> None:
        close = getattr(self.frames, "close", None)  # stops the decoder early
        if close is not None:
            close()


def _scaled(face: Face, scale: float) -> Face:
    return replace(face, x=face.x * scale, y=face.y * scale, w=face.w * scale,
                   h=face.h * scale)
