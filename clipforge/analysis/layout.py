"""Which layout a clip gets, and the two panes of the `stacked` layout.

`stacked` is what an editor makes of a gameplay stream with a webcam overlay: the facecam
on top, the busiest part of the gameplay below, each cropped to its pane's aspect ratio
(never stretched) and scaled to fill it. Panes are fixed for the whole clip; regions are
in source pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipforge.domain import Region

OUT_W, OUT_H = 1080, 1920
TOP_MIN, TOP_MAX = 640, 900  # facecam pane height: at least a third, under half
LAYOUTS = ("auto", "crop", "blur", "stacked")
FACE_SHARE_FOR_CROP = 0.6  # `auto` crops on the face when it is seen this much of the clip


@dataclass(frozen=True)
class Stacked:
    facecam: Region  # what goes on top (already at the top pane's aspect)
    gameplay: Region  # what goes below
    top_height: int  # output pixels of the top pane

    def to_json(self) -> dict[str, list[float] | int]:
        return {"facecam": self.facecam.as_list(), "gameplay": self.gameplay.as_list(),
                "top_height": self.top_height}


def choose(requested: str, has_video: bool, landscape: bool, facecam: Region | None,
           face_share: float) -> str:
    """`auto`: stacked over a facecam, crop when a face is the scene, else blur. An
    explicit layout is kept where it can be made (crop needs a landscape frame)."""
    if not has_video:
        return "waveform"
    if requested in ("blur", "stacked"):
        return requested
    if requested == "crop":
        return "crop" if landscape else "blur"
    if facecam is not None:
        return "stacked"
    return "crop" if landscape and face_share >= FACE_SHARE_FOR_CROP else "blur"


def top_height(facecam: Region) -> int:
    """The facecam pane's height: the overlay's own shape at full width, within bounds."""
    natural = OUT_W * facecam.h / max(facecam.w, 1.0)
    return int(np.clip(round(natural / 2) * 2, TOP_MIN, TOP_MAX))


def stacked(facecam: Region, src_w: int, src_h: int, motion: list[list[float]]) -> Stacked:
    """Both panes for a facecam: the overlay trimmed to the top pane's aspect (about its
    centre), and the gameplay window of the bottom pane's aspect where the picture moves
    most, outside the overlay."""
    top = top_height(facecam)
    cam = fit_aspect(facecam, OUT_W / top, src_w, src_h)
    game = busiest_window(OUT_W / (OUT_H - top), src_w, src_h, motion, facecam)
    return Stacked(facecam=cam, gameplay=game, top_height=top)


def fit_aspect(region: Region, aspect: float, src_w: int, src_h: int) -> Region:
    """The largest rectangle of `aspect` (w/h) inside `region`, centred on it (cropped,
    never stretched); a region too thin for that grows about its centre instead, within
    the frame."""
    w, h = region.w, region.h
    if w / max(h, 1.0) > aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = region.x + region.w / 2, region.y + region.h / 2
    w, h = _even(min(w, src_w)), _even(min(h, src_h))
    x = float(np.clip(cx - w / 2, 0, src_w - w))
    y = float(np.clip(cy - h / 2, 0, src_h - h))
    return Region(round(x), round(y), w, h)


def busiest_window(aspect: float, src_w: int, src_h: int, motion: list[list[float]],
                   avoid: Region | None) -> Region:
    """The largest window of `aspect` in the frame, slid to where the motion grid adds up
    to most, counting the overlay's cells as empty (so the window leaves it out when it
    can)."""
    h = float(src_h)
    w = h * aspect
    if w > src_w:
        w, h = float(src_w), src_w / aspect
    w, h = _even(w), _even(h)
    grid = np.asarray(motion, dtype=np.float64) if motion else np.ones((9, 16))
    rows, cols = grid.shape
    if avoid is not None:
        grid = grid.copy()
        r0, r1 = int(avoid.y / src_h * rows), int(np.ceil((avoid.y + avoid.h) / src_h * rows))
        c0, c1 = int(avoid.x / src_w * cols), int(np.ceil((avoid.x + avoid.w) / src_w * cols))
        grid[r0:r1, c0:c1] = -grid.mean() - 1.0
    best, best_x, best_y = -np.inf, 0.0, 0.0
    for x in np.linspace(0, src_w - w, 33):
        for y in np.linspace(0, src_h - h, 9 if h < src_h else 1):
            c0, c1 = int(round(x / src_w * cols)), int(round((x + w) / src_w * cols))
            r0, r1 = int(round(y / src_h * rows)), int(round((y + h) / src_h * rows))
            mass = grid[r0:max(r1, r0 + 1), c0:max(c1, c0 + 1)].sum()
            # Ties (a still picture): prefer the middle of the frame.
            mass -= 1e-6 * abs(x + w / 2 - src_w / 2)
            if mass > best:
                best, best_x, best_y = mass, float(x), float(y)
    return Region(round(best_x), round(best_y), w, h)


def facecam_from_face(face_x: float, face_y: float, face_w: float, face_h: float,
                      src_w: int, src_h: int) -> Region:
    """A facecam region around a face, when `stacked` is asked for but no overlay was
    found: the face with room for the shoulders."""
    x0, y0 = max(0.0, face_x - face_w), max(0.0, face_y - 0.9 * face_w)
    x1 = min(float(src_w), face_x + 2 * face_w)
    y1 = min(float(src_h), face_y + face_h + 1.4 * face_w)
    return Region(x0, y0, x1 - x0, y1 - y0)


def from_fractions(values: list[float], src_w: int, src_h: int) -> Region:
    """A region given as fractions of the frame (x, y, w, h in 0..1)."""
    x, y, w, h = values
    return Region(x * src_w, y * src_h, w * src_w, h * src_h)


def _even(v: float) -> float:
    return float(max(2, int(v) // 2 * 2))
