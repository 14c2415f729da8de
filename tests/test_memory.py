"""Issue 19: what touches the whole stream's audio holds a block of it, not all of it.
The stream's 16 kHz WAV is read as it is sliced (media.ffmpeg.Pcm), and the per-second
audio features are worked out BLOCK seconds at a time, with the same figures."""

from __future__ import annotations

import tracemalloc
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from clipforge.analysis import chunk, signals
from clipforge.media.ffmpeg import AUDIO_RATE, Pcm, read_wav, write_wav


def speechlike(seconds: int, seed: int = 0) -> np.ndarray:
    """A gliding tone that comes and goes, over noise, with a silent minute."""
    t = np.arange(seconds * AUDIO_RATE, dtype=np.float32) / AUDIO_RATE
    voice = 0.3 * np.sin(2 * np.pi * 180 * t * (1 + 0.1 * np.sin(t))) * (np.sin(t / 7) > 0)
    noise = 0.05 * np.random.default_rng(seed).standard_normal(len(t))
    samples = (voice + noise).astype(np.float32)
    samples[60 * AUDIO_RATE: 120 * AUDIO_RATE] = 0.0
    return samples


def wav_of(path: Path, seconds: int) -> Path:
    write_wav(path, speechlike(seconds))
    return path


def peak_mb(work: Callable[[], object]) -> float:
    """The most memory Python and numpy held at once while WORK ran."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_audio_features_hold_as_much_for_40_minutes_as_for_10(tmp_path: Path) -> None:
    peaks = {}
    for minutes in (10, 40):
        pcm = Pcm(wav_of(tmp_path / f"{minutes}.wav", minutes * 60))
        peaks[minutes] = peak_mb(lambda pcm=pcm, s=minutes * 60: signals.audio_signals(pcm, s))
    whole_40 = 40 * 60 * AUDIO_RATE * 4 / 2**20  # 40 minutes as float32: 146 MB
    assert peaks[40] < peaks[10] * 1.1 + 2, peaks
    assert peaks[40] < whole_40 * 2, peaks  # before, the whole stream several times over


def test_blocks_change_no_figure(tmp_path: Path) -> None:
    """From the file or from an array, in blocks of 600 s or of 7: the same arrays."""
    wav = wav_of(tmp_path / "a.wav", 700)
    seconds = 703  # a little past the end: silence
    whole = read_wav(wav)
    from_file = signals.audio_signals(Pcm(wav), seconds).arrays()
    from_array = signals.audio_signals(whole, seconds).arrays()
    signals.BLOCK, saved = 7, signals.BLOCK
    try:
        small_blocks = signals.audio_signals(whole, seconds).arrays()
    finally:
        signals.BLOCK = saved
    for name, values in from_file.items():
        assert values.dtype == from_array[name].dtype == small_blocks[name].dtype
        assert np.array_equal(values, from_array[name]), name
        assert np.array_equal(values, small_blocks[name]), name
    assert from_file["loudness"][-3:].max() < signals.SILENCE_DB


def test_chunks_cut_from_the_file_equal_those_cut_from_an_array(tmp_path: Path) -> None:
    wav = wav_of(tmp_path / "a.wav", 300)
    pcm, whole = Pcm(wav), read_wav(wav)
    with wave.open(str(wav), "rb") as reference:  # Python's own WAV reader
        pcm16 = np.frombuffer(reference.readframes(reference.getnframes()), "<i2")
    assert np.array_equal(whole, pcm16.astype(np.float32) / 32768.0)
    assert len(pcm) == len(whole) and np.array_equal(pcm[1234:98765], whole[1234:98765])
    spans = [(20.0, 140.0), (200.0, 300.0)]
    pieces = chunk.plan(pcm, spans, 30.0)
    assert pieces == chunk.plan(whole, spans, 30.0)
    from_file = chunk.write_chunks(pcm, pieces, tmp_path / "file")
    from_array = chunk.write_chunks(whole, pieces, tmp_path / "array")
    for a, b in zip(from_file, from_array, strict=True):
        assert Path(a.audio).read_bytes() == Path(b.audio).read_bytes()


def test_an_empty_wav_has_no_samples(tmp_path: Path) -> None:
    wav = tmp_path / "empty.wav"
    write_wav(wav, np.zeros(0, np.float32))
    assert len(Pcm(wav)) == 0 and Pcm(wav)[:].size == 0
