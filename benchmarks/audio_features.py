"""Each audio feature measured on its own: recall@5 of the audio-only score, no chat, no
transcript (what the cascade sees before anything expensive runs), as JSON.

On benchmarks/quality.py's streams (plain, with the music-and-game bed, with a co-host),
the per-second audio score is built from one set of features at a time, its top 5 peaks
(at least 20 s apart) are compared with the planted highlights, and the highest decoy
(loud music) is ranked among them. Seconds of audio analysis per second of stream are
reported too, old features against new.

    .venv/bin/python -m benchmarks.audio_features [--streams 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import quality, variants
from clipforge.analysis import score, signals
from clipforge.media import ffmpeg

SETS: dict[str, dict[str, float]] = {
    "loudness": {"loudness": 1.0},
    "loudness+brightness+nonspeech (before)": {"loudness": 1.0, "brightness": 0.6,
                                              "loud_nonspeech": 0.8},
    "pitch": {"pitch": 1.0},
    "all audio (after)": {k: v for k, v in score.NO_CHAT_WEIGHTS.items()
                          if k in ("loudness", "brightness", "loud_nonspeech", "pitch")},
}
SEPARATION = 20


def audio_of(video: Path, tmp: Path) -> np.ndarray:
    wav = tmp / (video.stem + ".wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(video), "-ac", "1", "-ar",
                    str(ffmpeg.AUDIO_RATE), str(wav)], check=True)
    return ffmpeg.read_wav(wav)


def top_peaks(curve: np.ndarray, count: int = 5) -> list[int]:
    masked, peaks = curve.copy(), []
    while len(peaks) < count and np.isfinite(masked).any() and masked.max() > 0:
        peak = int(np.argmax(masked))
        peaks.append(peak)
        masked[max(0, peak - SEPARATION): peak + SEPARATION] = -np.inf
    return peaks


def evaluate(audio: signals.AudioSignals, spec: Any, weights: dict[str, float],
             gate_music: bool) -> dict[str, Any]:
    if not gate_music:
        audio = replace(audio, music=None)
    table, _ = score.feature_table(score.Inputs(seconds=len(audio.loudness), audio=audio,
                                                segments=[]))
    curve = score.highlight_curve({k: weights.get(k, 0.0) * v for k, v in table.items()})
    peaks = top_peaks(curve)
    near = lambda p, times: any(-2 <= p - t <= 8 for t in times)  # noqa: E731
    return {"recall_at_5": sum(any(near(p, [h]) for p in peaks) for h in spec.highlights)
            / len(spec.highlights),
            "decoys_in_top_5": sum(near(p, spec.decoys) for p in peaks)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=2)
    args = parser.parse_args()
    rows: dict[str, list[dict[str, Any]]] = {}
    timing = {"seconds": 0.0, "work": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for v in quality.VARIATIONS[: args.streams]:
            base = quality.varied_stream(*v)
            for kind, case in (("plain", base), ("bed", variants.bed_audio(base, v[0])),
                               ("two_voices", variants.two_voices(base, v[0]))):
                samples = audio_of(case.video, Path(tmp))
                started = time.perf_counter()
                audio = signals.audio_signals(samples, int(np.ceil(case.spec.duration)))
                timing["work"] += time.perf_counter() - started
                timing["seconds"] += case.spec.duration
                for name, weights in SETS.items():
                    for gate in (False, True):
                        key = f"{kind} | {name}{' | music gated' if gate else ''}"
                        rows.setdefault(key, []).append(
                            evaluate(audio, case.spec, weights, gate))
    result = {key: {"recall_at_5": round(float(np.mean([r["recall_at_5"] for r in rs])), 3),
                    "decoys_in_top_5": sum(r["decoys_in_top_5"] for r in rs)}
              for key, rs in rows.items()}
    result["audio_signals_realtime_factor"] = round(timing["seconds"] / timing["work"], 1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
