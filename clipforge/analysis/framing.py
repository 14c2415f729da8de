"""Framing a clip: which layout it gets (auto picks stacked, crop or blur) and, for the
stacked layout, its panes; the 9:16 crop window's size. Pure: the analyses in, regions
out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from clipforge.analysis import layout as layouts
from clipforge.analysis.camera import face_presence
from clipforge.analysis.faces import main_face_track
from clipforge.domain import Analysis, Face, FaceSample, MediaInfo, Region


def crop_size(info: MediaInfo) -> tuple[int, int]:
    """The largest 9:16 window that fits in the source frame."""
    height = info.height // 2 * 2
    width = int(height * 9 / 16) // 2 * 2
    return width, height


def plan_layout(requested: str, info: MediaInfo, fixed: list[float] | None,
                analyses: list[Analysis], start: float, end: float,
                edited: dict[str, Any] | None = None) -> tuple[str, dict[str, Any] | None]:
    """The clip's layout and, for `stacked`, its panes (in the stream's media pixels).

    The facecam is, in order: a person's edit of this clip, the streamer's FIXED facecam
    (fractions of the frame), the overlay found in the analysed chunks the clip overlaps."""
    near = [a for a in analyses if _overlaps(a, start, end)]
    faces = [f for a in near for f in a.faces]
    facecam = _facecam(info, fixed, near, start, end, edited)
    landscape = info.width * 16 > info.height * 9
    chosen = layouts.choose(requested, info.has_video, landscape, facecam,
                            face_presence(faces, start, end))
    if chosen != "stacked":
        return chosen, None
    if facecam is None:  # stacked asked for, no overlay: the main face and its shoulders
        face = _main_face(faces, start, end)
        if face is None:
            return "blur", None
        facecam = layouts.facecam_from_face(face.x, face.y, face.w, face.h, info.width,
                                            info.height)
    panes = layouts.stacked(facecam, info.width, info.height, _motion(near))
    if edited and edited.get("gameplay"):
        top = panes.top_height
        panes = replace(panes, gameplay=layouts.fit_aspect(
            Region(*edited["gameplay"]), layouts.OUT_W / (layouts.OUT_H - top),
            info.width, info.height))
    return "stacked", {**panes.to_json(), "edited": bool(edited)}


def _overlaps(analysis: Analysis, start: float, end: float) -> bool:
    if not analysis.faces:
        return False
    return analysis.faces[0].t <= end and analysis.faces[-1].t >= start


def _facecam(info: MediaInfo, fixed: list[float] | None, near: list[Analysis], start: float,
             end: float, edited: dict[str, Any] | None) -> Region | None:
    if edited and edited.get("facecam"):
        return Region(*edited["facecam"])
    if fixed:
        return layouts.from_fractions(fixed, info.width, info.height)
    found = [a.facecam for a in near if a.facecam is not None]
    # The chunk that saw most of the clip decides; chunks that saw no overlay vote too.
    overlap = [min(end, a.faces[-1].t) - max(start, a.faces[0].t) for a in near]
    if not found or not near:
        return None
    best = near[int(np.argmax(overlap))]
    return best.facecam


def _motion(near: list[Analysis]) -> list[list[float]]:
    grids = [np.asarray(a.motion) for a in near if a.motion]
    return np.mean(grids, axis=0).tolist() if grids else []


def _main_face(faces: list[FaceSample], start: float, end: float) -> Face | None:
    track = [f for _, f in main_face_track([s for s in faces if start <= s.t <= end])
             if f is not None]
    if not track:
        return None
    return Face(x=float(np.median([f.x for f in track])),
                y=float(np.median([f.y for f in track])),
                w=float(np.median([f.w for f in track])),
                h=float(np.median([f.h for f in track])), score=1.0)
