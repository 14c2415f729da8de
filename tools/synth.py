"""Generated test media: a stand-in livestream (talking face over gameplay, speech, chat).

Everything is built from the small real files in tests/data with ffmpeg and espeak-ng:

* video: shots of bikes.mp4 as the "gameplay", each played back and forth, slowly panned
  and scaled to fill the frame, switching to another shot (a hard cut) every 40-70 s;
  over it the real face of carphone_pristine.mp4 as a facecam about 45% of the frame
  high, drifting slowly left and right so a crop has to follow it;
* audio: calm espeak-ng sentences at about -23 LUFS over light noise; at each planted
  highlight a loud, fast, high exclamation followed by crowd-like cheering; decoys are
  bursts of loud music that nobody reacts to;
* chat (JSON Lines): a steady trickle, a burst of hype 3-6 s after each highlight, none
  after the music decoys, and one bot-spam burst with no event at all (also a decoy).

Everything is deterministic given the seed.

    python -m tools.synth stream OUT.mp4 --duration 240 [--seed N] [--cached]
    python -m tools.synth bad DIR
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from clipforge.media.ffmpeg import write_wav as write_media_wav

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "tests" / "data"
RATE = 48_000  # audio sample rate of the mix and of the mp4
VERSION = 2  # bump when the generated media changes, so cached streams are rebuilt

SENTENCES = [
    "Welcome back everyone, thanks for hanging out with me today.",
    "Let me know in chat how your week has been going.",
    "I think we should try the other route this time.",
    "The weather outside is grey and rainy again.",
    "I had a really nice lunch before the stream started.",
    "This level always takes me longer than it should.",
    "Remember to drink some water and stretch your legs.",
    "I am going to check the map for a second.",
    "We need to find a better weapon before the boss.",
    "My cat walked across the keyboard this morning.",
    "The new update changed a lot of small things.",
    "I am not sure this plan is going to work.",
    "Let us take it slow and look around carefully.",
    "I read every message in chat, so say hello.",
    "The music in this area is really relaxing.",
    "I still have to finish the side quest from yesterday.",
    "This road goes all the way down to the harbour.",
    "I bought a new chair and my back feels much better.",
    "We will take a short break in about an hour.",
    "The graphics in this game are still beautiful.",
    "I should probably upgrade my armour soon.",
    "Somebody asked about my settings, they are in the description.",
    "I tried a different strategy last night and it was fine.",
    "There is a hidden room somewhere near this bridge.",
    "The controls feel a bit heavy on this bike.",
    "I am saving my coins for the big upgrade.",
    "Thanks for the follow, I really appreciate it.",
    "Let me read the quest log one more time.",
    "This part of the city is always so busy.",
    "I wonder what is behind that locked door.",
    "My coffee went cold while I was talking.",
    "We are going to play something different on Friday.",
    "The sun is setting and the sky looks orange.",
    "I think the shop is just around the corner.",
    "Nobody told me this mission had a time limit.",
    "I like exploring more than fighting, to be honest.",
    "The last checkpoint was a long way back.",
    "I will turn the volume down a little.",
    "That character always has something funny to say.",
    "We should be careful, there are guards over there.",
    "I learned this trick from a friend a while ago.",
    "The loading screens are much shorter now.",
    "I am going to switch to the other camera angle.",
    "This puzzle looks harder than it really is.",
    "I forgot to save before the last fight.",
    "My neighbour is mowing the lawn again.",
    "Let us see if the old bridge is still standing.",
    "I have been practising this jump all week.",
    "The story is slow at first but it gets better.",
    "I will answer a few questions from chat now.",
    "We have plenty of time before the event starts.",
    "The river looks very calm this evening.",
    "I need to craft more arrows before we leave.",
    "Somebody in chat guessed the ending already.",
    "The first time I played this, I got completely lost.",
    "I think that shortcut saves about a minute.",
    "Let me fix the microphone, it sounds a bit quiet.",
    "The cyclists in this game never stop for anyone.",
    "I am going to follow the main road for now.",
    "That was a pretty quiet round, nothing special happened.",
]

EXCLAMATIONS = [
    "Oh my god no way that was insane!",
    "No way! Did you see that? That was unbelievable!",
    "Yes! Yes! We did it, that was amazing!",
    "What! Oh my god, that was the craziest thing ever!",
    "Let's go! That was absolutely incredible!",
    "Are you kidding me? That was insane!",
    "Oh wow, I cannot believe that just happened!",
    "Holy moly, that was the best play of the year!",
]

USERS = ["pixelpanda", "greywolf88", "mossy_bee", "kettle_king", "lunatic_lynx", "driftwood",
         "quietquokka", "nova_rae", "tomato_tim", "sir_snacks"]
CHAT_TEXT = ["hi everyone", "what game is this", "nice stream", "lol", "gg", "hello from spain",
             "first time here", "the music is nice", "is this the new patch", "good luck today",
             "what rank are you", "brb getting snacks", "love the vibes", "chat is slow today",
             "how long have you been playing", "what settings do you use", "that bike is fast",
             "go left", "nice", "same", "haha", "o7", "cozy stream"]
HYPE_TEXT = ["PogChamp", "KEKW", "LUL", "OMEGALUL", "no way", "W", "WWWW", "NO WAY", "POGGERS",
             "PogChamp PogChamp", "clip it!", "CLIP IT", "insane", "HOLY", "KEKW KEKW",
             "W streamer", "LETS GOOO"]
SPAM_TEXT = ["!giveaway", "!enter", "!giveaway enter"]


class SynthError(RuntimeError):
    """A generation command failed."""


@dataclass
class StreamSpec:
    video: Path  # the mp4
    chat: Path  # JSON Lines, one {"t": s, "user": str, "text": str} a line
    duration: float
    highlights: list[float]  # start of each excited exclamation (cheering follows)
    decoys: list[float]  # loud music nobody reacts to, and one chat spam burst
    sentences: list[tuple[float, float, str]]  # (start, end, text), exclamations included
    cuts: list[float] = field(default_factory=list)  # hard shot cuts in the video
    chat_lag: float = 0.0  # mean delay (s) from a highlight to the start of its chat burst


# --- running tools -----------------------------------------------------------------------

def run(cmd: list[str]) -> None:
    """Run a command; raise SynthError with the end of its stderr if it fails."""
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip()[-2000:]
        raise SynthError(f"{cmd[0]} failed (exit {proc.returncode}): {tail}")


def ffmpeg(*args: str) -> list[str]:
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]


# --- audio -------------------------------------------------------------------------------

def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono 16-bit WAV as float32 in [-1, 1], and its sample rate."""
    with wave.open(str(path)) as w:
        raw = w.readframes(w.getnframes())
        rate, channels = w.getframerate(), w.getnchannels()
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return samples[::channels], rate


