"""Transcription of real speech: word error rate and word timings."""

from __future__ import annotations

import re
import wave
from pathlib import Path

from clipforge.analysis import transcribe
from clipforge.domain import Chunk

ARCTIC = Path(__file__).parent / "data" / "arctic_a0007.wav"
REFERENCE = "and you always want to see it in the superlative degree"


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = reference.split(), hypothesis.split()
    dist = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, dist[0] = dist[0], i
        for j, h in enumerate(hyp, start=1):
            prev, dist[j] = dist[j], min(dist[j] + 1, dist[j - 1] + 1, prev + (r != h))
    return dist[-1] / len(ref)


def normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


def test_arctic_transcript_is_accurate_and_timed() -> None:
    with wave.open(str(ARCTIC)) as wav:
        length = wav.getnframes() / wav.getframerate()
    chunk = Chunk(index=0, start=0.0, end=length, audio=str(ARCTIC))
    model = transcribe.load_model("tiny.en", "int8", 2)
    segments = list(transcribe.transcribe(chunk, model))
    words = [w for s in segments for w in s.words]
    hypothesis = normalise(" ".join(w.word for w in words))
    assert word_error_rate(REFERENCE, hypothesis) <= 0.2, hypothesis
    for w in words:
        assert 0.0 <= w.start <= w.end <= length + 0.05
        assert 0.0 <= w.probability <= 1.0
    assert [w.start for w in words] == sorted(w.start for w in words)


def test_chunk_offset_moves_word_times() -> None:
    with wave.open(str(ARCTIC)) as wav:
        length = wav.getnframes() / wav.getframerate()
    model = transcribe.load_model("tiny.en", "int8", 2)
    at_zero = list(transcribe.transcribe(Chunk(0, 0.0, length, str(ARCTIC)), model))
    shifted = list(transcribe.transcribe(Chunk(1, 100.0, 100.0 + length, str(ARCTIC)), model))
    assert abs(shifted[0].words[0].start - at_zero[0].words[0].start - 100.0) < 0.01


def test_word_error_rate_helper() -> None:
    assert word_error_rate("a b c d", "a b c d") == 0
    assert word_error_rate("a b c d", "a x c") == 0.5
