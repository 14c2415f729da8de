"""A rendered clip's loudness (issue 19 took loudnorm out of the render): quiet and loud
speech both come out at the target, under the peak ceiling, in sync with the picture, and
a silent clip is not blown up into noise."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from clipforge.media import ffmpeg
from clipforge.media.render import TRUE_PEAK_CEILING, RenderSpec, measure_loudness, render

DATA = Path(__file__).parent / "data"
SPEECH = DATA / "arctic_a0007.wav"  # about 3.4 s of CMU Arctic speech


def make_source(out: Path, audio_filter: str) -> Path:
    """5 s of 640x360 test pattern over the Arctic sentence (from 1 s), through AUDIO_FILTER."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=5",
         "-i", str(SPEECH), "-filter_complex",
         f"[1:a]adelay=1000:all=1,apad,atrim=0:5,{audio_filter},"
         "aformat=channel_layouts=stereo[a]",
         "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
         "-c:a", "aac", "-b:a", "192k", "-ar", "48000", str(out)],
        check=True, timeout=120)
    return out


def rendered(source: Path, tmp_path: Path) -> Path:
    out = tmp_path / "clip.mp4"
    render(RenderSpec(source=source, start=0.0, duration=5.0, layout="crop", out=out,
                      crop_width=202, crop_height=360, crop_path=[219.0],
                      target_lufs=-14.0))
    return out


def mono_samples(path: Path) -> np.ndarray:
    wav = path.with_suffix(".wav")
    ffmpeg.extract_audio(path, wav)  # 16 kHz mono
    return ffmpeg.read_wav(wav)


@pytest.mark.parametrize("level", ["volume=-18dB", "volume=18dB,alimiter=limit=1:level=0"])
def test_quiet_and_loud_speech_come_out_at_the_target(level: str, tmp_path: Path) -> None:
    source = make_source(tmp_path / "source.mp4", level)
    before = measure_loudness(source, 0.0, 5.0)
    out = rendered(source, tmp_path)
    after = measure_loudness(out, 0.0, 5.0)
    assert abs(before.integrated + 14.0) > 4.0, before  # the source really was off target
    assert abs(after.integrated + 14.0) <= 1.0, (before, after)
    assert after.true_peak <= TRUE_PEAK_CEILING + 0.5, (before, after)


def test_the_gain_keeps_the_audio_in_sync(tmp_path: Path) -> None:
    source = make_source(tmp_path / "source.mp4", "volume=-18dB")
    out = rendered(source, tmp_path)
    a, b = mono_samples(source), mono_samples(out)
    body = a[8000:8000 + 16000 * 3]
    lags = range(-80, 81)
    scores = [float(np.dot(body, b[8000 + k:8000 + k + len(body)])) for k in lags]
    assert lags[int(np.argmax(scores))] == 0  # within one sample at 16 kHz


def test_a_silent_clip_stays_silent(tmp_path: Path) -> None:
    source = make_source(tmp_path / "source.mp4", "volume=0")
    assert measure_loudness(source, 0.0, 5.0).integrated == -70.0
    out = rendered(source, tmp_path)
    assert float(np.abs(mono_samples(out)).max()) < 1e-3