def write_wav(path: Path, samples: np.ndarray) -> None:
    write_media_wav(path, samples, RATE)


def speak(text: str, work: Path, excited: bool = False) -> np.ndarray:
    """espeak-ng speech at RATE, with its leading and trailing silence trimmed."""
    path = work / f"say-{hashlib.sha1(f'{excited}{text}'.encode()).hexdigest()[:12]}.wav"
    # -w, not --stdout: the streamed WAV header carries a bogus length.
    voice = ["-a", "200", "-s", "200", "-p", "80"] if excited else ["-s", "160", "-p", "45"]
    if not path.exists():  # sentences repeat in long streams
        run(["espeak-ng", *voice, "-w", str(path), text])
    samples, rate = read_wav(path)
    loud = np.flatnonzero(np.abs(samples) > 0.003)
    samples = samples[loud[0]:loud[-1] + 1] if loud.size else samples
    # Linear interpolation is plenty for 22 kHz speech; its images are far below the noise.
    t_out = np.arange(int(len(samples) * RATE / rate)) / RATE
    return np.interp(t_out, np.arange(len(samples)) / rate, samples).astype(np.float32)


def at_rms(samples: np.ndarray, dbfs: float, max_peak: float = 0.8) -> np.ndarray:
    """Scaled to an RMS level, but never past MAX_PEAK: the mix must not clip."""
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) or 1.0
    peak = float(np.abs(samples).max()) or 1.0
    return (samples * min(10 ** (dbfs / 20) / rms, max_peak / peak)).astype(np.float32)


def saturate(samples: np.ndarray, drive: float = 3.0) -> np.ndarray:
    """Soft clipping, like a streamer's mic compressor: louder without higher peaks."""
    peak = float(np.abs(samples).max()) or 1.0
    return np.tanh(drive * samples / peak).astype(np.float32)


def fade(samples: np.ndarray, attack: float, release: float) -> np.ndarray:
    env = np.ones(len(samples), dtype=np.float32)
    a, r = int(attack * RATE), int(release * RATE)
    env[:a] = np.linspace(0, 1, a)
    env[len(env) - r:] = np.linspace(1, 0, r)
    return samples * env


