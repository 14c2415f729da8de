"""Moments of a live stream, found as it goes: where the cheap highlight curve rises
above `score.MIN_PEAK`, confirmed once the reaction is over (the curve has stayed below
half of that for `settle` seconds), or once it has lasted a whole longest clip.

Pure: per-second arrays in, stream seconds out. The caller (services/live.py) keeps a
rolling history of the per-second features and asks after every new segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clipforge.analysis import score
from clipforge.analysis.signals import AudioSignals, ChatSignals

QUIET = score.MIN_PEAK / 2  # below this the reaction is over


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
              longest: float) -> Moment | None:
    """The first moment after stream second AFTER whose reaction is over, or None yet.

    SMOOTH is the curve per second from stream second FIRST up to now. A moment still
    rising or ringing at the live edge waits, unless it has lasted LONGEST seconds (a
    clip cannot hold more): then it is taken as it is."""
    n = len(smooth)
    begin = max(0, int(np.ceil(after)) - first)
    above = np.flatnonzero(smooth[begin:] >= score.MIN_PEAK)
    if len(above) == 0:
        return None
    rise = begin + int(above[0])
    quiet = np.flatnonzero(smooth[rise:] < QUIET)
    # The burst ends at the first second after which it stays quiet for `settle` s.
    fall = None
    for q in quiet:
        lo = rise + int(q)
        if lo + settle <= n and (smooth[lo: lo + settle] < QUIET).all():
            fall = lo
            break
    if fall is None:
        if n - rise < longest:
            return None
        fall = n
    peak = rise + int(np.argmax(smooth[rise:fall]))
    return Moment(peak=float(first + peak) + 0.5, score=round(float(smooth[peak]), 3),
                  start=float(first + rise), end=float(first + fall))
