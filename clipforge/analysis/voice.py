"""Music versus voice, and the voice's pitch: documented signal processing, no model.

Both come from the short-time spectra signals.py already computes (512-sample frames at
16 kHz, 31 a second), so they cost a few FFTs per second of stream:

* `music` (0..1): sustained notes keep their harmonics in the same FFT bins for hundreds
  of milliseconds; speech glides in pitch and changes sound every syllable, and noise
  (cheering, crowd, game effects) has no fine structure at all. So the correlation of
  the spectrum's fine structure (log spectrum minus its 9-bin moving mean, 250 Hz-6 kHz)
  with itself MUSIC_LAG frames (~130 ms) later is near 0 for speech, laughter and cheers
  and 0.25-0.6 for music. Mapped linearly from MUSIC_FROM..MUSIC_TO to 0..1.
* `pitch` (Hz) and `voiced` (fraction of frames): the strongest normalised
  autocorrelation peak (from the power spectrum) between 60 and 400 Hz, where it is
  above VOICED (every other frame); the median over the second's voiced frames.
  Excited speech is higher than the same streamer's calm speech, which score.py judges
  against the stream's own rolling baseline (arousal).
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from clipforge.media.ffmpeg import AUDIO_RATE

MUSIC_LAG = 4  # frames
MUSIC_FROM, MUSIC_TO = 0.08, 0.25
ENVELOPE_BINS = 9  # smoothing width (bins of 31 Hz) that leaves harmonics as fine structure
FINE_BAND = slice(8, 192)  # 250 Hz .. 6 kHz
VOICED = 0.5
PITCH_RANGE = (60.0, 400.0)
PITCH_STRIDE = 2


def music_likeness(log_spec: np.ndarray) -> np.ndarray:
    """Per second, from log magnitude spectra shaped (seconds, frames, bins)."""
    half = ENVELOPE_BINS // 2
    # Every other frame: pairs MUSIC_LAG apart are then MUSIC_LAG // 2 apart here.
    band = log_spec[:, ::2, FINE_BAND.start - half: FINE_BAND.stop + half]
    fine = (band - _moving_mean(band, ENVELOPE_BINS))[..., half:-half]
    fine = fine - fine.mean(axis=-1, keepdims=True)
    step = MUSIC_LAG // 2
    a, b = fine[:, step:], fine[:, :-step]
    corr = (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1) + 1e-12)
    return np.clip((corr.mean(axis=1) - MUSIC_FROM) / (MUSIC_TO - MUSIC_FROM), 0.0, 1.0)


def pitch(spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(median pitch of the voiced frames in Hz, 0 when none; voiced fraction) per second."""
    # Every other frame is plenty for a per-second median; the full-band autocorrelation
    # keeps whole-sample lags (a coarser one loses the small rises arousal shows as).
    autocorr = scipy.fft.irfft(spec[:, ::PITCH_STRIDE] ** 2, axis=-1)
    autocorr = autocorr / (autocorr[..., :1] + 1e-12)
    lo, hi = int(AUDIO_RATE / PITCH_RANGE[1]), int(AUDIO_RATE / PITCH_RANGE[0])
    strength = autocorr[..., lo:hi].max(axis=-1)
    f0 = AUDIO_RATE / (autocorr[..., lo:hi].argmax(axis=-1) + lo)
    voiced = strength > VOICED
    # The median of the voiced frames: unvoiced ones sorted past them as infinity.
    ordered = np.sort(np.where(voiced, f0, np.inf), axis=1)
    count = voiced.sum(axis=1)
    middle = np.take_along_axis(ordered, (count // 2)[:, None], axis=1)[:, 0]
    return np.where(count > 0, middle, 0.0), voiced.mean(axis=1)


def _moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving mean along the last axis (edges averaged over what exists)."""
    half = width // 2
    padded = np.pad(values, [(0, 0)] * (values.ndim - 1) + [(half, half)], mode="edge")
    sums = np.cumsum(padded, axis=-1)
    sums = np.concatenate([np.zeros_like(sums[..., :1]), sums], axis=-1)
    return (sums[..., width:] - sums[..., :-width]) / width