def band_noise(rng: np.random.Generator, n: int, low: float, high: float) -> np.ndarray:
    """White noise band-passed in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    return np.fft.irfft(spectrum, n).astype(np.float32)


def cheer(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Crowd-like cheering and laughter: voice-band noise, each 'voice' pulsing like
    "ha-ha" at its own rate, plus scattered claps."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    mix = np.zeros(n, dtype=np.float32)
    for _ in range(6):
        rate, phase = rng.uniform(3.5, 7.0), rng.uniform(0, 2 * np.pi)
        pulse = (0.5 + 0.5 * np.sin(2 * np.pi * rate * t + phase)) ** 2
        mix += band_noise(rng, n, rng.uniform(300, 600), rng.uniform(2500, 4000)) * pulse
    claps = np.zeros(n, dtype=np.float32)
    decay = np.exp(-np.arange(int(0.03 * RATE)) / (0.006 * RATE)).astype(np.float32)
    for start in rng.integers(0, n - len(decay), size=int(seconds * 15)):
        claps[start:start + len(decay)] += decay * rng.uniform(0.5, 1.0)
    mix += band_noise(rng, n, 800, 8000) * claps * 1.5
    return fade(mix, 0.15, 0.8)


def music(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Loud music: a four-chord loop of buzzy triads over a kick drum on every beat."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    roots = list(np.roll([220.0, 174.6, 261.6, 196.0], int(rng.integers(4))))
    chord_len = 1.2
    mix = np.zeros(n, dtype=np.float32)
    for i in range(int(np.ceil(seconds / chord_len))):
        part = (t >= i * chord_len) & (t < (i + 1) * chord_len)
        for ratio in (1.0, 1.26, 1.5):
            f = roots[i % 4] * ratio
            mix[part] += sum(np.sin(2 * np.pi * f * k * t[part]) / k for k in (1, 2, 3))
    beat = 0.5
    tb = np.mod(t, beat)
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-tb * 30)) * tb) * np.exp(-tb * 12)
    mix += 3 * kick.astype(np.float32)
    return fade(mix, 0.05, 0.3)


def noise_floor(rng: np.random.Generator, n: int) -> np.ndarray:
    """Light room/game noise under everything, a little duller than white noise."""
    white = rng.standard_normal(n).astype(np.float32)
    return at_rms(np.convolve(white, np.ones(4, dtype=np.float32) / 4, mode="same"), -55)


def add_at(mix: np.ndarray, start: float, clip: np.ndarray) -> None:
    i = int(start * RATE)
    end = min(len(mix), i + len(clip))
    mix[i:end] += clip[:end - i]


# --- the timeline ------------------------------------------------------------------------

def default_highlights(duration: float) -> int:
    return int(duration // 40)


def plan_highlights(rng: np.random.Generator, duration: float, n: int) -> list[float]:
    """Evenly-ish spread: the first after ~20 s, the last leaving room for the chat burst."""
    if n == 0:
        return []
    lo, hi = 22.0, duration - 15.0
    if hi < lo:
        raise ValueError(f"a {duration:g} s stream is too short for a highlight (need 37 s)")
    if n == 1:
        return [round(lo + 0.3 * (hi - lo), 2)]
    spacing = (hi - lo) / (n - 1)
    jitter = min(3.0, spacing / 8)
    return [round(float(np.clip(lo + i * spacing + rng.uniform(-jitter, jitter), 20, hi)), 2)
            for i in range(n)]


def plan_decoys(rng: np.random.Generator, duration: float,
                highlights: list[float]) -> tuple[list[float], list[float]]:
    """(music starts, chat spam starts): music in every other gap between highlights,
    one spam burst in the first remaining gap; all far from any highlight."""
    if len(highlights) < 2:
        start = highlights[0] + 14 if highlights else duration / 2 - 3
        return ([round(start + rng.uniform(0, 2), 2)] if start + 8 < duration else []), []
    music_at, spam_at = [], []
    for i, (a, b) in enumerate(zip(highlights, highlights[1:], strict=False)):
        middle = (a + b) / 2 + rng.uniform(-2, 2)
        if i % 2 == 0:
            music_at.append(round(middle, 2))
        elif not spam_at:
            spam_at.append(round(middle, 2))
    return music_at, spam_at


def plan_cuts(rng: np.random.Generator, duration: float, events: list[float]) -> list[float]:
    """A cut every 40-70 s, kept 8 s clear of the planted events so that a cut never
    gives a highlight (or a decoy) away."""
    cuts, t = [], rng.uniform(40, 70)
    while t < duration - 10:
        near = [e for e in events if abs(t - e) < 8]
        if near:
            t = max(near) + 8 + rng.uniform(0, 2)
            continue
        cuts.append(round(float(t), 2))
        t += rng.uniform(40, 70)
    return cuts


def place_sentences(rng: np.random.Generator, duration: float, work: Path,
                    reserved: list[tuple[float, float]], mix: np.ndarray
                    ) -> list[tuple[float, float, str]]:
    """Calm sentences, 0.4-1.5 s apart, kept clear of the reserved event windows."""
    order = list(rng.permutation(len(SENTENCES)))
    placed: list[tuple[float, float, str]] = []
    t = rng.uniform(0.5, 1.2)
    audio = speak(SENTENCES[order[0]], work)
    while True:
        end = t + len(audio) / RATE
        if end > duration - 0.5:
            return placed
        clash = next((w for w in reserved if t < w[1] and w[0] < end), None)
        if clash is not None:
            t = clash[1] + rng.uniform(0.4, 1.0)
            continue  # same sentence, after the event
        text = SENTENCES[order[len(placed) % len(order)]]
        add_at(mix, t, at_rms(audio, -23))
        placed.append((round(t, 3), round(end, 3), text))
        t = end + rng.uniform(0.4, 1.5)
        audio = speak(SENTENCES[order[len(placed) % len(order)]], work)


def build_audio(rng: np.random.Generator, duration: float, work: Path, highlights: list[float],
                music_at: list[float]) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The whole soundtrack as one array, and every spoken sentence."""
    mix = noise_floor(rng, int(duration * RATE))
    reserved, shouted = [], []
    for h in highlights:
        text = EXCLAMATIONS[int(rng.integers(len(EXCLAMATIONS)))]
        voice = speak(text, work, excited=True)
        end = h + len(voice) / RATE
        add_at(mix, h, at_rms(saturate(voice), -12))
        crowd = rng.uniform(2.0, 3.0)
        add_at(mix, end + 0.1, at_rms(saturate(cheer(rng, crowd)), -13))
        shouted.append((round(h, 3), round(end, 3), text))
        reserved.append((h - 0.4, end + 0.1 + crowd + 0.3))
    for start in music_at:
        length = rng.uniform(4.0, 6.0)
        add_at(mix, start, at_rms(music(rng, length), -14))
        reserved.append((start - 0.4, start + length + 0.4))
    calm = place_sentences(rng, duration, work, sorted(reserved), mix)
    return mix, sorted(calm + shouted)


# --- chat --------------------------------------------------------------------------------

