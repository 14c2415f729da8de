"""The virtual camera of the `crop` layout: where the 9:16 window sits in each frame.

Why it is not simply "centre on the face": detections come ~2 times a second and wobble
by a few pixels, and a window that copies them looks like a shaky handheld camera. So:

* only the main person's face is followed (`main_face_track`), passers-by are ignored;
* when that face is lost, the camera holds where it was;
* a dead zone (DEAD_ZONE of the crop width either side of the window centre) absorbs
  small movements: the camera only reframes when the face leaves it;
* the window glides to its new place as a critically damped spring (no sudden start, no
  wobble around the target), with a hard speed limit;
* at a shot cut the picture changes anyway, so there (and only there) the window jumps
  straight to the person's place in the new shot; targets are never interpolated across
  a cut.

Smoothing bounds, outside shot cuts:
* hard: the window never moves more than `max_step(src_w, fps)` = MAX_SPEED * src_w / fps
  pixels from one output frame to the next, i.e. 0.4 frame widths per second: 25.6 px
  per frame for a 1920 px wide source at 30 fps (17.1 px at 1280);
* on average: the mean per-frame movement of the window is at most the mean per-frame
  movement of the followed face centre (sampled, linearly interpolated) plus
  `MEAN_SLACK` of max_step: the camera adds no jitter of its own, and the dead zone makes
  it move less than the face whenever the face wobbles in place.
The window stays inside the frame: 0 <= x <= src_w - crop_w.
"""

from __future__ import annotations

import math

import numpy as np

from clipforge.analysis.faces import main_face_track
from clipforge.domain import FaceSample, Word

DEAD_ZONE = 0.12  # of the crop width, either side of the window centre
PANE_DEAD_ZONE = 0.02  # of a followed facecam window's size
MAX_SPEED = 0.4  # source widths per second
SETTLE_TIME = 0.6  # seconds the spring takes to (nearly) reach a new position
CONTEXT = 3.0  # seconds of samples around the clip used to pick the main face
MEAN_SLACK = 0.05  # see the bound above


def max_step(src_w: int, fps: float) -> float:
    """Largest move of the window between two output frames, in source pixels."""
    return MAX_SPEED * src_w / fps


def camera_path(samples: list[FaceSample], src_w: int, src_h: int, crop_w: int,
                start: float, end: float, fps: float,
                references: list[list[float]] | None = None,
                cuts: list[float] | None = None,
                speech: list[tuple[float, float]] | None = None) -> list[float]:
    """Left x (source pixels) of the crop window for each output frame in [start, end);
    it follows the person matching `references` (else the one speaking, else the main
    face; see `main_face_track`)."""
    del src_h  # the window spans the full height; kept for the caller's symmetry
    n = max(0, math.ceil((end - start) * fps - 1e-9))
    high = float(max(0, src_w - crop_w))
    times = start + np.arange(n) / fps
    centres = _face_centres(samples, start, end, references, speech)
    if not centres:
        return [high / 2] * n
    shots = np.searchsorted(sorted(cuts or []), times, side="right")
    targets = _targets(times, shots, centres, sorted(cuts or [])) - crop_w / 2
    jumps = {i for i in range(1, n) if shots[i] != shots[i - 1]}
    return _follow(targets, high, crop_w * DEAD_ZONE, fps, max_step(src_w, fps), jumps)


def _targets(times: np.ndarray, shots: np.ndarray, centres: list[tuple[float, float]],
             cuts: list[float]) -> np.ndarray:
    """The face centre at each frame time: samples come ~2 per second and the target moves
    linearly between them, but never across a shot cut (within a shot, only its own
    samples count; a shot without any holds the last known place)."""
    t_face = np.array([t for t, _ in centres])
    x_face = np.array([x for _, x in centres])
    face_shot = np.searchsorted(cuts, t_face, side="right")
    out = np.empty(len(times))
    held = float(x_face[0])
    for shot in np.unique(shots):
        frames = shots == shot
        mine = face_shot == shot
        if mine.any():
            out[frames] = np.interp(times[frames], t_face[mine], x_face[mine])
            held = float(out[frames][-1])
        else:
            out[frames] = held
    return out


