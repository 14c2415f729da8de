"""Vision in two depths. `scan`: shot cuts and faces from the keyframes of a stretch of
stream (a frame every ~2 s, for a few per cent of a full decode): what scoring needs over
the candidate windows. `analyze`: shot cuts, faces (and who they are, and whose mouth
moves), the facecam overlay and where the picture moves, from frames at `fps`: what
framing and the camera need, over a clip.

Frames are decoded once at `fps` and low resolution (shot cuts need every sampled frame);
faces are looked for on every n-th frame, since people move slowly compared with cuts.
Recognition needs more pixels than detection: a face 14 px wide in the 320 px analysis
frame is ~55 px in a 1280 px one, enough for a useful embedding. So, when an embedder is
given, each decoded frame is made at the analysis size and, at `recognize_fps`, also at
`recognize_width` (one decode, no large frame shrunk for every small one); the faces are
found in that sharp frame and embedded from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from scenedetect.common import FrameTimecode
from scenedetect.detectors import ContentDetector

from clipforge.analysis import facecam as facecam_stage
from clipforge.analysis.faces import FaceDetector
from clipforge.analysis.recognize import Embedder
from clipforge.domain import Analysis, Chunk, Face, FaceSample, MediaInfo
from clipforge.media import ffmpeg, keyframes


@dataclass(frozen=True)
class Recognition:
    embedder: Embedder
    fps: float = 0.5
    width: int = 1280


def analysis_size(info: MediaInfo, width: int) -> tuple[int, int]:
    width = min(width, info.width) // 2 * 2
    height = round(width * info.height / info.width / 2) * 2
    return width, height


# Here faces are embedded for enrolment only (the streamer is the face seen most across
# their streams): EMBEDS_PER_STREAM spread over the stream are plenty for that, or
# EMBEDS_PER_CHUNK in a short chunk (at the settings' rate at most). Clips are recognised
# at the settings' rate when they are planned.
EMBEDS_PER_STREAM = 90
EMBEDS_PER_CHUNK = 30
CUT_CHANGE = 27.0  # mean HSV change: ContentDetector's default threshold
CUT_COLOURS = 0.6  # ... and at most this colour-histogram correlation (a new shot)


def scan(info: MediaInfo, chunk: Chunk, detector: FaceDetector, width: int = 320,
         on_progress: Callable[[float], None] | None = None,
         recognition: Recognition | None = None) -> Analysis:
    """Shot cuts and faces (some embedded, see EMBEDS_PER_STREAM) at the chunk's keyframes.

    A cut is placed at the first keyframe after it, so within a keyframe interval of
    where it is; keyframes seconds apart also differ within one moving shot, so a cut
    needs the colours to change too, not only the pixels."""
    if _blind(info):
        return Analysis(cuts=[], faces=[])
    w, h = analysis_size(info, width)
    sharp = analysis_size(info, max(recognition.width, w)) if recognition else None
    cuts: list[float] = []
    faces: list[FaceSample] = []
    previous: np.ndarray | None = None
    for t, small, frame in keyframes.sample_frames(
            Path(info.path), chunk.start, chunk.duration, (w, h), sharp=sharp,
            sharp_every=embed_every(info, chunk, recognition)):
        if previous is not None and is_cut(previous, small):
            cuts.append(round(t, 3))
        if frame is not None and recognition is not None:
            found = _recognised(frame, info.width, detector, recognition.embedder)
        else:
            found = [_scaled(f, info.width / w) for f in detector.detect(small)]
        faces.append(FaceSample(t=round(t, 3), faces=found))
        previous = small
        if on_progress is not None:
            on_progress(t - chunk.start)
    return Analysis(cuts=cuts, faces=faces)


def embed_every(info: MediaInfo, chunk: Chunk, recognition: Recognition | None) -> float:
    """Seconds between the keyframes whose faces `scan` embeds (see EMBEDS_PER_STREAM)."""
    if recognition is None:
        return np.inf
    return max(1 / recognition.fps, chunk.duration / EMBEDS_PER_CHUNK,
               info.duration / EMBEDS_PER_STREAM)


def _blind(info: MediaInfo) -> bool:
    """No picture, or too few pixels to see anything in: audio only."""
    return not info.has_video or min(info.width, info.height) < ffmpeg.MIN_FRAME_PX


def is_cut(before: np.ndarray, after: np.ndarray) -> bool:
    """Two frames of different shots: the picture (HSV, as ContentDetector measures it)
    and its colours (hue-saturation histogram) both changed."""
    a = cv2.cvtColor(before, cv2.COLOR_BGR2HSV)
    b = cv2.cvtColor(after, cv2.COLOR_BGR2HSV)
    change = float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
    if change < CUT_CHANGE:
        return False
    hists = [cv2.calcHist([x], [0, 1], None, [30, 32], [0, 180, 0, 256]) for x in (a, b)]
    return float(cv2.compareHist(hists[0], hists[1], cv2.HISTCMP_CORREL)) <= CUT_COLOURS


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
    if _blind(info):
        return Analysis(cuts=[], faces=[])
    w, h = analysis_size(info, width)
    scale = info.width / w
    scenes = ContentDetector(min_scene_len=max(1, int(fps)))
    every = max(1, round(fps / face_fps))
    # Recognition on every n-th face sample (a multiple of `every` frames).
    every_sharp = every * max(1, round(face_fps / recognition.fps)) if recognition else 0
    cuts: list[float] = []
    faces: list[FaceSample] = []
    motion = facecam_stage.Motion()
    previous: np.ndarray | None = None
    for index, (t, frame, sharp) in enumerate(
            _frames(info, chunk, fps, (w, h), recognition, every_sharp)):
        motion.add(frame)
        for cut in scenes.process_frame(FrameTimecode(index, fps=fps), frame):
            cuts.append(round(chunk.start + cut.seconds, 3))
        if index % every == 0:
            if sharp is not None and recognition is not None:
                found = _recognised(sharp, info.width, detector, recognition.embedder)
            else:
                found = [_scaled(f, scale) for f in detector.detect(frame)]
            if previous is not None:
                found = [replace(f, mouth=mouth_motion(previous, frame, _scaled(f, 1 / scale)))
                         for f in found]
            faces.append(FaceSample(t=round(t, 3), faces=found))
            if on_progress is not None:
                on_progress(t - chunk.start)
        previous = frame
    small = [FaceSample(s.t, [_scaled(f, 1 / scale) for f in s.faces]) for s in faces]
    cam = facecam_stage.find_facecam(small, motion, w, h)
    return Analysis(cuts=cuts, faces=faces,
                    facecam=facecam_stage.scaled(cam, scale) if cam else None,
                    motion=motion.grid())


def _frames(info: MediaInfo, chunk: Chunk, fps: float, size: tuple[int, int],
            recognition: Recognition | None, every_sharp: int,
            ) -> Iterator[tuple[float, np.ndarray, np.ndarray | None]]:
    """(time, analysis frame, sharp frame or None) at `fps`. With recognition the chunk
    is decoded once (in this process) and each frame made at the analysis size, and
    every `every_sharp`-th also at the recognition width (keyframes.frames_at)."""
    path = Path(info.path)
    if recognition is None:
        for t, frame in ffmpeg.decode_frames(path, chunk.start, chunk.duration, fps, *size):
            yield t, frame, None
        return
    big = analysis_size(info, max(recognition.width, size[0]))
    yield from keyframes.frames_at(path, chunk.start, chunk.duration, fps, size, big,
                                   every_sharp)


def _recognised(sharp: np.ndarray, src_w: int, detector: FaceDetector,
                embedder: Embedder) -> list[Face]:
    """Faces found in the sharp frame (tiled, so smaller faces are found too), in source
    pixels, each with its embedding."""
    scale = src_w / sharp.shape[1]
    return [replace(_scaled(f, scale), embedding=embedder.embed(sharp, f))
            for f in detector.detect_tiled(sharp)]


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


def _scaled(face: Face, scale: float) -> Face:
    return replace(face, x=face.x * scale, y=face.y * scale, w=face.w * scale,
                   h=face.h * scale)
