"""Generated test streams: a real face over real moving footage, espeak-ng speech, chat.

Used by the tests, `make demo` and the benchmarks. Everything is made with ffmpeg and
espeak-ng from the small real files in tests/data, deterministically from a seed:

- video: bikes.mp4 looped as the "gameplay" (its loop point and a colour switch every
  50 s are hard shot cuts), with the carphone face drifting slowly left and right;
- audio: calm sentences with pauses; at each planted highlight an excited exclamation
  (louder, faster, higher) and a burst of crowd-like cheering; decoys are loud music
  with no reaction;
- chat: a steady trickle, and a burst of hype messages a few seconds after each highlight.

    python tools/synth.py stream OUT.mp4 --duration 240 [--seed N] [--cached]
    python tools/synth.py bad DIR
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
RATE = 22050  # espeak-ng's native rate
VERSION = 1  # bump when the output changes, so caches are rebuilt

CALM = [
    "Okay so today we are going to try the northern route again.",
    "I think the shop opens after the second checkpoint.",
    "Thanks for the follow, welcome to the stream.",
    "Let me check the map real quick before we go.",
    "We need three more pieces of wood for the bridge.",
    "The weather in this game is honestly very relaxing.",
    "I usually play this part a bit slower.",
    "Somebody in chat asked about my settings earlier.",
    "My sensitivity is pretty low, around eight hundred.",
    "We will take a short break in about twenty minutes.",
    "This quest line is longer than I remembered.",
    "I am going to craft a few potions first.",
    "The music in this area is really nice.",
    "Let us see what the merchant has today.",
    "I forgot to repair my armor last time.",
    "There should be a chest behind that wall.",
    "We tried this boss twice yesterday.",
    "The trick is to wait for the second attack.",
    "I am drinking some tea right now.",
    "Chat, what do you think, left or right?",
    "Right it is, the majority has spoken.",
    "This area reminds me of the first game.",
    "I should probably save the game here.",
    "The inventory is getting full again.",
    "We can sell these gems in the next town.",
    "My cat just walked across the keyboard.",
    "Let me read a few messages from chat.",
    "Good question, I started streaming two years ago.",
    "The patch notes changed the stamina system.",
    "I like to explore every corner of the map.",
    "We are almost at the top of the tower.",
    "This puzzle uses the mirrors on the wall.",
    "Turn the first mirror toward the window.",
    "Now the light should hit the crystal.",
    "That did not work, let me try again.",
    "The next part is a long walk anyway.",
    "I will upload the highlights tomorrow.",
    "Remember to drink water everyone.",
    "The village is just over that hill.",
    "We should find the blacksmith first.",
]
HYPE = [
    "Oh my god, no way! That was insane!",
    "What! Let's go! That was unbelievable!",
    "No way, no way! Did you see that? Incredible!",
    "Yes! Oh my god, that was so clutch!",
    "Wow! That is crazy, I cannot believe it!",
]
CHAT_USERS = ["pixelpete", "mossy", "kayla_gg", "drift", "nightowl", "tomtom", "zed"]
CHAT_CALM = ["hi", "hello chat", "nice", "what game is this", "lol", "gl", "o7", "true",
             "go left", "go right", "hydrate", "first time here"]
CHAT_HYPE = ["PogChamp", "KEKW", "LUL", "OMEGALUL", "no way", "W", "POGGERS", "CLIP IT",
             "KEKW KEKW", "insane", "LETS GO"]


@dataclass
class StreamSpec:
    video: Path
    chat: Path
    duration: float
    highlights: list[float]
    decoys: list[float]
    sentences: list[tuple[float, float, str]] = field(default_factory=list)
    cuts: list[float] = field(default_factory=list)
    chat_lag: float = 0.0

    def to_json(self) -> dict:
        raw = asdict(self)
        raw["video"], raw["chat"] = self.video.name, self.chat.name
        return raw

    @classmethod
    def from_json(cls, raw: dict, folder: Path) -> StreamSpec:
        raw = dict(raw, video=folder / raw["video"], chat=folder / raw["chat"])
        raw["sentences"] = [tuple(s) for s in raw["sentences"]]
        return cls(**raw)


def sh(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.decode(errors='replace')[-800:]}")


def speak(text: str, excited: bool = False, voice: str = "en-us") -> np.ndarray:
    """espeak-ng speech as float samples at RATE."""
    args = ["-a", "200", "-s", "195", "-p", "85"] if excited else ["-a", "90", "-s", "165"]
    proc = subprocess.run(["espeak-ng", "-v", voice, *args, "--stdout", text],
                          capture_output=True, check=True)
    with wave.open(_BytesWave(proc.stdout)) as wav:  # type: ignore[arg-type]
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
    return pcm.astype(np.float32) / 32768.0


class _BytesWave:
    """espeak-ng --stdout writes a WAV whose header sizes are unset; read it leniently."""

    def __init__(self, data: bytes) -> None:
        import io

        fixed = bytearray(data)
        fixed[4:8] = (len(data) - 8).to_bytes(4, "little")
        fixed[40:44] = (len(data) - 44).to_bytes(4, "little")
        self._buf = io.BytesIO(bytes(fixed))

    def __getattr__(self, name: str) -> object:
        return getattr(self._buf, name)


def cheer(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Crowd-like noise: band-limited noise with a fast random amplitude flutter."""
    n = int(seconds * RATE)
    noise = rng.normal(0, 1, n)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < 300) | (freqs > 4000)] = 0
    band = np.fft.irfft(spectrum, n)
    flutter = np.repeat(rng.uniform(0.5, 1.0, n // 800 + 1), 800)[:n]
    envelope = np.minimum(1.0, np.linspace(0, 6, n)) * np.minimum(1.0, np.linspace(4, 0, n))
    out = band * flutter * envelope
    return (0.55 * out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def music(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A loud chord progression: the kind of moment that is loud but not a highlight."""
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    root = rng.choice([220.0, 196.0, 246.9])
    for i, ratio in enumerate([1.0, 1.26, 1.5, 2.0]):
        out += np.sin(2 * np.pi * root * ratio * t + i) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    return (0.45 * out / np.abs(out).max()).astype(np.float32)


def _plan_events(duration: float, n_highlights: int, n_decoys: int,
                 rng: np.random.Generator) -> tuple[list[float], list[float]]:
    usable = duration - 30.0
    slots = n_highlights + n_decoys
    if slots == 0 or usable <= 0:
        return [], []
    step = usable / slots
    times = [20.0 + step * i + rng.uniform(0, step * 0.3) for i in range(slots)]
    decoy_slots = set(rng.choice(np.arange(1, slots), size=min(n_decoys, slots - 1),
                                 replace=False).tolist()) if slots > 1 else set()
    highlights = [round(t, 2) for i, t in enumerate(times) if i not in decoy_slots]
    decoys = [round(t, 2) for i, t in enumerate(times) if i in decoy_slots]
    return highlights, decoys


def make_audio(duration: float, highlights: list[float], decoys: list[float],
               rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The soundtrack and the spoken sentences (start, end, text)."""
    track = rng.normal(0, 0.004, int(duration * RATE)).astype(np.float32)
    sentences: list[tuple[float, float, str]] = []
    events = sorted([(h, "hype") for h in highlights] + [(d, "decoy") for d in decoys])
    voice = rng.choice(["en-us", "en-us+m3", "en-gb"])
    order = rng.permutation(len(CALM))
    t, k = 1.0, 0

    def place(samples: np.ndarray, at: float) -> float:
        lo = int(at * RATE)
        hi = min(len(track), lo + len(samples))
        track[lo:hi] += samples[: hi - lo]
        return at + len(samples) / RATE

    for at, kind in [*events, (duration, "end")]:
        while True:  # calm talk until the next event
            text = CALM[order[k % len(CALM)]]
            speech = speak(text, voice=voice) * 0.7
            if t + len(speech) / RATE > at - 0.5:
                break
            end = place(speech, t)
            sentences.append((round(t, 2), round(end, 2), text))
            t, k = end + rng.uniform(0.4, 1.5), k + 1
        if kind == "hype":
            text = HYPE[int(rng.integers(len(HYPE)))]
            end = place(speak(text, excited=True, voice=voice), at)
            sentences.append((round(at, 2), round(end, 2), text))
            t = place(cheer(rng, rng.uniform(2.0, 3.0)), end) + rng.uniform(0.6, 1.2)
        elif kind == "decoy":
            t = place(music(rng, rng.uniform(4.0, 6.0)), at) + rng.uniform(0.6, 1.2)
    return np.clip(track, -1, 1), sentences


def make_chat(duration: float, highlights: list[float], lag: float,
              rng: np.random.Generator) -> list[dict]:
    messages = []
    t = 0.0
    while True:
        t += rng.exponential(1.4)
        if t >= duration:
            break
        messages.append({"t": round(t, 2), "user": str(rng.choice(CHAT_USERS)),
                         "text": str(rng.choice(CHAT_CALM))})
    for h in highlights:
        start = h + lag + rng.uniform(-0.5, 0.5)
        for _ in range(int(rng.integers(30, 50))):
            at = start + rng.uniform(0, 5)
            if at < duration:
                messages.append({"t": round(at, 2), "user": str(rng.choice(CHAT_USERS)),
                                 "text": str(rng.choice(CHAT_HYPE))})
    return sorted(messages, key=lambda m: m["t"])


def _write_wav(path: Path, samples: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes((samples * 32767).astype("<i2").tobytes())


def _render_video(out: Path, audio: Path, duration: float, width: int, height: int,
                  fps: int, data_dir: Path) -> None:
    face_h = int(height * 0.5) // 2 * 2
    face_w = int(face_h * 176 / 144) // 2 * 2
    graph = (
        f"[0:v]scale={width}:{height}:force_original_aspect_ratio=increase,"
        f"crop={width}:{height},setsar=1,"
        "hue=h='if(mod(floor(t/50),2),150,0)'[bg];"
        f"[1:v]scale={face_w}:{face_h},setsar=1[face];"
        f"[bg][face]overlay=x='(W-w)/2+(W-w)/3*sin(t/15)':y=(H-h)/3:shortest=0,"
        f"fps={fps},format=yuv420p[v]"
    )
    sh(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(data_dir / "bikes.mp4"),
        "-stream_loop", "-1", "-i", str(data_dir / "carphone_pristine.mp4"), "-i", str(audio),
        "-filter_complex", graph, "-map", "[v]", "-map", "2:a", "-t", f"{duration:.3f}",
        "-c:v", "libx264", "-preset", "superfast", "-crf", "27", "-g", str(fps * 2),
        "-c:a", "aac", "-b:a", "128k", "-ar", "44100", "-movflags", "+faststart", str(out)])


def make_stream(out: Path, duration: float = 180.0, width: int = 1280, height: int = 720,
                fps: int = 30, seed: int = 0, n_highlights: int | None = None,
                n_decoys: int = 1, chat_lag: float = 4.0, data_dir: Path = DATA) -> StreamSpec:
    """Write OUT (mp4), OUT.chat.jsonl and OUT.spec.json; return the spec."""
    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    count = int(duration // 40) if n_highlights is None else n_highlights
    highlights, decoys = _plan_events(duration, count, n_decoys, rng)
    samples, sentences = make_audio(duration, highlights, decoys, rng)
    wav = out.with_suffix(".wav")
    _write_wav(wav, samples)
    tmp = out.with_name(out.stem + ".part.mp4")
    _render_video(tmp, wav, duration, width, height, fps, data_dir)
    wav.unlink()
    os.replace(tmp, out)
    chat = out.with_name(out.stem + ".chat.jsonl")
    chat.write_text("".join(json.dumps(m) + "\n" for m in make_chat(duration, highlights,
                                                                   chat_lag, rng)))
    cuts = sorted({float(t) for t in range(10, int(duration), 10)}
                  | {float(t) for t in range(50, int(duration), 50)})
    spec = StreamSpec(video=out, chat=chat, duration=duration, highlights=highlights,
                      decoys=decoys, sentences=sentences, cuts=cuts, chat_lag=chat_lag)
    out.with_name(out.stem + ".spec.json").write_text(json.dumps(spec.to_json(), indent=1))
    return spec


def load_spec(video: Path) -> StreamSpec | None:
    spec = video.with_name(video.stem + ".spec.json")
    if not (video.exists() and spec.exists()):
        return None
    return StreamSpec.from_json(json.loads(spec.read_text()), video.parent)


def cached_stream(cache_dir: Path, **kwargs: object) -> StreamSpec:
    """make_stream once per set of arguments; later calls reuse the files."""
    key = hashlib.sha1(json.dumps([VERSION, kwargs], sort_keys=True).encode()).hexdigest()[:12]
    video = cache_dir / key / "stream.mp4"
    return load_spec(video) or make_stream(video, **kwargs)  # type: ignore[arg-type]


def make_bad_inputs(folder: Path, data_dir: Path = DATA) -> dict[str, Path]:
    """Inputs a user might wrongly give, plus one good audio-only file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in ("missing.mp4", "x.mp4", "no_audio.mp4",
                                              "empty.mp4", "truncated.mp4", "bad_chat.jsonl",
                                              "audio_only.wav", "whole.mp4", "cut_short.mp4",
                                              "whole_fast.mp4")}
    paths["x.mp4"].write_text("this is a text file, not a video\n")
    paths["empty.mp4"].write_bytes(b"")
    sh(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=3",
        "-c:v", "libx264", "-preset", "ultrafast", str(paths["no_audio.mp4"])])
    _write_wav(paths["audio_only.wav"], np.concatenate(
        [speak(text) for text in CALM[:3]] + [np.zeros(RATE * 2, np.float32)]))
    # moov atom at the end, cut off: a download that stopped early.
    sh(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=10",
        "-i", str(paths["audio_only.wav"]), "-t", "10", "-c:v", "libx264", "-preset",
        "ultrafast", "-c:a", "aac", str(paths["whole.mp4"])])
    whole = paths["whole.mp4"].read_bytes()
    paths["truncated.mp4"].write_bytes(whole[: len(whole) * 3 // 10])
    # Index first (faststart), data cut off: probes fine, stops decoding early.
    sh(["ffmpeg", "-v", "error", "-y", "-i", str(paths["whole.mp4"]), "-c", "copy",
        "-movflags", "+faststart", str(paths["whole_fast.mp4"])])
    whole = paths["whole_fast.mp4"].read_bytes()
    paths["cut_short.mp4"].write_bytes(whole[: len(whole) // 2])
    paths["bad_chat.jsonl"].write_text('{"t": 1.0, "user": "a", "text": "hi"}\n{"t": oops\n')
    return {
        "missing": paths["missing.mp4"], "not_media": paths["x.mp4"],
        "no_audio": paths["no_audio.mp4"], "empty": paths["empty.mp4"],
        "truncated": paths["truncated.mp4"], "cut_short": paths["cut_short.mp4"],
        "bad_chat": paths["bad_chat.jsonl"],
        "audio_only": paths["audio_only.wav"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    stream = sub.add_parser("stream", help="a generated stream with chat")
    stream.add_argument("out", type=Path)
    stream.add_argument("--duration", type=float, default=180.0)
    stream.add_argument("--seed", type=int, default=0)
    stream.add_argument("--width", type=int, default=1280)
    stream.add_argument("--height", type=int, default=720)
    stream.add_argument("--fps", type=int, default=30)
    stream.add_argument("--cached", action="store_true", help="reuse OUT if already made")
    bad = sub.add_parser("bad", help="bad inputs for error tests")
    bad.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "bad":
        for name, path in make_bad_inputs(args.folder).items():
            print(f"{name}: {path}")
        return
    spec = load_spec(args.out) if args.cached else None
    if spec is None:
        spec = make_stream(args.out, args.duration, args.width, args.height, args.fps,
                           args.seed)
    print(f"stream: {spec.video}\nchat: {spec.chat}\nhighlights: {spec.highlights}")


if __name__ == "__main__":
    main()
