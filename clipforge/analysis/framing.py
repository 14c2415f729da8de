"""Framing a clip: which layout it gets (auto picks stacked, crop or blur) and why, for
the stacked layout its panes, for the crop layout where the face sits (captions keep
off it); the crop window's size. Pure: the analyses in, regions out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from clipforge.analysis import layout as layouts
from clipforge.analysis.camera import face_presence
from clipforge.analysis.faces import main_face_track
from clipforge.domain import Analysis, Face, FaceSample, MediaInfo, Region

FOLLOW_SEEN = 0.6  # a drifting facecam is followed when its face is in this share of samples


def crop_size(info: MediaInfo, aspect: str | None = None) -> tuple[int, int]:
    """The largest window of the output's aspect (9:16 by default) that fits in the
    source frame, full height when the frame is wide enough."""
    out_w, out_h = layouts.out_size(aspect)
    height = info.height // 2 * 2
    width = int(height * out_w / out_h) // 2 * 2
    if width > info.width:
        width = info.width // 2 * 2
        height = int(width * out_h / out_w) // 2 * 2
    return width, height


def plan_layout(requested: str, info: MediaInfo, fixed: list[float] | None,
                analyses: list[Analysis], start: float, end: float,
                edited: dict[str, Any] | None = None, aspect: str | None = None,
                gameplay: list[float] | None = None) -> tuple[str, dict[str, Any] | None]:
    """The clip's layout and its regions (in the stream's media pixels): for `stacked`
    its panes; for every layout `why` (what `auto` saw); for `crop` and `blur`, `face`
    (the face's top and bottom, for the captions) and `stacked` (the panes it would
    get, for the editor's preview).

    The facecam is, in order: a person's edit of this clip, the streamer's FIXED facecam
    (fractions of the frame), the overlay found in the analysed chunks the clip overlaps,
    a drifting facecam (one face on screen, followed). The gameplay pane is a person's
    edit, else the streamer's GAMEPLAY (fractions), else the busiest part clear of it."""
    out = layouts.out_size(aspect)
    near = [a for a in analyses if _overlaps(a, start, end)]
    faces = [f for a in near for f in a.faces]
    facecam = _facecam(info, fixed, near, start, end, edited)
    landscape = info.width * out[1] > info.height * out[0]
    share = face_presence(faces, start, end)
    chosen = layouts.choose(requested, info.has_video, landscape, facecam, share,
                            aspect or layouts.DEFAULT_ASPECT)
    why = _why(requested, chosen, facecam, share, aspect)
    kept = dict(edited or {})
    panes = None
    if chosen in ("stacked", "crop", "blur") and aspect != "16:9":
        panes = _panes(info, facecam, _track(faces, start, end), _motion(near), out,
                       edited, gameplay)
    if chosen == "stacked" and panes is None:
        chosen, why = "blur", "no face to put on top"
    if chosen != "stacked":
        extra: dict[str, Any] = {"why": why}
        if chosen in ("crop", "blur"):
            extra["face"] = _face_band(faces, start, end)
        if panes is not None:  # what stacked would be: the editor's preview draws it
            extra["stacked"] = panes.to_json()
        return chosen, {**kept, **extra}
    assert panes is not None
    return "stacked", {**panes.to_json(), "edited": bool(edited), "why": why}


def _panes(info: MediaInfo, facecam: Region | None, track: list[tuple[float, Face]],
           motion: list[list[float]], out: tuple[int, int], edited: dict[str, Any] | None,
           gameplay: list[float] | None) -> layouts.Stacked | None:
    """The stacked layout's panes: over the facecam, else following the main face (None
    without one); the gameplay pane as a person or the streamer set it."""
    if facecam is None:
        if len(track) < 2:
            return None
        panes = layouts.following(track, info.width, info.height, motion, out)
    else:
        panes = layouts.stacked(facecam, info.width, info.height, motion, out,
                                _inside(track, facecam))
    game = (edited or {}).get("gameplay") or (
        layouts.from_fractions(gameplay, info.width, info.height).as_list() if gameplay
        else None)
    if game:
        top = panes.top_height
        panes = replace(panes, cover=None, gameplay=layouts.fit_aspect(
            Region(*game), out[0] / (out[1] - top), info.width, info.height))
    return panes


def _why(requested: str, chosen: str, facecam: Region | None, share: float,
         aspect: str | None) -> str:
    """What `auto` (or a layout that could not be made) went by, in the editor's words."""
    if chosen == "waveform":
        return "no picture: audio only"
    if aspect == "16:9":
        return "16:9 shows the whole frame"
    if chosen == "stacked":
        return "facecam found" if facecam is not None else "face followed on top"
    if chosen == "crop":
        return f"face on screen {share:.0%} of the clip"
    if requested == "crop":
        return "the frame is too narrow to crop"
    return "no facecam, face seen too little to crop" if requested == "auto" else "as asked"


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


def _track(faces: list[FaceSample], start: float, end: float) -> list[tuple[float, Face]]:
    """The main face where it is seen in the clip, in time order."""
    inside = sorted((s for s in faces if start <= s.t <= end), key=lambda s: s.t)
    seen = [(t, f) for t, f in main_face_track(inside) if f is not None]
    return seen if inside and len(seen) >= FOLLOW_SEEN * len(inside) else []


def _inside(track: list[tuple[float, Face]], facecam: Region) -> Face | None:
    """The median face inside the facecam region (the pane centres on it), if any."""
    boxes = [f for _, f in track if facecam.x <= f.cx <= facecam.x + facecam.w
             and facecam.y <= f.cy <= facecam.y + facecam.h]
    if not boxes:
        return None
    return Face(x=float(np.median([f.x for f in boxes])), y=float(np.median([f.y for f in boxes])),
                w=float(np.median([f.w for f in boxes])), h=float(np.median([f.h for f in boxes])),
                score=1.0)


def _face_band(faces: list[FaceSample], start: float, end: float) -> list[float] | None:
    """How high and how low the main face goes in the clip (source pixels, top and
    bottom of its box; the 10th and 90th percentiles, so one odd sample does not
    count)."""
    track = _track(faces, start, end)
    if not track:
        return None
    tops = [f.y for _, f in track]
    bottoms = [f.y + f.h for _, f in track]
    return [round(float(np.percentile(tops, 10)), 1), round(float(np.percentile(bottoms, 90)), 1)]