def chat_burst(rng: np.random.Generator, start: float, seconds: float, rate: float,
               texts: list[str]) -> list[dict]:
    n = int(rng.poisson(rate * seconds))
    times = np.sort(start + rng.uniform(0, seconds, n))
    return [{"t": round(float(t), 2),
             "user": (USERS[int(rng.integers(len(USERS)))] if rng.random() < 0.4
                      else f"viewer{int(rng.integers(100, 1000))}"),
             "text": texts[int(rng.integers(len(texts)))]} for t in times]


def build_chat(rng: np.random.Generator, duration: float, highlights: list[float],
               lags: list[float], spam_at: list[float]) -> list[dict]:
    """A steady ~0.7 msg/s from regulars, 5 s of hype LAG s after each highlight, and
    bot spam."""
    messages = []
    t = rng.exponential(1 / 0.7)
    while t < duration:
        messages.append({"t": round(float(t), 2), "user": USERS[int(rng.integers(len(USERS)))],
                         "text": CHAT_TEXT[int(rng.integers(len(CHAT_TEXT)))]})
        t += rng.exponential(1 / 0.7)
    for h, lag in zip(highlights, lags, strict=True):
        messages += chat_burst(rng, h + lag, 5.0, 8.0, HYPE_TEXT)
    for s in spam_at:
        messages += chat_burst(rng, s, 5.0, 6.0, SPAM_TEXT)
    messages = [m for m in messages if m["t"] < duration]
    return sorted(messages, key=lambda m: m["t"])


def write_chat(path: Path, messages: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(json.dumps(m) + "\n" for m in messages), encoding="utf-8")
    os.replace(tmp, path)


# --- video -------------------------------------------------------------------------------

# The background looks, one per shot between cuts: (first, end) frames of bikes.mp4
# (25 fps) and a grade. Its own cuts are at frames 30, 76, 137, 187 and 242; the ranges
# avoid the fast motion in frames 60-76 and 94-106 (which reads as a cut once played
# back and forth) and the faces in frames 30-44 and 198 (a face detector finds them).
LOOKS = [((137, 187), ""), ((200, 242), ""), ((137, 187), "hflip,hue=h=150:s=1.5,")]


def between(spans: list[tuple[float, float]]) -> str:
    return "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in spans) or "0"


def pingpong(label: str, out: str, fps: float, head: str = "") -> str:
    """Play a short clip forwards then backwards, forever: unlike a plain loop, the seam
    is not a cut."""
    return (f"[{label}]{head}split[{out}_f][{out}_r0];[{out}_r0]reverse[{out}_r];"
            f"[{out}_f][{out}_r]concat=n=2:v=1:a=0,loop=loop=-1:size=32767,"
            f"setpts=N/{fps}/TB[{out}]")


def video_filter(duration: float, width: int, height: int, fps: int,
                 cuts: list[float]) -> str:
    """A background shot that changes at every cut, with the facecam drifting over it.

    Each shot of bikes.mp4 is ping-ponged; the shots are switched with timeline `enable`
    on overlays at the source's small size, and a slow pan keeps the picture moving.
    """
    edges = [0.0, *cuts, duration + 1]
    spans: list[list[tuple[float, float]]] = [[] for _ in LOOKS]
    for k, (a, b) in enumerate(zip(edges, edges[1:], strict=False)):
        # End just before the next cut so two shots never overlap on the cut frame.
        spans[k % len(LOOKS)].append((a, b - 0.001))
    names = "".join(f"[s{i}]" for i in range(len(LOOKS)))
    graph = [f"[0:v]split={len(LOOKS)}{names}"]
    for i, ((first, end), grade) in enumerate(LOOKS):
        head = f"trim=start_frame={first}:end_frame={end},setpts=PTS-STARTPTS,{grade}"
        graph.append(pingpong(f"s{i}", f"shot{i}", 25, head))
    below = "shot0"
    for i in range(1, len(LOOKS)):
        graph.append(f"[{below}][shot{i}]overlay=enable='{between(spans[i])}'[bg{i}]")
        below = f"bg{i}"
    # The source is wider than 16:9: pan across it slowly, then scale up to fill.
    graph.append(f"[{below}]fps={fps},crop='min(iw,ih*{width}/{height})':ih:"
                 f"x='(iw-ow)*(0.5+0.5*sin(t/9))',scale={width}:{height},setsar=1[bg]")
    face_h = round(height * 0.45 / 2) * 2
    graph.append(pingpong("1:v", "face0", fps, f"scale=iw*sar:ih,setsar=1,scale=-2:{face_h},"))
    graph.append("[face0]pad=iw+8:ih+8:4:4:color=0x181818[face]")
    graph.append("[bg][face]overlay=x='(W-w)/2+(W-w)*0.32*sin(2*PI*t/60)':"
                 "y='(H-h)*0.55',format=yuv420p[v]")
    return ";".join(graph)


def encode(out: Path, audio: Path, duration: float, width: int, height: int, fps: int,
           cuts: list[float], data_dir: Path) -> None:
    run(ffmpeg(
        "-i", str(data_dir / "bikes.mp4"),
        "-i", str(data_dir / "carphone_pristine.mp4"),
        "-i", str(audio),
        "-filter_complex", video_filter(duration, width, height, fps, cuts),
        "-map", "[v]", "-map", "2:a", "-t", f"{duration:.3f}",
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-g", str(2 * fps),
        "-c:a", "aac", "-b:a", "128k", "-ar", str(RATE), "-ac", "2",
        "-movflags", "+faststart", "-f", "mp4", str(out),
    ))


