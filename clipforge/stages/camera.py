"""The virtual camera of the `crop` layout: where the 9:16 window sits in each frame.

Why it is not simply "centre on the face": detections come ~2 times a second and wobble
by a few pixels, and a window that copies them looks like a shaky handheld camera. So:

* only the main person's face is followed (`main_face_track`), passers-by are ignored;
* when that face is lost, the camera holds where it was;
* a dead zone (DEAD_ZONE of the crop width either side of the window centre) absorbs
  small movements: the camera only reframes when the face leaves it;
* the window glides to its new place as a critically damped spring (no sudden start, no
  wobble around the target), with a hard speed limit.

Smoothing bound: the window never moves more than `max_step(src_w, fps)` =
MAX_SPEED * src_w / fps pixels from one output frame to the next, i.e. 0.4 frame widths
per second: 25.6 px per frame for a 1920 px wide source at 30 fps (17.1 px at 1280).
"""

from __future__ import annotations

import math

import numpy as np

from clipforge.domain import FaceSample
from clipforge.stages.faces import main_face_track

DEAD_ZONE = 0.12  # of the crop width, either side of the window centre
MAX_SPEED = 0.4  # source widths per second
SETTLE_TIME = 0.6  # seconds the spring takes to (nearly) reach a new position
CONTEXT = 3.0  # seconds of samples around the clip used to pick the main face


def max_step(src_w: int, fps: float) -> float:
    """Largest move of the window between two output frames, in source pixels."""
    return MAX_SPEED * src_w / fps


def camera_path(samples: list[FaceSample], src_w: int, src_h: int, crop_w: int,
                start: float, end: float, fps: float) -> list[float]:
    """Left x (source pixels) of the crop window for each output frame in [start, end)."""
    del src_h  # the window spans the full height; kept for the caller's symmetry
    n = max(0, math.ceil((end - start) * fps - 1e-9))
    high = float(max(0, src_w - crop_w))
    times = start + np.arange(n) / fps
    centres = _face_centres(samples, start, end)
    if not centres:
        return [high / 2] * n
    t_face, x_face = zip(*centres, strict=True)
    # Samples come ~2 per second: between them the target moves linearly.
    targets = np.interp(times, t_face, x_face) - crop_w / 2
    return _follow(targets, high, crop_w * DEAD_ZONE, fps, max_step(src_w, fps))


def face_presence(samples: list[FaceSample], start: float, end: float) -> float:
    """Share (0..1) of the samples in [start, end] that show at least one face."""
    inside = [s for s in samples if start <= s.t <= end]
    if not inside:
        return 0.0
    return sum(1 for s in inside if s.faces) / len(inside)


def _face_centres(samples: list[FaceSample], start: float,
                  end: float) -> list[tuple[float, float]]:
    """(t, x) per sample: the main person's face centre, or where it was last seen.

    Samples a little outside the clip make the choice of main person steadier for
    short clips. Before the first sighting the first known position is used, so the
    camera starts on the face instead of sweeping to it."""
    near = sorted((s for s in samples if start - CONTEXT <= s.t <= end + CONTEXT),
                  key=lambda s: s.t)
    track = main_face_track(near)
    seen = [face.cx for _, face in track if face is not None]
    if not seen:
        return []
    held, centres = seen[0], []
    for t, face in track:
        held = face.cx if face is not None else held
        centres.append((t, held))
    return centres


def _follow(targets: np.ndarray, high: float, dead_zone: float, fps: float,
            step: float) -> list[float]:
    """Positions that chase `targets` (desired left x per frame) smoothly."""
    dt = 1.0 / fps
    omega = 4.0 / SETTLE_TIME  # a critically damped spring is ~98% there after 4/omega
    goal = float(np.clip(targets[0], 0.0, high)) if len(targets) else high / 2
    x, v = goal, 0.0
    path = []
    for target in targets:
        if abs(target - goal) > dead_zone:
            goal = float(np.clip(target, 0.0, high))
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
