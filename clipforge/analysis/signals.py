"""Signals: cheap per-second features over the whole stream (audio and chat).

Audio features come straight from the 16 kHz samples with numpy (far faster than
realtime): loudness, spectral brightness (excited voices and cheers are brighter) and
spectral flatness (crowd noise and laughter are noise-like, speech is tonal).
Chat signals (counted by people) are in chatsignals.py and re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from clipforge.analysis import voice
from clipforge.analysis.chatsignals import DEFAULT_EMOTES, ChatSignals, chat_signals
from clipforge.media.ffmpeg import AUDIO_RATE, Samples

FFT_SIZE = 512
SILENCE_DB = -70.0
BLOCK = 600  # seconds of audio in memory at a time

__all__ = ["DEFAULT_EMOTES", "AudioSignals", "ChatSignals", "audio_signals", "chat_signals",
           "estimate_chat_lag", "shift_back"]


@dataclass
class AudioSignals:
    loudness: np.ndarray  # dBFS per second
    brightness: np.ndarray  # spectral centroid, Hz
    flatness: np.ndarray  # 0 (tonal) .. 1 (white noise)
    # Absent in signals saved before they existed: score then does without them.
    music: np.ndarray | None = None  # 0 (speech, noise) .. 1 (sustained notes): voice.py
    pitch: np.ndarray | None = None  # median voiced pitch, Hz (0: nothing voiced)
    voiced: np.ndarray | None = None  # fraction of voiced frames

    def arrays(self) -> dict[str, np.ndarray]:
        """The signals that are present, by name (what ingest saves)."""
        return {k: v for k, v in vars(self).items() if v is not None}


def audio_signals(samples: Samples, seconds: int) -> AudioSignals:
    """Per-second audio features; `seconds` is the length of the output arrays. Samples
    are read and worked on BLOCK seconds at a time, so memory stays flat on multi-hour
    streams (every feature is per second: the blocks change no figure)."""
    loudness = np.zeros(seconds, np.float32)
    brightness, flatness = np.zeros(seconds), np.zeros(seconds)
    music, pitch, voiced = np.zeros(seconds), np.zeros(seconds), np.zeros(seconds)
    for lo in range(0, seconds, BLOCK):
        hi = min(seconds, lo + BLOCK)
        (loudness[lo:hi], brightness[lo:hi], flatness[lo:hi], music[lo:hi], pitch[lo:hi],
         voiced[lo:hi]) = _features(_seconds_of(samples, lo, hi))
    quiet = loudness < SILENCE_DB
    for quiet_value in (brightness, flatness, music, pitch, voiced):
        quiet_value[quiet] = 0.0
    return AudioSignals(loudness=loudness, brightness=brightness, flatness=flatness,
                        music=music, pitch=pitch, voiced=voiced)


def _seconds_of(samples: Samples, lo: int, hi: int) -> np.ndarray:
    """Seconds LO to HI of the samples, one row a second (silence past their end)."""
    block = np.zeros((hi - lo) * AUDIO_RATE, np.float32)
    part = samples[lo * AUDIO_RATE: hi * AUDIO_RATE]
    block[:len(part)] = part
    return block.reshape(hi - lo, AUDIO_RATE)


def _features(per_second: np.ndarray) -> tuple[np.ndarray, ...]:
    """Loudness, brightness, flatness, music, pitch and voiced share, a value a row."""
    loudness = 10 * np.log10((per_second**2).mean(axis=1) + 1e-10)
    frames_per_second = AUDIO_RATE // FFT_SIZE
    frames = per_second[:, : frames_per_second * FFT_SIZE].reshape(
        len(per_second), frames_per_second, FFT_SIZE)
    window = np.hanning(FFT_SIZE).astype(np.float32)
    # scipy's FFT keeps float32 and is several times faster than numpy's here.
    spec = np.abs(scipy.fft.rfft(frames * window, axis=-1)) + 1e-9
    power = spec.sum(axis=-1)
    freqs = np.fft.rfftfreq(FFT_SIZE, 1 / AUDIO_RATE)
    brightness = ((spec * freqs).sum(axis=-1) / power).mean(axis=1)
    log_spec = np.log(spec)
    flatness = (np.exp(log_spec.mean(axis=-1)) / (power / spec.shape[-1])).mean(axis=1)
    return (loudness, brightness, flatness, voice.music_likeness(log_spec),
            *voice.pitch(spec))


def estimate_chat_lag(chat_rate: np.ndarray, excitement: np.ndarray,
                      max_lag: int = 20) -> int:
    """Seconds by which chat trails the stream: the lag that best aligns the two curves."""
    if chat_rate.sum() == 0 or len(chat_rate) < 3 * max_lag:
        return 0
    a = (excitement - excitement.mean()) / (excitement.std() + 1e-9)
    c = (chat_rate - chat_rate.mean()) / (chat_rate.std() + 1e-9)
    n = len(a)
    scores = [float(np.dot(a[: n - lag], c[lag:])) / (n - lag) for lag in range(max_lag + 1)]
    return int(np.argmax(scores))


def shift_back(values: np.ndarray, lag: int) -> np.ndarray:
    """Move a per-second series `lag` seconds earlier, padding the end with zeros."""
    if lag <= 0:
        return values
    return np.concatenate([values[lag:], np.zeros(lag)])