# --- streams -----------------------------------------------------------------------------

def chat_path(video: Path) -> Path:
    return video.with_suffix(".chat.jsonl")


def spec_path(video: Path) -> Path:
    return video.with_suffix(".spec.json")


def make_stream(out: Path, duration: float = 180.0, width: int = 1280, height: int = 720,
                fps: int = 30, seed: int = 0, n_highlights: int | None = None,
                data_dir: Path = DATA_DIR) -> StreamSpec:
    """Generate OUT (mp4), OUT.chat.jsonl and OUT.spec.json; return the spec.

    The mp4 is encoded under a temporary name and the spec written last, so a spec on
    disk always describes complete files.
    """
    out, duration = Path(out), float(duration)
    out.parent.mkdir(parents=True, exist_ok=True)
    spec_path(out).unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    count = default_highlights(duration) if n_highlights is None else n_highlights
    highlights = plan_highlights(rng, duration, count)
    music_at, spam_at = plan_decoys(rng, duration, highlights)
    cuts = plan_cuts(rng, duration, highlights + music_at + spam_at)
    lags = [round(float(lag), 2) for lag in rng.uniform(3, 6, len(highlights))]
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".synth-") as tmp:
        work = Path(tmp)
        mix, sentences = build_audio(rng, duration, work, highlights, music_at)
        write_wav(work / "audio.wav", mix)
        write_chat(chat_path(out), build_chat(rng, duration, highlights, lags, spam_at))
        partial = work / out.name
        encode(partial, work / "audio.wav", duration, width, height, fps, cuts, data_dir)
        os.replace(partial, out)
    spec = StreamSpec(video=out, chat=chat_path(out), duration=duration, highlights=highlights,
                      decoys=sorted(music_at + spam_at), sentences=sentences, cuts=cuts,
                      chat_lag=round(float(np.mean(lags)), 2) if lags else 0.0)
    params = {"duration": duration, "width": width, "height": height, "fps": fps,
              "seed": seed, "n_highlights": n_highlights}
    save_spec(spec, params)
    return spec


def save_spec(spec: StreamSpec, params: dict) -> None:
    # File names only: the folder can be moved or shared.
    body = asdict(spec) | {"video": spec.video.name, "chat": spec.chat.name,
                           "params": params, "version": VERSION}
    path = spec_path(spec.video)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def load_spec(video: Path) -> StreamSpec:
    """The spec written beside VIDEO by make_stream."""
    raw = json.loads(spec_path(Path(video)).read_text(encoding="utf-8"))
    folder = Path(video).parent
    return StreamSpec(video=folder / raw["video"], chat=folder / raw["chat"],
                      duration=raw["duration"], highlights=raw["highlights"],
                      decoys=raw["decoys"], cuts=raw["cuts"], chat_lag=raw["chat_lag"],
                      sentences=[(s, e, text) for s, e, text in raw["sentences"]])


