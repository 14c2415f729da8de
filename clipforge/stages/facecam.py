"""Facecam detection: the fixed rectangle of a webcam overlay over changing gameplay.

What gives an overlay away, in the sampled low-resolution frames of a chunk:

* a face that stays put (the main face track barely moves) and is small compared with
  the frame: a face that fills the frame is the scene itself, not an overlay;
* the overlay's border is an edge at the same place in nearly every frame, while the
  gameplay's edges move; so the rectangle's sides are the lines around the face where
  edges persist longest (`EdgeVotes`). A side with no such line is the frame's border
  (overlays sit in corners) or, failing both, a margin around the face.

`Motion` keeps where the picture changes (a coarse grid), for the gameplay pane of the
`stacked` layout.
"""

from __future__ import annotations

import cv2
import numpy as np

from clipforge.domain import Face, FaceSample, Region
from clipforge.stages.faces import main_face_track

MOTION_ROWS, MOTION_COLS = 9, 16
MIN_SEEN = 0.6  # the face is in at least this share of the samples
MAX_WANDER = 0.35  # face centre's standard deviation, in face widths
MAX_FACE_SHARE = 0.2  # face width / frame width above which the face is the scene
EDGE_PERSIST = 0.55  # share of frames with an edge at a pixel that makes it a border
LINE_COVER = 0.6  # share of a side's length that must be border for it to count
MIN_GAP = 0.35  # a side is at least this many face widths from the face box
MARGIN = (1.0, 0.9, 1.0, 1.4)  # fallback sides: left, top, right, bottom in face widths


class EdgeVotes:
    """How often each pixel is an edge, over the frames it is given."""

    def __init__(self) -> None:
        self.votes: np.ndarray | None = None
        self.frames = 0

    def add(self, frame_bgr: np.ndarray) -> None:
        grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
        edges = cv2.Canny(grey, 60, 150) > 0
        # A 1 px wobble (scaling, compression) must not split a border's votes.
        edges = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        self.votes = edges.astype(np.float32) if self.votes is None else self.votes + edges
        self.frames += 1

    def persistence(self) -> np.ndarray:
        assert self.votes is not None
        return self.votes / max(1, self.frames)


class Motion:
    """Mean absolute change between consecutive frames, pooled on a coarse grid."""

    def __init__(self) -> None:
        self.total = np.zeros((MOTION_ROWS, MOTION_COLS), np.float64)
        self.pairs = 0
        self._last: np.ndarray | None = None

    def add(self, frame_bgr: np.ndarray) -> None:
        grey = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
        if self._last is not None and self._last.shape == grey.shape:
            change = np.abs(grey - self._last)
            self.total += cv2.resize(change, (MOTION_COLS, MOTION_ROWS),
                                     interpolation=cv2.INTER_AREA)
            self.pairs += 1
        self._last = grey

    def grid(self) -> list[list[float]]:
        mean = self.total / max(1, self.pairs)
        return [[round(float(v), 3) for v in row] for row in mean]


def find_facecam(samples: list[FaceSample], persistence: np.ndarray | None,
                 width: int, height: int) -> Region | None:
    """The overlay holding the main face, in the pixels of the analysed frames (the
    samples' boxes are in those pixels too); None if the face is not an overlay."""
    face = steady_face(samples, width)
    if face is None:
        return None
    sides = _fallback_sides(face, width, height)
    if persistence is not None:
        sides = _border_sides(persistence, face, sides)
    x0, y0, x1, y1 = sides
    if (x1 - x0) * (y1 - y0) > 0.5 * width * height:
        return None  # half the frame is no overlay
    return Region(x0, y0, x1 - x0, y1 - y0)


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


def _fallback_sides(face: Face, width: int, height: int) -> tuple[float, float, float, float]:
    left, top, right, bottom = MARGIN
    return (max(0.0, face.x - left * face.w), max(0.0, face.y - top * face.w),
            min(float(width), face.x + face.w + right * face.w),
            min(float(height), face.y + face.h + bottom * face.w))


def _border_sides(persistence: np.ndarray, face: Face,
                  guess: tuple[float, float, float, float]
                  ) -> tuple[float, float, float, float]:
    """Refine each side to the persistent line around the face (twice: each pass
    measures a side's line over the span the other sides give it)."""
    h, w = persistence.shape
    border = persistence >= EDGE_PERSIST
    gap = MIN_GAP * face.w
    x0, y0, x1, y1 = guess
    for _ in range(2):
        rows = slice(int(y0), max(int(y0) + 1, int(y1)))
        cols = slice(int(x0), max(int(x0) + 1, int(x1)))
        cover_x = border[rows].mean(axis=0)  # per column, over the current rows
        cover_y = border[:, cols].mean(axis=1)  # per row, over the current columns
        x0 = _side(cover_x, range(int(face.x - gap), -1, -1), 0.0)
        x1 = _side(cover_x, range(int(face.x + face.w + gap), w), float(w))
        y0 = _side(cover_y, range(int(face.y - gap), -1, -1), 0.0)
        y1 = _side(cover_y, range(int(face.y + face.h + gap), h), float(h))
    return x0, y0, x1, y1


def _side(cover: np.ndarray, outward: range, frame_edge: float) -> float:
    """The first line (going outward from the face) that the border covers enough; the
    frame's edge if there is none."""
    for i in outward:
        if 0 <= i < len(cover) and cover[i] >= LINE_COVER:
            return float(i + 1) if frame_edge == 0.0 else float(i)
    return frame_edge


def scaled(region: Region, scale: float) -> Region:
    return Region(region.x * scale, region.y * scale, region.w * scale, region.h * scale)
