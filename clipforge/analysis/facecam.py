"""Facecam detection: the fixed rectangle of a webcam overlay over changing gameplay.

What gives an overlay away, in the sampled low-resolution frames of a chunk:

* a face that stays put (the main face track barely moves) and is small compared with
  the frame: a face that fills the frame is the scene itself, not an overlay;
* when the gameplay changes a lot at once (a cut, a flash, a fast turn), the whole
  picture changes except the overlay: the webcam's room stays as it was. `Motion` keeps,
  per pixel, the change over the frames where the picture changed most (`BIG_CHANGES`
  of them, each well above the chunk's median change); without such moments, the mean
  change over all frames (gameplay moves, a webcam's room does not).
* So the overlay is the rectangle grown outward from the face, side by side, for as
  long as the next line of pixels is still "calm" (changed at most CALM of the frame's
  mean at those moments). Edges of the picture stop the growth too.

Measured on the generated facecam-over-bikes stream (tests/test_vision.py): the overlay
at (230.5, 104.8)-(313.5, 172.8) in the 320x180 analysis frame grows to
(230, 105)-(312, 172), kept one pixel in from each side.
`Motion.grid()` also tells the stacked layout where the gameplay moves most.
"""

from __future__ import annotations

import heapq

import cv2
import numpy as np

from clipforge.analysis.faces import main_face_track
from clipforge.domain import Face, FaceSample, Region

MOTION_ROWS, MOTION_COLS = 9, 16
MIN_SEEN = 0.6  # the face is in at least this share of the samples
MAX_WANDER = 0.35  # face centre's standard deviation, in face widths
MAX_FACE_SHARE = 0.2  # face width / frame width above which the face is the scene
BIG_CHANGES = 12  # frames of largest change kept
BIG_FACTOR = 2.0  # ... that changed at least this many times the median frame
CALM = 0.35  # a pixel this calm (share of the mean change) can belong to the overlay
LINE_CALM = 0.75  # share of a line's pixels that must be calm for the rectangle to grow
INSET = 1  # px (analysis frame) trimmed off each side of the grown rectangle
CLOSE = 5  # px (analysis frame) of restless holes closed inside the calm area
MAX_AREA = 0.45  # an "overlay" larger than this share of the frame is not one


class Motion:
    """Per-pixel change between consecutive frames: over all of them, and over the
    frames where the picture changed most."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.pairs = 0
        self.levels: list[float] = []  # mean change of each frame
        self._big: list[tuple[float, int, np.ndarray]] = []  # a min-heap by level
        self._last: np.ndarray | None = None

    def add(self, frame_bgr: np.ndarray) -> None:
        grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
        last, self._last = self._last, grey
        if last is None or last.shape != grey.shape:
            return
        change = np.abs(grey - last)
        self.total = change if self.total is None else self.total + change
        self.pairs += 1
        level = float(change.mean())
        self.levels.append(level)
        entry = (level, self.pairs, change)
        if len(self._big) < BIG_CHANGES:
            heapq.heappush(self._big, entry)
        elif level > self._big[0][0]:
            heapq.heapreplace(self._big, entry)

    def mean(self) -> np.ndarray | None:
        return None if self.total is None else self.total / max(1, self.pairs)

    def at_big_changes(self) -> np.ndarray | None:
        """Mean change over the frames that changed far more than usual; None if none."""
        if not self.levels:
            return None
        floor = BIG_FACTOR * float(np.median(self.levels)) + 1.0
        big = [change for level, _, change in self._big if level > floor]
        return np.mean(big, axis=0) if big else None

    def grid(self) -> list[list[float]]:
        mean = self.mean()
        if mean is None:
            return []
        pooled = cv2.resize(mean, (MOTION_COLS, MOTION_ROWS), interpolation=cv2.INTER_AREA)
        return [[round(float(v), 3) for v in row] for row in pooled]


def find_facecam(samples: list[FaceSample], motion: Motion, width: int,
                 height: int) -> Region | None:
    """The overlay holding the main face, in the pixels of the analysed frames (the
    samples' boxes are in those pixels too); None if the face is not an overlay."""
    face = steady_face(samples, width)
    change = motion.at_big_changes()
    if change is None:
        change = motion.mean()
    if face is None or change is None or change.shape != (height, width):
        return None
    still = (change <= CALM * max(float(change.mean()), 1e-6)).astype(np.uint8)
    # The person in the overlay moves: close the small restless holes they leave.
    calm = cv2.morphologyEx(still, cv2.MORPH_CLOSE, np.ones((CLOSE, CLOSE), np.uint8)) > 0
    x0, y0, x1, y1 = _grow(calm, face)
    # One pixel in from each side: the border line itself often mixes in the gameplay
    # (or the overlay's frame), which would show as a stripe along the pane's edge.
    x0, y0, x1, y1 = x0 + INSET, y0 + INSET, x1 - INSET, y1 - INSET
    area = (x1 - x0) * (y1 - y0)
    if area > MAX_AREA * width * height or area < 2 * face.w * face.h:
        return None  # the whole picture is calm (or nothing is): no overlay to tell
    return Region(float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def steady_face(samples: list[FaceSample], width: int) -> Face | None:
    """The main face's median box, if it is seen in most samples, stays put and is
    small enough to be an overlay."""
    track = [f for _, f in main_face_track(samples) if f is not None]
    if not samples or len(track) < MIN_SEEN * len(samples):
        return None
    w = float(np.median([f.w for f in track]))
    cx, cy = np.array([f.cx for f in track]), np.array([f.cy for f in track])
    if max(cx.std(), cy.std()) > MAX_WANDER * w or w > MAX_FACE_SHARE * width:
        return None
    h = float(np.median([f.h for f in track]))
    return Face(x=float(np.median(cx)) - w / 2, y=float(np.median(cy)) - h / 2, w=w, h=h,
                score=1.0)


def _grow(calm: np.ndarray, face: Face) -> tuple[int, int, int, int]:
    """Grow a rectangle from the face box while the line outside each side is calm."""
    h, w = calm.shape
    x0, y0 = max(0, int(face.x)), max(0, int(face.y))
    x1, y1 = min(w, int(np.ceil(face.x + face.w))), min(h, int(np.ceil(face.y + face.h)))
    grew = True
    while grew:
        grew = False
        if x0 > 0 and calm[y0:y1, x0 - 1].mean() >= LINE_CALM:
            x0, grew = x0 - 1, True
        if x1 < w and calm[y0:y1, x1].mean() >= LINE_CALM:
            x1, grew = x1 + 1, True
        if y0 > 0 and calm[y0 - 1, x0:x1].mean() >= LINE_CALM:
            y0, grew = y0 - 1, True
        if y1 < h and calm[y1, x0:x1].mean() >= LINE_CALM:
            y1, grew = y1 + 1, True
    return x0, y0, x1, y1


def scaled(region: Region, scale: float) -> Region:
    return Region(region.x * scale, region.y * scale, region.w * scale, region.h * scale)