def pane_path(track: list[list[float]], start: float, end: float, fps: float,
              src_w: int, src_h: int, w: float, h: float) -> list[tuple[float, float]]:
    """Top-left (x, y) of a followed window (the stacked layout's drifting facecam) for
    each output frame in [start, end): `track` holds [t, x, y] where the face was seen;
    the window glides between them like the crop camera (a smaller dead zone: the face
    is the whole pane)."""
    n = max(0, math.ceil((end - start) * fps - 1e-9))
    times = start + np.arange(n) / fps
    t = np.array([p[0] for p in track])
    step = max_step(src_w, fps)
    xs = _follow(np.interp(times, t, [p[1] for p in track]), max(0.0, src_w - w),
                 w * PANE_DEAD_ZONE, fps, step)
    ys = _follow(np.interp(times, t, [p[2] for p in track]), max(0.0, src_h - h),
                 h * PANE_DEAD_ZONE, fps, step)
    return list(zip(xs, ys, strict=True))


def speech_spans(words: list[Word], gap: float = 0.6) -> list[tuple[float, float]]:
    """Where someone speaks: words joined across pauses shorter than `gap` seconds."""
    spans: list[tuple[float, float]] = []
    for w in sorted(words, key=lambda w: w.start):
        if spans and w.start - spans[-1][1] <= gap:
            spans[-1] = (spans[-1][0], max(spans[-1][1], w.end))
        else:
            spans.append((w.start, w.end))
    return spans


def face_presence(samples: list[FaceSample], start: float, end: float) -> float:
    """Share (0..1) of the samples in [start, end] that show at least one face."""
    inside = [s for s in samples if start <= s.t <= end]
    if not inside:
        return 0.0
    return sum(1 for s in inside if s.faces) / len(inside)


def _face_centres(samples: list[FaceSample], start: float, end: float,
                  references: list[list[float]] | None = None,
                  speech: list[tuple[float, float]] | None = None,
                  ) -> list[tuple[float, float]]:
    """(t, x) of the samples where the main person's face is seen.

    Samples a little outside the clip make the choice of main person steadier for
    short clips. Where the face is not seen the target holds or moves straight between
    sightings (`_targets`): before the first sighting the first known position is used,
    so the camera starts on the face instead of sweeping to it."""
    near = sorted((s for s in samples if start - CONTEXT <= s.t <= end + CONTEXT),
                  key=lambda s: s.t)
    track = main_face_track(near, references, speech)
    return [(t, face.cx) for t, face in track if face is not None]


def _follow(targets: np.ndarray, high: float, dead_zone: float, fps: float,
            step: float, jumps: set[int] | None = None) -> list[float]:
    """Positions that chase `targets` (desired left x per frame) smoothly; at the frames
    in `jumps` (shot cuts) the window may jump to a new place."""
    dt = 1.0 / fps
    omega = 4.0 / SETTLE_TIME  # a critically damped spring is ~98% there after 4/omega
    goal = float(np.clip(targets[0], 0.0, high)) if len(targets) else high / 2
    x, v = goal, 0.0
    path = []
    for i, target in enumerate(targets):
        if abs(target - goal) > dead_zone:
            goal = float(np.clip(target, 0.0, high))
        if jumps and i in jumps and abs(goal - x) > dead_zone:
            x, v = goal, 0.0  # a new shot: cut straight to the person
            path.append(x)
            continue
        x_new, v = _spring(x, v, goal, omega, dt)
        x_new = x + float(np.clip(x_new - x, -step, step))
        v = float(np.clip(v, -step * fps, step * fps))
        x_clamped = float(np.clip(x_new, 0.0, high))
        if x_clamped != x_new:
            v = 0.0  # stopped by the frame edge
        x = x_clamped
        path.append(x)
    return path


def _spring(x: float, v: float, goal: float, omega: float, dt: float) -> tuple[float, float]:
    """One exact step of a critically damped spring; stable for any dt."""
    d = x - goal
    decay = math.exp(-omega * dt)
    kick = (v + omega * d) * dt
    return goal + (d + kick) * decay, (v - omega * kick) * decay
