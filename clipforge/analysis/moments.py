"""Moments of a live stream, found as it goes: where the cheap highlight curve rises
above `score.MIN_PEAK`, confirmed once the reaction is over (the curve has stayed below
half of that for `settle` seconds), or once it has lasted a whole longest clip.

Pure: per-second arrays in, stream seconds out. The caller (jobs/live.py) keeps a
rolling history of the per-second features and asks after every new segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipforge.analysis import score
from clipforge.analysis.signals import AudioSignals, ChatSignals

QUIET = score.MIN_PEAK / 2  # below this the reaction is over
# A live moment must peak twice as high as a VOD's pick may: a VOD keeps its top N
# peaks, a live run keeps every moment it confirms, so the weak ones must not pass. On
# the generated streams (tools/synth.py) planted highlights peak at 3 to 16, decoys
# (music, a spam burst) at 1.2 to 1.6.
LIVE_MIN_PEAK = 2.0 * score.MIN_PEAK
FALL_SHARE = 0.25  # of a burst's peak: below it (for `settle` s) the reaction is over


@dataclass(frozen=True)
class Moment:
    peak: float  # stream seconds
    score: float  # the cheap curve's value at the peak
    start: float  # where the curve first rose above MIN_PEAK
    end: float  # where it fell back below QUIET


def cheap_curve(audio: AudioSignals, chat: ChatSignals | None, seconds: int,
                weights: dict[str, float], chat_lag: int | None) -> np.ndarray:
    """The highlight score per second from audio and chat alone (the cascade's cheap
    score): what a live stream is watched with before anything is transcribed."""
    cheap = score.Inputs(seconds=seconds, audio=audio, segments=[], chat=chat,
                         chat_lag=chat_lag)
    return score.curve(cheap, weights)


def confirmed(smooth: np.ndarray, first: int, after: float, settle: int,
              longest: float, bar: float = LIVE_MIN_PEAK) -> Moment | None:
    """The first moment after stream second AFTER whose reaction is over, or None yet.

    SMOOTH is the curve per second from stream second FIRST up to now. A burst is where
    the curve rises above MIN_PEAK until it stays below QUIET for SETTLE seconds; it is a
    moment if it peaks at BAR or more. A burst still rising or ringing at the live edge
    waits, unless it has lasted LONGEST seconds (a clip cannot hold more): then it is
    taken as it is."""
    n = len(smooth)
    begin = max(0, int(np.ceil(after)) - first)
    while begin < n:
        above = np.flatnonzero(smooth[begin:] >= score.MIN_PEAK)
        if len(above) == 0:
            return None
        rise = begin + int(above[0])
        fall = _fall(smooth, rise, settle)
        if fall is None:
            if n - rise < longest:
                return None
            fall = n
        peak = rise + int(np.argmax(smooth[rise:fall]))
        if smooth[peak] >= bar:
            return Moment(peak=float(first + peak) + 0.5, score=round(float(smooth[peak]), 3),
                          start=float(first + rise), end=float(first + fall))
        begin = fall
    return None


def _fall(smooth: np.ndarray, rise: int, settle: int) -> int | None:
    """The first second after RISE from which the curve stays SETTLE seconds below
    QUIET, or below FALL_SHARE of the burst's peak so far: chat's tail keeps a big
    reaction's score up long after it is over, and waiting for it delays the clip."""
    n = len(smooth)
    top = np.maximum.accumulate(smooth[rise:])
    for lo in range(rise + 1, n - settle + 1):
        level = max(QUIET, FALL_SHARE * float(top[lo - rise - 1]))
        if (smooth[lo: lo + settle] < level).all():
            return lo
    return None
