"""Clip bounds: start where the setup's sentence starts, end where the reaction's ends.

Edges land on sentence bounds (or silence between words), never inside a word, and
clips stay within [min_len, max_len] whenever the stream is long enough.
"""

from __future__ import annotations

from dataclasses import dataclass

from clipforge.analysis import scripts
from clipforge.domain import Segment, Word

SENTENCE_END = scripts.SENTENCE_END  # with CJK full stops: 。！？
PAUSE = 1.0  # a silence this long ends a sentence even without punctuation
PAD_BEFORE = 0.25
PAD_AFTER = 0.35


@dataclass(frozen=True)
class Sentence:
    start: float
    end: float
    text: str


def sentences(segments: list[Segment]) -> list[Sentence]:
    """Split the transcript into sentences using punctuation and long pauses."""
    result: list[Sentence] = []
    current: list[Word] = []
    words = [w for seg in segments for w in seg.words]
    for i, word in enumerate(words):
        current.append(word)
        next_start = words[i + 1].start if i + 1 < len(words) else None
        ends = word.word.endswith(SENTENCE_END)
        paused = next_start is not None and next_start - word.end >= PAUSE
        if ends or paused or next_start is None:
            text = scripts.join_words([w.word for w in current])
            result.append(Sentence(current[0].start, current[-1].end, text))
            current = []
    return result


def clip_bounds(peak: float, spoken: list[Sentence], words: list[Word], min_len: float,
                max_len: float, duration: float, setup: float = 6.0,
                reaction: float = 5.0) -> tuple[float, float]:
    """Bounds of the clip around a peak, snapped to sentences, padded, in [0, duration]."""
    start, end = _snap(peak - setup, peak + reaction, spoken)
    start, end = _grow(start, end, spoken, min_len, max_len, peak)
    start, end = _shrink(start, end, spoken, max_len, peak, words)
    start, end = _fill_silence(start, end, min_len, duration, words)
    start, end = max(0.0, start), min(duration, end)
    return _pad(start, end, words, duration)


def _snap(want_start: float, want_end: float, spoken: list[Sentence]) -> tuple[float, float]:
    starts = [s.start for s in spoken if s.start <= want_start] or [want_start]
    start = starts[-1]
    if spoken and spoken[0].start > want_start and spoken[0].start < want_end:
        start = min(spoken[0].start, want_start)
    ends = [s.end for s in spoken if s.end >= want_end] or [want_end]
    end = ends[0]
    # The sentence holding the setup may end after the reaction; that is fine.
    end = max(end, want_end)
    return start, end


def _grow(start: float, end: float, spoken: list[Sentence], min_len: float,
          max_len: float, peak: float) -> tuple[float, float]:
    """Add whole sentences (reaction first, then setup) until the clip is long enough."""
    while end - start < min_len:
        later = [s.end for s in spoken if s.end > end and s.end - start <= max_len]
        earlier = [s.start for s in spoken if s.start < start and end - s.start <= max_len]
        after_gain = later[0] - end if later else None
        before_gain = start - earlier[-1] if earlier else None
        if after_gain is None and before_gain is None:
            break
        if before_gain is None or (after_gain is not None and after_gain <= before_gain * 1.5):
            end = later[0]
        else:
            start = earlier[-1]
    return start, end


def _shrink(start: float, end: float, spoken: list[Sentence], max_len: float, peak: float,
            words: list[Word]) -> tuple[float, float]:
    """Drop whole sentences from the side farther from the peak; cut at a word if needed."""
    while end - start > max_len:
        later_starts = [s.start for s in spoken if start < s.start < peak - 2.0]
        earlier_ends = [s.end for s in spoken if peak + 2.0 < s.end < end]
        if later_starts and (peak - start >= end - peak or not earlier_ends):
            start = later_starts[0]
        elif earlier_ends:
            end = earlier_ends[-1]
        else:
            break
    if end - start > max_len:  # one very long sentence: cut between two words
        target = start + max_len
        gaps = [w.end for w in words if start < w.end <= target and w.end > peak]
        end = gaps[-1] if gaps else target
        if end - start > max_len:
            start = end - max_len
    return start, end


def _fill_silence(start: float, end: float, min_len: float, duration: float,
                  words: list[Word]) -> tuple[float, float]:
    """Still too short (little speech around): widen into the silence either side."""
    if end - start >= min_len:
        return start, end
    missing = min_len - (end - start)
    before = [w.end for w in words if w.end <= start]
    after = [w.start for w in words if w.start >= end]
    room_before = start - (before[-1] if before else 0.0)
    room_after = (after[0] if after else duration) - end
    take_after = min(room_after, max(missing / 2, missing - room_before))
    take_before = min(room_before, missing - take_after)
    start, end = start - take_before, end + take_after
    if end - start < min_len:  # speech on both sides: prefer whole clip length over silence
        end = min(duration, start + min_len)
        start = max(0.0, end - min_len)
    return start, end


def _pad(start: float, end: float, words: list[Word], duration: float) -> tuple[float, float]:
    before = [w.end for w in words if w.end <= start + 1e-3]
    after = [w.start for w in words if w.start >= end - 1e-3]
    lo = max(before[-1] if before else 0.0, start - PAD_BEFORE, 0.0)
    hi = min(after[0] if after else duration, end + PAD_AFTER, duration)
    return round(min(lo, start), 3), round(max(hi, end), 3)
