"""Which layout a clip gets, and the two panes of the `stacked` layout.

`stacked` is what an editor makes of a gameplay stream with a webcam overlay: the facecam
on top, the busiest part of the gameplay below, each cropped to its pane's aspect ratio
(never stretched) and scaled to fill it. The top pane is centred on the face, not on the
overlay (whose lower half is shoulders). A facecam that drifts (no fixed overlay was
found, but one face stays on screen) is followed: the top pane's window moves with the
face (`track`), and the gameplay window is chosen clear of every place the overlay
passes through in the clip, smaller if it must (down to half the height); only when no
such window exists is the overlay's path covered in the gameplay pane (`cover`).
Regions are in source pixels.

Output sizes: 9:16 (1080x1920, the default), 1:1 (1080x1080) and 16:9 (1920x1080). A
16:9 clip shows the whole frame (`blur` fits it; for a landscape stream it fills it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clipforge.domain import Face, Region

OUT_W, OUT_H = 1080, 1920
ASPECTS = {"9:16": (1080, 1920), "1:1": (1080, 1080), "16:9": (1920, 1080)}
DEFAULT_ASPECT = "9:16"
TOP_MIN, TOP_MAX = 640, 900  # facecam pane height at 1920: at least a third, under half
LAYOUTS = ("auto", "crop", "blur", "stacked")
FACE_SHARE_FOR_CROP = 0.6  # `auto` crops on the face when it is seen this much of the clip
FACE_ROOM = 2.4  # a followed facecam's window is this many face heights high ...
ROOM_ASPECT = 1.25  # ... and this wide for its height (head and shoulders, not the room)
SCALES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)  # gameplay window sizes tried, largest first


def out_size(aspect: str | None) -> tuple[int, int]:
    """Output width and height of an aspect ratio (empty or unknown: 9:16)."""
    return ASPECTS.get(aspect or DEFAULT_ASPECT, ASPECTS[DEFAULT_ASPECT])


@dataclass(frozen=True)
class Stacked:
    facecam: Region  # what goes on top (already at the top pane's aspect)
    gameplay: Region  # what goes below
    top_height: int  # output pixels of the top pane
    # A drifting facecam: [t, x, y] of the top pane's window at each face sample.
    track: list[list[float]] | None = None
    # Where the facecam passes through the gameplay window, when it could not be left out.
    cover: Region | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"facecam": self.facecam.as_list(),
                               "gameplay": self.gameplay.as_list(),
                               "top_height": self.top_height}
        if self.track:
            out["track"] = self.track
        if self.cover is not None:
            out["cover"] = self.cover.as_list()
        return out


def choose(requested: str, has_video: bool, landscape: bool, facecam: Region | None,
           face_share: float, aspect: str = DEFAULT_ASPECT) -> str:
    """`auto`: stacked over a facecam, crop when a face is the scene, else blur. An
    explicit layout is kept where it can be made (crop needs a frame wider than the
    output). A 16:9 clip is the whole frame, whatever was asked."""
    if not has_video:
        return "waveform"
    if aspect == "16:9":
        return "blur"
    if requested in ("blur", "stacked"):
        return requested
    if requested == "crop":
        return "crop" if landscape else "blur"
    if facecam is not None:
        return "stacked"
    return "crop" if landscape and face_share >= FACE_SHARE_FOR_CROP else "blur"


def top_height(facecam: Region, out: tuple[int, int] = (OUT_W, OUT_H)) -> int:
    """The facecam pane's height: the overlay's own shape at full width, within bounds
    (a third to under half of the output's height)."""
    out_w, out_h = out
    natural = out_w * facecam.h / max(facecam.w, 1.0)
    low, high = TOP_MIN * out_h / OUT_H, TOP_MAX * out_h / OUT_H
    return int(np.clip(round(natural / 2) * 2, low // 2 * 2, high // 2 * 2))


def stacked(facecam: Region, src_w: int, src_h: int, motion: list[list[float]],
            out: tuple[int, int] = (OUT_W, OUT_H), face: Face | None = None) -> Stacked:
    """Both panes for a fixed facecam: the overlay trimmed to the top pane's aspect,
    centred on the face in it (else on its centre), and the gameplay window of the
    bottom pane's aspect where the picture moves most, clear of the overlay."""
    top = top_height(facecam, out)
    centre = (face.cx, face.cy) if face is not None else None
    cam = fit_aspect(facecam, out[0] / top, src_w, src_h, centre)
    game, cover = clear_window(out[0] / (out[1] - top), src_w, src_h, motion, [facecam])
    return Stacked(facecam=cam, gameplay=game, top_height=top, cover=cover)


def following(track: list[tuple[float, Face]], src_w: int, src_h: int,
              motion: list[list[float]], out: tuple[int, int] = (OUT_W, OUT_H)) -> Stacked:
    """Both panes for a facecam that drifts (`track`: the main face where it was seen, in
    time order): a head-and-shoulders window centred on the face at each sample, and the
    gameplay window clear of every place the overlay around the face went."""
    out_w, out_h = out
    low, high = TOP_MIN * out_h / OUT_H, TOP_MAX * out_h / OUT_H
    top = int(np.clip(round(out_w / ROOM_ASPECT / 2) * 2, low // 2 * 2, high // 2 * 2))
    face_h = float(np.median([f.h for _, f in track]))
    h = _even(min(src_h, FACE_ROOM * face_h))
    w = _even(min(src_w, h * out_w / top))
    h = _even(min(h, w * top / out_w))
    path = [[round(t, 3), float(np.clip(round(f.cx - w / 2), 0, src_w - w)),
             float(np.clip(round(f.cy - h / 2), 0, src_h - h))] for t, f in track]
    mid = path[len(path) // 2]
    overlays = [overlay_around(f, src_w, src_h) for _, f in track]
    game, cover = clear_window(out_w / (out_h - top), src_w, src_h, motion, overlays)
    return Stacked(facecam=Region(mid[1], mid[2], w, h), gameplay=game, top_height=top,
                   track=path, cover=cover)


def overlay_around(face: Face, src_w: int, src_h: int) -> Region:
    """Where a webcam overlay around a face reaches, generously: two face widths either
    side, 1.6 above and 1.8 below (chin, shoulders, the overlay's frame)."""
    x0, y0 = max(0.0, face.cx - 2.0 * face.w), max(0.0, face.cy - 1.6 * face.w)
    x1, y1 = min(float(src_w), face.cx + 2.0 * face.w), min(float(src_h), face.cy + 1.8 * face.w)
    return Region(x0, y0, x1 - x0, y1 - y0)


def fit_aspect(region: Region, aspect: float, src_w: int, src_h: int,
               centre: tuple[float, float] | None = None) -> Region:
    """The largest rectangle of `aspect` (w/h) inside `region` (cropped, never
    stretched), centred on `centre` (a face) as far as the region allows, else on the
    region's centre; a region too thin for that grows about its centre instead, within
    the frame."""
    w, h = region.w, region.h
    if w / max(h, 1.0) > aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = centre or (region.x + region.w / 2, region.y + region.h / 2)
    w, h = _even(min(w, src_w)), _even(min(h, src_h))
    x = _within(cx - w / 2, region.x, region.x + region.w - w, src_w - w)
    y = _within(cy - h / 2, region.y, region.y + region.h - h, src_h - h)
    return Region(round(x), round(y), w, h)


def _within(v: float, low: float, high: float, frame_high: float) -> float:
    """v kept in [low, high] (the region) when that range exists, and in the frame."""
    if high >= low:
        v = min(max(v, low), high)
    return float(np.clip(v, 0, max(frame_high, 0)))


def clear_window(aspect: float, src_w: int, src_h: int, motion: list[list[float]],
                 avoid: list[Region]) -> tuple[Region, Region | None]:
    """The gameplay window: the largest of `aspect` (down to half size) that overlaps
    none of `avoid`, where the picture moves most; if none does, the busiest full-size
    one, with the part of it the overlays pass through (to cover)."""
    grid = np.asarray(motion, dtype=np.float64) if motion else np.ones((9, 16))
    full_w, full_h = _largest(aspect, src_w, src_h)
    for scale in SCALES:
        w, h = _even(full_w * scale), _even(full_h * scale)
        best: tuple[float, float, float] | None = None
        for x in np.linspace(0, src_w - w, 33):
            for y in np.linspace(0, src_h - h, 17 if h < src_h else 1):
                window = Region(float(x), float(y), w, h)
                if any(_overlap(window, box) for box in avoid):
                    continue
                mass = _mass(grid, window, src_w, src_h)
                if best is None or mass > best[0]:
                    best = (mass, float(x), float(y))
        if best is not None:
            return Region(round(best[1]), round(best[2]), w, h), None
    union = _union(avoid)
    game = busiest_window(aspect, src_w, src_h, motion, union)
    return game, _intersection(game, union)


def _largest(aspect: float, src_w: int, src_h: int) -> tuple[float, float]:
    h = float(src_h)
    w = h * aspect
    if w > src_w:
        w, h = float(src_w), src_w / aspect
    return _even(w), _even(h)


def _mass(grid: np.ndarray, window: Region, src_w: int, src_h: int) -> float:
    """Motion inside the window; ties (a still picture) go to the middle of the frame."""
    rows, cols = grid.shape
    c0, c1 = int(round(window.x / src_w * cols)), int(round((window.x + window.w) / src_w * cols))
    r0, r1 = int(round(window.y / src_h * rows)), int(round((window.y + window.h) / src_h * rows))
    mass = float(grid[r0:max(r1, r0 + 1), c0:max(c1, c0 + 1)].sum())
    return mass - 1e-6 * abs(window.x + window.w / 2 - src_w / 2)


def _overlap(a: Region, b: Region) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def _union(boxes: list[Region]) -> Region | None:
    if not boxes:
        return None
    x0, y0 = min(b.x for b in boxes), min(b.y for b in boxes)
    x1, y1 = max(b.x + b.w for b in boxes), max(b.y + b.h for b in boxes)
    return Region(x0, y0, x1 - x0, y1 - y0)


def _intersection(a: Region, b: Region | None) -> Region | None:
    if b is None or not _overlap(a, b):
        return None
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    return Region(x0, y0, x1 - x0, y1 - y0)


def busiest_window(aspect: float, src_w: int, src_h: int, motion: list[list[float]],
                   avoid: Region | None) -> Region:
    """The largest window of `aspect` in the frame, slid to where the motion grid adds up
    to most, counting the overlay's cells as empty (so the window leaves it out when it
    can)."""
    w, h = _largest(aspect, src_w, src_h)
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
            mass = _mass(grid, Region(float(x), float(y), w, h), src_w, src_h)
            if mass > best:
                best, best_x, best_y = mass, float(x), float(y)
    return Region(round(best_x), round(best_y), w, h)


def from_fractions(values: list[float], src_w: int, src_h: int) -> Region:
    """A region given as fractions of the frame (x, y, w, h in 0..1)."""
    x, y, w, h = values
    return Region(x * src_w, y * src_h, w * src_w, h * src_h)


def _even(v: float) -> float:
    return float(max(2, int(v) // 2 * 2))
