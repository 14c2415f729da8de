"""The cascade: cheap signals over the whole stream choose where the expensive ones run.

Audio features and chat cost next to nothing per hour of stream; transcription and vision
cost a lot. A first score from the cheap features alone picks more candidate peaks than
clips wanted, and only windows around them (wide enough to hold a whole clip and its
sentence bounds) are transcribed and analysed. Cost then grows with the number of
highlights, not with the length of the stream.
"""

from __future__ import annotations

import numpy as np

from clipforge.analysis import score
from clipforge.analysis.signals import AudioSignals, ChatSignals

CANDIDATES_PER_CLIP = 3
MIN_CANDIDATES = 8
MARGIN = 5.0  # seconds beyond a clip's longest reach, for sentence bounds


def windows(audio: AudioSignals, chat: ChatSignals | None, seconds: int, top: int,
            max_len: float, weights: dict[str, float], chat_lag: int | None = None,
            ) -> list[tuple[float, float]]:
    """Merged (start, end) spans around the most promising peaks of the cheap score."""
    cheap = score.Inputs(seconds=seconds, audio=audio, segments=[], chat=chat,
                         chat_lag=chat_lag)
    table, _lag = score.feature_table(cheap)
    smooth = score.highlight_curve({name: weights.get(name, 0.0) * z
                                    for name, z in table.items()})
    reach = max_len + MARGIN
    spans: list[tuple[float, float]] = []
    taken = np.zeros(seconds, bool)
    for _ in range(max(MIN_CANDIDATES, CANDIDATES_PER_CLIP * top)):
        masked = np.where(taken, -np.inf, smooth)
        peak = int(np.argmax(masked))
        if not np.isfinite(masked[peak]) or masked[peak] <= 0:
            break
        # Peaks closer than half a clip would share a clip: one window serves both.
        taken[max(0, int(peak - max_len / 2)): int(peak + max_len / 2) + 1] = True
        spans.append((max(0.0, peak - reach), min(float(seconds), peak + 1 + reach)))
    # Nothing stands out in the cheap signals (say, all of them switched off): look at
    # everything rather than at nothing.
    return merge(spans) or [(0.0, float(seconds))]


def merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def mask(spans: list[tuple[float, float]], seconds: int, inset: float = 0.0) -> np.ndarray:
    """Per-second bool: True inside the spans (shrunk by `inset` each side)."""
    allowed = np.zeros(seconds, bool)
    for start, end in spans:
        allowed[int(np.ceil(start + inset)): int(end - inset)] = True
    return allowed