def reusable(out: Path, params: dict) -> StreamSpec | None:
    """The spec of an earlier complete generation of OUT with the same params, if any."""
    try:
        raw = json.loads(spec_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if raw.get("version") != VERSION or raw.get("params") != params:
        return None
    spec = load_spec(out)
    return spec if spec.video.is_file() and spec.chat.is_file() else None


def stream_params(**kwargs: object) -> dict:
    params: dict = {"duration": 180.0, "width": 1280, "height": 720, "fps": 30, "seed": 0,
                    "n_highlights": None}
    unknown = set(kwargs) - set(params) - {"data_dir"}
    if unknown:
        raise TypeError(f"unknown stream options: {sorted(unknown)}")
    params.update({k: v for k, v in kwargs.items() if k != "data_dir"})
    params["duration"] = float(params["duration"])
    return params


def cached_stream(cache_dir: Path, **kwargs: object) -> StreamSpec:
    """make_stream(**kwargs) into CACHE_DIR once; later calls reuse the files."""
    params = stream_params(**kwargs)
    key = hashlib.sha1(json.dumps([params, VERSION], sort_keys=True).encode()).hexdigest()[:8]
    name = (f"stream-{params['duration']:g}s-{params['width']}x{params['height']}"
            f"-seed{params['seed']}-{key}.mp4")
    return cached_at(Path(cache_dir) / name, **kwargs)


def cached_at(out: Path, **kwargs: object) -> StreamSpec:
    params = stream_params(**kwargs)
    out.parent.mkdir(parents=True, exist_ok=True)
    # One maker at a time: parallel test workers asking for the same stream wait for the
    # first one's files instead of generating them again.
    with open(out.with_name(f"{out.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        spec = reusable(out, params)
        return spec if spec is not None else make_stream(out, **kwargs)  # type: ignore[arg-type]


def cached_long_stream(cache_dir: Path, duration: float, segment: float = 600.0,
                       **kwargs: object) -> StreamSpec:
    """A stream of DURATION seconds, made cheaply when it is longer than SEGMENT: one
    generated segment, repeated with stream copy (see repeat_stream). Cached like
    cached_stream."""
    if duration <= segment:
        return cached_stream(cache_dir, duration=duration, **kwargs)
    part = cached_stream(cache_dir, duration=segment, **kwargs)
    times = int(-(-duration // segment))
    out = part.video.with_name(f"{part.video.stem}-x{times}.mp4")
    params = {"segment": part.video.name, "times": times}
    return reusable(out, params) or repeat_stream(part, times, out)


def repeat_stream(part: StreamSpec, times: int, out: Path) -> StreamSpec:
    """PART played TIMES over into OUT without re-encoding (ffmpeg's concat demuxer and
    stream copy: minutes for hours of stream), with its chat, highlights, decoys,
    sentences and cuts shifted along."""
    spec_path(out).unlink(missing_ok=True)
    shifts = [n * part.duration for n in range(times)]
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".synth-") as tmp:
        listing = Path(tmp) / "parts.txt"
        listing.write_text("".join(f"file '{part.video.resolve()}'\n" for _ in shifts))
        partial = Path(tmp) / out.name
        run(ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                   "-movflags", "+faststart", str(partial)))
        os.replace(partial, out)
    lines = part.chat.read_text(encoding="utf-8").splitlines()
    messages = [json.loads(line) for line in lines if line.strip()]
    write_chat(chat_path(out), [m | {"t": round(m["t"] + shift, 3)}
                                for shift in shifts for m in messages])
    spec = StreamSpec(
        video=out, chat=chat_path(out), duration=part.duration * times,
        highlights=[h + s for s in shifts for h in part.highlights],
        decoys=[d + s for s in shifts for d in part.decoys],
        sentences=[(a + s, b + s, text) for s in shifts for a, b, text in part.sentences],
        cuts=[c + s for s in shifts for c in part.cuts], chat_lag=part.chat_lag)
    save_spec(spec, {"segment": part.video.name, "times": times})
    return spec


def cached_hls(spec: StreamSpec, cache_dir: Path, fps: int, preset: str = "ultrafast",
               segment: float = 2.0) -> Path:
    """SPEC's stream cut into SEGMENT-s HLS segments (a keyframe starting each, as a live
    encoder makes them) with their playlist `index.m3u8`, in a folder of CACHE_DIR made
    once: a live stream's parts, for tests/live_hls_server.py to reveal one by one."""
    out = Path(cache_dir) / f"{spec.video.stem}-{preset}"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_name(f"{out.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker at a time, as in cached_at
        if (out / "index.m3u8").exists():
            return out
        gop = str(round(fps * segment))
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".synth-") as tmp:
            part = Path(tmp) / out.name
            part.mkdir()
            run(ffmpeg("-i", str(spec.video), "-c:v", "libx264", "-preset", preset,
                       "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
                       "-c:a", "aac", "-b:a", "128k", "-f", "hls", "-hls_time", f"{segment:g}",
                       "-hls_playlist_type", "vod",
                       "-hls_segment_filename", str(part / "seg%05d.ts"),
                       str(part / "index.m3u8")))
            os.replace(part, out)
    return out

# --- bad inputs --------------------------------------------------------------------------

def make_bad_inputs(dir: Path, data_dir: Path = DATA_DIR) -> dict[str, Path]:
    """Inputs a user might give by mistake, plus one good audio-only file."""
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    paths = {"missing": dir / "missing.mp4", "not_media": dir / "x.mp4",
             "no_audio": dir / "no_audio.mp4", "empty": dir / "empty.mp4",
             "truncated": dir / "truncated.mp4", "cut_short": dir / "cut_short.mp4",
             "bad_chat": dir / "bad_chat.jsonl", "audio_only": dir / "audio_only.m4a"}
    paths["not_media"].write_text("this is a text file, not a video\n")
    paths["empty"].write_bytes(b"")
    paths["bad_chat"].write_text('{"t": 1.0, "user": "ann", "text": "hi"}\n'
                                 '{"t": 2.5, "user": "bob", "text": "hel\n'
                                 '{"t": 4.0, "user": "cy", "text": "yo"}\n')
    run(ffmpeg("-i", str(data_dir / "carphone_pristine.mp4"), "-t", "3", "-an",
               "-c:v", "libx264", "-preset", "ultrafast", str(paths["no_audio"])))
    make_truncated(paths["truncated"], paths["cut_short"], data_dir)
    make_speech_file(paths["audio_only"], 20.0)
    return paths


def make_truncated(truncated: Path, cut_short: Path, data_dir: Path) -> None:
    """Two downloads that stopped early, from one 10 s mp4 with audio.

    TRUNCATED keeps the first 30%: without faststart the moov atom (the index of every
    sample) is at the end and goes with the cut, so nothing can open it. CUT_SHORT is the
    faststart remux cut in half: it probes as 10 s but decodes only about 5 s.
    """
    full = truncated.with_name(f".{truncated.stem}.full.mp4")
    fast = truncated.with_name(f".{truncated.stem}.fast.mp4")
    run(ffmpeg("-i", str(data_dir / "bikes.mp4"),
               "-stream_loop", "-1", "-i", str(data_dir / "arctic_a0007.wav"),
               "-map", "0:v", "-map", "1:a", "-t", "10", "-c:v", "libx264",
               "-preset", "ultrafast", "-c:a", "aac", str(full)))
    run(ffmpeg("-i", str(full), "-c", "copy", "-movflags", "+faststart", str(fast)))
    data = full.read_bytes()
    truncated.write_bytes(data[:int(len(data) * 0.3)])
    data = fast.read_bytes()
    cut_short.write_bytes(data[:len(data) // 2])
    full.unlink()
    fast.unlink()


def make_speech_file(out: Path, seconds: float) -> None:
    """An m4a of espeak-ng speech, padded or cut to exactly SECONDS."""
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".synth-") as tmp:
        wav = Path(tmp) / "speech.wav"
        run(["espeak-ng", "-s", "160", "-w", str(wav), " ".join(SENTENCES[:12])])
        run(ffmpeg("-i", str(wav), "-af", "apad", "-t", f"{seconds:.3f}", "-ar", str(RATE),
                   "-c:a", "aac", "-b:a", "96k", str(out)))


# --- vision test streams -----------------------------------------------------------------

@dataclass
class FacecamSpec:
    video: Path
    facecam: tuple[int, int, int, int]  # x, y, w, h of the overlay in the frame
    sentences: list[tuple[float, float, str]]


def make_facecam_stream(out: Path, duration: float = 16.0, width: int = 1280,
                        height: int = 720, fps: int = 30, seed: int = 5,
                        data_dir: Path = DATA_DIR) -> FacecamSpec:
    """Gameplay with a webcam overlay: bikes.mp4 (with its own shot cuts) filling the
    frame, the real face of carphone_pristine.mp4 as a fixed facecam in the bottom-right
    corner (a quarter of the frame wide, no border), espeak-ng speech with one excited
    exclamation and cheering at mid-stream."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cam_w = round(width * 0.26 / 2) * 2
    cam_h = round(cam_w * 144 / 176 / 2) * 2
    cam_x, cam_y = width - cam_w - round(width * 0.02), height - cam_h - round(height * 0.04)
    rng = np.random.default_rng(seed)
    graph = ";".join([
        pingpong("0:v", "game", 25, ""),
        f"[game]fps={fps},scale=-2:{height},crop={width}:{height},setsar=1[bg]",
        pingpong("1:v", "cam0", fps, ""),
        f"[cam0]scale={cam_w}:{cam_h},setsar=1[cam]",
        f"[bg][cam]overlay=x={cam_x}:y={cam_y},format=yuv420p[v]",
    ])
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".synth-") as tmp:
        work = Path(tmp)
        mix, sentences = build_audio(rng, duration, work, [duration * 0.55], [])
        write_wav(work / "audio.wav", mix)
        partial = work / out.name
        run(ffmpeg("-i", str(data_dir / "bikes.mp4"), "-i",
                   str(data_dir / "carphone_pristine.mp4"), "-i", str(work / "audio.wav"),
                   "-filter_complex", graph, "-map", "[v]", "-map", "2:a",
                   "-t", f"{duration:.3f}", "-c:v", "libx264", "-preset", "ultrafast",
                   "-crf", "24", "-g", str(2 * fps), "-c:a", "aac", "-b:a", "128k",
                   "-ar", str(RATE), "-ac", "2", "-movflags", "+faststart", str(partial)))
        os.replace(partial, out)
    return FacecamSpec(video=out, facecam=(cam_x, cam_y, cam_w, cam_h), sentences=sentences)


@dataclass
class DriftingFacecam:
    """A webcam overlay that drifts: its top-left corner moves in a straight line from
    `start` to `end` (pixels) over the video."""

    video: Path
    size: tuple[int, int]  # w, h of the overlay
    start: tuple[float, float]
    end: tuple[float, float]
    duration: float

    def box(self, t: float) -> tuple[float, float, float, float]:
        """The overlay's x, y, w, h at `t` seconds."""
        k = min(max(t / self.duration, 0.0), 1.0)
        x = self.start[0] + (self.end[0] - self.start[0]) * k
        y = self.start[1] + (self.end[1] - self.start[1]) * k
        return x, y, float(self.size[0]), float(self.size[1])


def make_drifting_facecam(out: Path, duration: float = 12.0, width: int = 1280,
                          height: int = 720, fps: int = 30,
                          data_dir: Path = DATA_DIR) -> DriftingFacecam:
    """Gameplay (bikes.mp4, ping-ponged, filling the frame) under the talking face of
    carphone_pristine.mp4 as a webcam overlay that drifts right and down across the
    right half of the frame, as a facecam set to follow the mouse does; a quiet tone is
    the audio."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cam_w = round(width * 0.28 / 2) * 2
    cam_h = round(cam_w * 144 / 176 / 2) * 2
    spec = DriftingFacecam(out, (cam_w, cam_h), (width * 0.50, height * 0.12),
                           (width - cam_w - width * 0.03, height - cam_h - height * 0.06),
                           duration)
    (x0, y0), (x1, y1) = spec.start, spec.end
    graph = ";".join([
        pingpong("0:v", "game", 25, ""),
        f"[game]fps={fps},scale=-2:{height},crop={width}:{height},setsar=1[bg]",
        pingpong("1:v", "cam0", fps, ""),
        f"[cam0]scale={cam_w}:{cam_h},setsar=1[cam]",
        f"[bg][cam]overlay=x='{x0:.1f}+{x1 - x0:.1f}*t/{duration:g}':"
        f"y='{y0:.1f}+{y1 - y0:.1f}*t/{duration:g}',format=yuv420p[v]",
    ])
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".synth-") as tmp:
        partial = Path(tmp) / out.name
        run(ffmpeg("-i", str(data_dir / "bikes.mp4"), "-i",
                   str(data_dir / "carphone_pristine.mp4"), "-f", "lavfi", "-i",
                   f"sine=f=220:d={duration}:r={RATE}", "-filter_complex", graph,
                   "-map", "[v]", "-map", "2:a", "-t", f"{duration:.3f}", "-c:v", "libx264",
                   "-preset", "ultrafast", "-crf", "22", "-g", str(fps), "-c:a", "aac",
                   "-b:a", "64k", "-af", "volume=0.05", str(partial)))
        os.replace(partial, out)
    return spec


@dataclass(frozen=True)
class Portrait:
    """A portrait (a still image, or a video such as the talking carphone) moving on a
    sine: x(t) = x0 + ax * sin(2 pi t / period + phase);
    after `cut_at` (a hard cut of the whole scene) it is `jump` px further right."""

    image: str  # a file in tests/data: an image, or an .mp4 (looped)
    size: int  # scaled to this height
    x0: float
    ax: float
    y: float
    period: float = 8.0
    phase: float = 0.0
    jump: float = 0.0

    def x(self, t: float, cut_at: float | None = None) -> float:
        shift = self.jump if cut_at is not None and t >= cut_at else 0.0
        return self.x0 + self.ax * float(np.sin(2 * np.pi * t / self.period + self.phase)) \
            + shift

    def x_expr(self, cut_at: float | None) -> str:
        shift = f"+{self.jump:.1f}*gte(t,{cut_at:.3f})" if cut_at is not None else ""
        return f"{self.x0:.1f}+{self.ax:.1f}*sin(2*PI*t/{self.period:g}+{self.phase:g}){shift}"


TWO_PORTRAITS = (
    Portrait("astronaut.png", 300, x0=170, ax=130, y=60, period=9.0),
    Portrait("grace_hopper.jpg", 300, x0=820, ax=130, y=340, period=7.0, phase=1.5),
)


def make_portraits_stream(out: Path, portraits: tuple[Portrait, ...] = TWO_PORTRAITS,
                          duration: float = 10.0, width: int = 1280, height: int = 720,
                          fps: int = 30, cut_at: float | None = None,
                          data_dir: Path = DATA_DIR) -> Path:
    """Still portraits moving over a generated, changing scene (ffmpeg `gradients`); at
    `cut_at` the scene changes colour at once (a shot cut) and each portrait jumps. A
    quiet tone is the audio, so the file is like any stream."""
    out.parent.mkdir(parents=True, exist_ok=True)
    inputs: list[str] = []
    for p in portraits:  # a still image, or a video (looped)
        loop = ["-stream_loop", "-1"] if p.image.endswith(".mp4") else \
            ["-loop", "1", "-framerate", str(fps)]
        inputs += [*loop, "-i", str(data_dir / p.image)]
    n = len(portraits)
    scene = f"gradients=s={width}x{height}:r={fps}:speed=0.02:c0=0x203050:c1=0x506070:d={duration}"
    graph = [f"{scene},hue=H='{180 if cut_at is not None else 0}*gte(t,{cut_at or 0:.3f})'"
             ",format=yuv420p[bg0]"]
    below = "bg0"
    for i, p in enumerate(portraits):
        graph.append(f"[{i}:v]fps={fps},scale=-2:{p.size},setsar=1[p{i}]")
        graph.append(f"[{below}][p{i}]overlay=x='{p.x_expr(cut_at)}':y={p.y:.0f}:"
                     f"shortest=1[bg{i + 1}]")
        below = f"bg{i + 1}"
    graph.append(f"[{below}]format=yuv420p[v]")
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".synth-") as tmp:
        partial = Path(tmp) / out.name
        run(ffmpeg(*inputs, "-f", "lavfi", "-i", f"sine=f=220:d={duration}:r={RATE}",
                   "-filter_complex", ";".join(graph), "-map", "[v]", "-map", f"{n}:a",
                   "-t", f"{duration:.3f}", "-c:v", "libx264", "-preset", "ultrafast",
                   "-crf", "22", "-g", str(fps), "-c:a", "aac", "-b:a", "64k",
                   "-af", "volume=0.05", str(partial)))
        os.replace(partial, out)
    return out


# --- command line ------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    stream = sub.add_parser("stream", help="a livestream mp4 with its chat and spec beside it")
    stream.add_argument("out", type=Path)
    stream.add_argument("--duration", type=float, default=180.0)
    stream.add_argument("--seed", type=int, default=0)
    stream.add_argument("--width", type=int, default=1280)
    stream.add_argument("--height", type=int, default=720)
    stream.add_argument("--fps", type=int, default=30)
    stream.add_argument("--highlights", type=int, default=None, help="default: duration // 40")
    stream.add_argument("--cached", action="store_true",
                        help="reuse OUT if an earlier run made it with the same options")
    bad = sub.add_parser("bad", help="bad input files for error-handling tests")
    bad.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "bad":
        for name, path in make_bad_inputs(args.dir).items():
            print(f"{name}: {path}")
        return
    options = {"duration": args.duration, "width": args.width, "height": args.height,
               "fps": args.fps, "seed": args.seed, "n_highlights": args.highlights}
    spec = cached_at(args.out, **options) if args.cached else make_stream(args.out, **options)
    print(spec.video)
    print(spec.chat)
    print(spec_path(spec.video))


if __name__ == "__main__":
    main()
