"""The hard cases of benchmarks/quality.py, each made from a base generated stream.

* `bed`: a continuous music-and-game-sound bed under the voice at about speech level;
* `copypasta`: a copy-paste flood from 3-5 accounts at every decoy (loud music too);
* `whisper`: two highlights whispered (about 30 dB down) and answered by a bigger,
  later chat reaction;
* `two_voices`: a second voice (a co-host) talking through the calm parts;
* `lag12`: chat 12 s late.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tools import chatgen, synth

WHISPERED = (1, 3)  # which highlights are whispered
WHISPER_DB = -30.0
BED_DB = -24.0  # the bed's RMS: calm speech sits at about -23 dBFS
COHOST_DB = -27.0


@dataclass(frozen=True)
class Case:
    """One stream as a variant sees it: its media, its chat and its ground truth."""

    spec: synth.StreamSpec
    video: Path
    chat: Path
    lag: float


def spam_times(spec: synth.StreamSpec) -> list[float]:
    """synth plans music in every other gap between highlights and spam in the first
    remaining one: the decoys that fall in an odd gap."""
    gaps = list(zip(spec.highlights, spec.highlights[1:], strict=False))
    return [d for d in spec.decoys
            if any(a < d < b and i % 2 == 1 for i, (a, b) in enumerate(gaps))]


def with_chat(case: Case, name: str, seed: int, lag: float | None = None,
              flood_all: bool = False, whispered: bool = False) -> Case:
    spec, lag = case.spec, case.lag if lag is None else lag
    spam = spec.decoys if flood_all else spam_times(spec)
    rng = np.random.default_rng(seed)
    accounts = int(rng.integers(3, 6)) if flood_all else 4
    loud = [h for i, h in enumerate(spec.highlights) if not (whispered and i in WHISPERED)]
    messages = chatgen.make_chat(spec.duration, loud, lag, spam_at=spam, seed=seed,
                                 spam_accounts=accounts)
    if whispered:  # many more people, a little later: the answer to a quiet moment
        quiet = [h for i, h in enumerate(spec.highlights) if i in WHISPERED]
        messages = sorted(messages + chatgen.make_chat(
            spec.duration, quiet, lag + 3.0, seed=seed + 1, base_rate=1e-9, burst=(70, 100)),
            key=lambda m: m["t"])
    path = case.video.with_name(f"{case.video.stem}.{name}.lag{lag}.jsonl")
    return replace(case, chat=chatgen.write_chat(path, messages), lag=lag)


def whispered_audio(case: Case) -> Case:
    """The whispered highlights' exclamation and cheering turned down to a whisper."""
    spans = [(h - 0.3, _said_until(case.spec, h) + 3.6)
             for i, h in enumerate(case.spec.highlights) if i in WHISPERED]
    gain = 10 ** (WHISPER_DB / 20)
    enable = "+".join(f"between(t,{a:.2f},{b:.2f})" for a, b in spans)
    out = case.video.with_name(case.video.stem + ".whisper.mp4")
    _remux(case.video, out, f"[0:a]volume=volume={gain:.4f}:enable='{enable}'[a]")
    return replace(case, video=out)


def bed_audio(case: Case, seed: int) -> Case:
    """Music and game sounds under everything, at about the level of calm speech."""
    out = case.video.with_name(case.video.stem + ".bed.mp4")
    if not out.exists():
        rng = np.random.default_rng(seed)
        n = int(case.spec.duration * synth.RATE)
        bed = synth.at_rms(synth.music(rng, case.spec.duration), BED_DB - 1.0)
        bed += synth.at_rms(_game_sounds(rng, n), BED_DB - 3.0)
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "bed.wav"
            synth.write_wav(wav, synth.at_rms(bed, BED_DB))
            _remux(case.video, out, "[0:a][1:a]amix=inputs=2:duration=first:normalize=0[a]",
                   wav)
    return replace(case, video=out)


def two_voices(case: Case, seed: int) -> Case:
    """A co-host (another espeak-ng voice) talking through the calm parts; their
    sentences join the ground truth, so clip edges must respect them too."""
    out = case.video.with_name(case.video.stem + ".cohost.mp4")
    rng = np.random.default_rng(seed)
    spec = case.spec
    keep_clear = [(e - 6.0, e + 12.0) for e in spec.highlights + spec.decoys]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        track = np.zeros(int(spec.duration * synth.RATE), np.float32)
        said, t = [], 3.0
        while t < spec.duration - 8:
            text = synth.SENTENCES[int(rng.integers(len(synth.SENTENCES)))]
            voice = _cohost_voice(text, work)
            end = t + len(voice) / synth.RATE
            clash = next((w for w in keep_clear if t < w[1] and w[0] < end), None)
            if clash is not None:
                t = clash[1] + 0.5
                continue
            synth.add_at(track, t, synth.at_rms(voice, COHOST_DB))
            said.append((round(t, 3), round(end, 3), text))
            t = end + float(rng.uniform(2.0, 6.0))
        if not out.exists():
            synth.write_wav(work / "cohost.wav", track)
            _remux(case.video, out, "[0:a][1:a]amix=inputs=2:duration=first:normalize=0[a]",
                   work / "cohost.wav")
    truth = replace(spec, sentences=sorted(spec.sentences + said))
    return replace(case, video=out, spec=truth)


def _cohost_voice(text: str, work: Path) -> np.ndarray:
    path = work / f"cohost-{abs(hash(text)) % 10**8}.wav"
    if not path.exists():
        synth.run(["espeak-ng", "-v", "en+f3", "-s", "150", "-p", "65", "-w", str(path), text])
    samples, rate = synth.read_wav(path)
    loud = np.flatnonzero(np.abs(samples) > 0.003)
    samples = samples[loud[0]:loud[-1] + 1] if loud.size else samples
    t_out = np.arange(int(len(samples) * synth.RATE / rate)) / synth.RATE
    return np.interp(t_out, np.arange(len(samples)) / rate, samples).astype(np.float32)


def _game_sounds(rng: np.random.Generator, n: int) -> np.ndarray:
    """An engine hum and a shot or explosion every couple of seconds."""
    t = np.arange(n) / synth.RATE
    hum = np.sin(2 * np.pi * 55 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.1 * t))
    hits = np.zeros(n, np.float32)
    decay = np.exp(-np.arange(int(0.25 * synth.RATE)) / (0.05 * synth.RATE))
    for start in rng.integers(0, n - len(decay), size=n // synth.RATE // 2):
        hits[start:start + len(decay)] += decay * rng.uniform(0.3, 1.0)
    noise = synth.band_noise(rng, n, 100, 5000)
    return (hum * 0.3 + noise * hits * 3).astype(np.float32)


def _said_until(spec: synth.StreamSpec, start: float) -> float:
    return next((e for s, e, _ in spec.sentences if abs(s - start) < 0.05), start + 3.0)


def _remux(video: Path, out: Path, graph: str, extra: Path | None = None) -> None:
    if out.exists():
        return
    tmp = out.with_name(out.stem + ".part.mp4")
    inputs = ["-i", str(video)] + (["-i", str(extra)] if extra else [])
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "0:v", "-map", "[a]", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k",
                    str(tmp)], check=True)
    tmp.replace(out)
