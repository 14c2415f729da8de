"""Score: fuse per-second features into a highlight score, pick peaks, set bounds.

Each feature is a robust z-score against a rolling baseline of the same stream, so a
loud streamer and a quiet one are judged alike. Only rises count (negative z is 0).
Every clip's `reasons` are the features' contributions and add up to its score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from clipforge.analysis import bounds, languages, scripts, semantics, titles
from clipforge.analysis.signals import AudioSignals, ChatSignals, estimate_chat_lag, shift_back
from clipforge.domain import Candidate, ChatMessage, FaceSample, Segment

BASELINE = 121  # seconds in the rolling baseline window (odd: centred)
Z_CAP = 5.0
PEAK_HALF_WINDOW = 2  # seconds either side of a peak: the same 5 s the peak picker smooths over
# A peak must rise this far (in the fused, smoothed score) to be a highlight at all: below
# it nothing stands out, and a stream of nothing but a steady tone ends with 0 clips.
MIN_PEAK = 1.0

DEFAULT_WEIGHTS: dict[str, float] = {
    "loudness": 1.0,
    "brightness": 0.6,
    "loud_nonspeech": 0.8,
    "pitch": 0.4,
    "speech_rate": 0.3,
    "keywords": 0.7,
    "payoff": 0.0,  # computed (and learnt by the re-ranker); not yet measured to weigh
    "chat_echo": 0.0,
    "chat_people": 1.0,
    "chat_reactions": 0.5,
    "chat_laughter": 0.2,
    "chat_newcomers": 0.2,
    "shot_cuts": 0.2,
    "faces": 0.1,
}

# Without chat, what is left has to carry the picks: the voice (loudness, pitch, pace),
# what is said, and crowd-like noise after it; hand-set on benchmarks/quality.py's streams.
NO_CHAT_WEIGHTS: dict[str, float] = {
    "loudness": 1.0,
    "brightness": 0.6,
    "loud_nonspeech": 1.0,
    "pitch": 0.8,
    "speech_rate": 0.4,
    "keywords": 1.0,
    "payoff": 0.0,
    "shot_cuts": 0.2,
    "faces": 0.1,
}
VOICED_ENOUGH = 0.3  # a second with fewer voiced frames has no pitch worth judging

HYPE_LEXICON = languages.WORDS["en"].hype


@dataclass
class Inputs:
    """Everything score needs, for a stream of `seconds` seconds."""

    seconds: int
    audio: AudioSignals
    segments: list[Segment]
    cuts: list[float] = field(default_factory=list)
    faces: list[FaceSample] = field(default_factory=list)
    chat: ChatSignals | None = None
    chat_lag: int | None = None  # known lag (s); None: estimate it from this stream
    lexicon: frozenset[str] = HYPE_LEXICON  # hype words and phrases, lower case
    setup: frozenset[str] = languages.WORDS["en"].setup  # "watch this": a payoff follows


def chat_lag(inp: Inputs, excitement: np.ndarray) -> int:
    """The chat lag to use: the known one, or estimated from this stream."""
    if inp.chat is None:
        return 0
    if inp.chat_lag is not None:
        return inp.chat_lag
    return estimate_chat_lag(inp.chat.people_or_rate(), excitement)


def robust_z(values: np.ndarray, window: int = BASELINE) -> np.ndarray:
    """(x - rolling median) / rolling MAD, positive part only, capped."""
    if len(values) == 0:
        return values
    half = window // 2
    padded = np.pad(values.astype(float), half, mode="reflect" if len(values) > half else "edge")
    windows = sliding_window_view(padded, window)[: len(values)]
    median = np.median(windows, axis=1)
    mad = np.median(np.abs(windows - median[:, None]), axis=1) * 1.4826
    floor = max(0.25 * float(np.std(values)), 1e-6)
    z = (values - median) / np.maximum(mad, floor)
    return np.clip(z, 0.0, Z_CAP)


def feature_table(inp: Inputs) -> tuple[dict[str, np.ndarray], int]:
    """Per-second z-scored features, and the chat lag (s) that was removed."""
    n = inp.seconds
    speech = _speech_coverage(inp.segments, n)
    # Loud music is not excitement: the audio features count only what is not music.
    not_music = 1.0 - (inp.audio.music if inp.audio.music is not None else np.zeros(n))
    loud_z = robust_z(inp.audio.loudness) * not_music
    table = {
        "loudness": loud_z,
        "brightness": robust_z(inp.audio.brightness) * not_music,
        "loud_nonspeech": np.minimum(loud_z, robust_z(inp.audio.flatness) + 1.0)
        * (1.0 - speech),
        "pitch": _pitch_rise(inp.audio) * not_music,
        "speech_rate": robust_z(_window_sum(_word_counts(inp.segments, n), 3) / 3),
        "keywords": np.minimum(_keyword_hits(inp.segments, n, inp.lexicon) * 1.5, Z_CAP),
        "shot_cuts": robust_z(_window_sum(_counts(inp.cuts, n), 7)),
        "faces": _face_presence(inp.faces, n),
    }
    spoken = bounds.sentences(inp.segments)
    table["payoff"] = semantics.payoff(spoken, n, inp.lexicon, inp.setup)
    lag = chat_lag(inp, loud_z + table["brightness"])
    if inp.chat is not None:
        table.update(chat_features(inp.chat, lag))
        table["chat_echo"] = semantics.chat_echo(spoken, inp.chat.messages or [], lag, n)
    return table, lag


def weights_for(weights: dict[str, float] | None, has_chat: bool) -> dict[str, float]:
    """The weights to use: the given ones, else the defaults for a stream with or
    without chat (the chat defaults given for a stream without chat mean the same)."""
    if weights is None or (not has_chat and weights == DEFAULT_WEIGHTS):
        return DEFAULT_WEIGHTS if has_chat else NO_CHAT_WEIGHTS
    return weights


def _pitch_rise(audio: AudioSignals) -> np.ndarray:
    """How far the voice's pitch rises above the streamer's own (rolling) baseline."""
    if audio.pitch is None or audio.voiced is None:
        return np.zeros(len(audio.loudness))
    voiced = audio.voiced >= VOICED_ENOUGH
    if not voiced.any():
        return np.zeros(len(audio.pitch))
    # Unvoiced seconds take the typical pitch, so silence neither rises nor falls.
    filled = np.where(voiced, audio.pitch, float(np.median(audio.pitch[voiced])))
    return robust_z(np.log(np.maximum(filled, 1.0)))


def chat_features(chat: ChatSignals, lag: int) -> dict[str, np.ndarray]:
    """Chat counted by people, moved back by the chat lag onto what they react to."""
    people = chat.people_or_rate()
    series = {"chat_people": people, "chat_reactions": chat.reactions,
              "chat_laughter": chat.laughter, "chat_newcomers": chat.newcomers}
    return {name: robust_z(_window_sum(shift_back(values, lag), 3))
            for name, values in series.items() if values is not None}


Reorder = Callable[[list[Candidate]], list[Candidate]]  # a learned preference's order


def pick(inp: Inputs, top: int, min_len: float, max_len: float,
         weights: dict[str, float] | None = None, allowed: np.ndarray | None = None,
         rerank: Reorder | None = None) -> tuple[list[Candidate], int]:
    """The top clips, best first, never overlapping; and the chat lag used.

    `allowed` (bool per second) limits where peaks may be (the cascade's windows).
    `rerank`, when given, reorders a larger pool of candidates (a learned preference).
    """
    weights = weights_for(weights, inp.chat is not None)
    table, lag = feature_table(inp)
    if inp.seconds < min_len:  # no clip fits: nothing to pick (the stream ends with 0)
        return [], lag
    contrib = {name: weights.get(name, 0.0) * z for name, z in table.items()}
    smooth = highlight_curve(contrib)
    if allowed is not None:
        smooth = np.where(allowed, smooth, -np.inf)
    pool = _candidates(inp, smooth, table, contrib, top * 3 if rerank else top,
                       min_len, max_len, lag)
    # Without a re-ranker the rank follows the reported score.
    pool = rerank(pool)[:top] if rerank is not None else sorted(pool, key=lambda c: -c.score)
    ranked = [replace(c, rank=i + 1) for i, c in enumerate(pool)]
    return ranked, lag


def highlight_curve(contrib: dict[str, np.ndarray]) -> np.ndarray:
    """The fused score per second, smoothed over 5 s: what peaks are picked from."""
    fused = np.sum(list(contrib.values()), axis=0)
    return _window_sum(fused, 5) / 5


def curve(inp: Inputs, weights: dict[str, float] | None = None) -> np.ndarray:
    """The highlight score over the whole stream, for a timeline."""
    weights = weights_for(weights, inp.chat is not None)
    table, _ = feature_table(inp)
    return highlight_curve({name: weights.get(name, 0.0) * z for name, z in table.items()})


def _candidates(inp: Inputs, smooth: np.ndarray, table: dict[str, np.ndarray],
                contrib: dict[str, np.ndarray], count: int, min_len: float,
                max_len: float, lag: int = 0) -> list[Candidate]:
    """Greedy peak picking with non-maximum suppression over whole clip spans."""
    spoken = bounds.sentences(inp.segments)
    words = [w for seg in inp.segments for w in seg.words]
    taken = np.zeros(len(smooth), bool)
    clips: list[Candidate] = []
    while len(clips) < count:
        masked = np.where(taken, -np.inf, smooth)
        peak = int(np.argmax(masked))
        if not np.isfinite(masked[peak]) or masked[peak] < MIN_PEAK:
            break
        start, end = bounds.clip_bounds(peak + 0.5, spoken, words, min_len, max_len,
                                        float(inp.seconds))
        lo, hi = int(start), min(len(taken), int(np.ceil(end)))
        if taken[lo:hi].any() or end - start < min(min_len, inp.seconds) * 0.5:
            taken[peak] = True  # this peak's clip would overlap a better one
            continue
        taken[lo:hi] = True
        reasons = _around(contrib, peak)
        clips.append(Candidate(
            rank=len(clips) + 1, start=start, end=end, peak=peak + 0.5,
            score=round(sum(reasons.values()), 3), reasons=reasons,
            title=titles.title(spoken, start, end, peak + 0.5,
                               chat_during(inp.chat, start + lag, end + lag), inp.lexicon),
            features=_around(table, peak, keep_zero=True),
        ))
    return clips


def chat_during(chat: ChatSignals | None, start: float, end: float) -> list[ChatMessage]:
    """The counted chat messages written between START and END (already lag-shifted)."""
    if chat is None or not chat.messages:
        return []
    return [m for m in chat.messages if start <= m.t < end]


def _around(series: dict[str, np.ndarray], peak: int,
            keep_zero: bool = False) -> dict[str, float]:
    """Each series' mean over the seconds around a peak, largest first."""
    lo, hi = max(0, peak - PEAK_HALF_WINDOW), peak + PEAK_HALF_WINDOW + 1
    values = {name: round(float(c[lo:hi].mean()), 3) for name, c in series.items()}
    return {name: v for name, v in sorted(values.items(), key=lambda kv: -kv[1])
            if v > 0 or keep_zero}


def _counts(times: list[float], n: int) -> np.ndarray:
    counts = np.zeros(n)
    for t in times:
        if 0 <= int(t) < n:
            counts[int(t)] += 1
    return counts


def _window_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Sum over `width` seconds centred on each second, as long as `values`: numpy's
    mode="same" would return `width` values for a stream shorter than the window."""
    lead = (width - 1) // 2
    return np.convolve(values, np.ones(width), mode="full")[lead: lead + len(values)]


def _word_counts(segments: list[Segment], n: int) -> np.ndarray:
    return _counts([w.start for s in segments for w in s.words], n)


def _speech_coverage(segments: list[Segment], n: int) -> np.ndarray:
    covered = np.zeros(n)
    for seg in segments:
        for w in seg.words:
            for second in range(int(w.start), min(n, int(np.ceil(w.end)))):
                overlap = min(w.end, second + 1) - max(w.start, second)
                covered[second] += max(0.0, overlap)
    return np.clip(covered, 0.0, 1.0)


def _keyword_hits(segments: list[Segment], n: int, lexicon: frozenset[str]) -> np.ndarray:
    hits = np.zeros(n)
    for seg in segments:
        # Whole words ("what", not "whatever"), or runs of characters in CJK text.
        found = scripts.count_terms(scripts.join_words([w.word for w in seg.words]), lexicon)
        if found and 0 <= int(seg.start) < n:
            span = slice(int(seg.start), min(n, int(np.ceil(seg.end))))
            hits[span] += found / max(1, span.stop - span.start) * 3
    return hits


def _face_presence(samples: list[FaceSample], n: int) -> np.ndarray:
    seen = np.zeros(n)
    for sample in samples:
        if sample.faces and 0 <= int(sample.t) < n:
            seen[int(sample.t)] = 1.0
    return seen
