"""Running ffmpeg/ffprobe: probing, audio extraction, frame decoding, thumbnails.

Every command line ClipForge runs is built in `media/`; stages call these functions.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from clipforge import errors
from clipforge.domain import MediaInfo

AUDIO_RATE = 16_000  # what faster-whisper and our audio signals expect
SETPRIV = shutil.which("setpriv")
# The containers ClipForge reads (ffmpeg demuxer names). Anything else is refused, above
# all playlists (hls), concat lists and image sequences: they make ffmpeg open other files
# named inside them, so a crafted upload could read any file on the server.
CONTAINERS = ("mov", "matroska", "webm", "flv", "mpegts", "wav", "mp3", "aac", "ogg")
# Sources are opened only as local files: no http, no pipes, no nested protocols.
PROTOCOLS = "file"


def require_tools() -> None:
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise errors.MissingDependency(
                f"{tool} is not installed: install it (Debian: `apt-get install ffmpeg`) "
                "and run again"
            )


def _tied(cmd: list[str]) -> list[str]:
    """The command, made to die with ClipForge: if it is killed (kill -9, a crash), its
    ffmpeg must not write on into files that a resumed run is writing. util-linux's
    setpriv sets the parent-death signal and execs the command (no Python in the child,
    which is what makes it safe from our threads)."""
    return [SETPRIV, "--pdeathsig", "KILL", "--", *cmd] if SETPRIV else cmd


def run(cmd: list[str], what: str, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[bytes]:
    """Run a media command; turn failures into errors that say what we were doing."""
    proc = subprocess.run(_tied(cmd), capture_output=True, cwd=cwd)
    if proc.returncode != 0:
        _failed(what, proc.stderr)
    return proc


def run_with_progress(cmd: list[str], what: str, duration: float,
                      on_progress: Callable[[float], None], cwd: Path | None = None) -> None:
    """Run an ffmpeg command, telling ON_PROGRESS the share (0..1) of DURATION seconds of
    output written so far, from ffmpeg's own `-progress` report (a few times a second)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(_tied([cmd[0], "-progress", "pipe:1", "-nostats", *cmd[1:]]),
                                stdout=subprocess.PIPE, stderr=err, cwd=cwd)
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, value = line.decode(errors="replace").strip().partition("=")
            if key == "out_time_us" and value.lstrip("-").isdigit() and duration > 0:
                on_progress(min(1.0, max(0.0, int(value) / 1e6 / duration)))
        proc.wait()
        if proc.returncode != 0:
            err.seek(0)
            _failed(what, err.read())


def _failed(what: str, stderr: bytes) -> None:
    detail = " | ".join(stderr.decode(errors="replace").strip().splitlines()[-3:])
    if "No space left on device" in detail:
        raise errors.NoSpaceLeft(f"{what}: no space left on device; free some disk space")
    raise errors.MediaToolError(f"{what} failed: {detail}")


def _ffmpeg(*args: str) -> list[str]:
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]


# Frames smaller than this (either side) hold nothing to see or frame: such a recording
# is processed as audio only.
MIN_FRAME_PX = 16

def probe(path: Path) -> MediaInfo:
    """Describe a media file, or raise an InputError that names it and the problem."""
    if not path.exists():
        raise errors.SourceNotFound(f"{path}: no such file; check the path")
    if path.is_dir():
        raise errors.NotMedia(f"{path}: is a folder; give a video or audio file")
    if path.stat().st_size == 0:
        raise errors.EmptyMedia(f"{path}: the file is empty (0 bytes); give a complete recording")
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-protocol_whitelist", PROTOCOLS, "-format_whitelist",
         ",".join(CONTAINERS), "-print_format", "json", "-show_format", "-show_streams",
         str(path)],
        capture_output=True,
    )
    info = json.loads(proc.stdout or b"{}")
    if proc.returncode != 0 or "format" not in info:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        if any("moov atom not found" in line for line in reason) and _mp4_header(path):
            raise errors.CorruptMedia(
                f"{path}: the file is truncated or corrupt (moov atom not found); "
                "re-download or re-export it"
            )
        raise errors.NotMedia(
            f"{path}: not a video or audio file ClipForge reads; give an mp4, mkv, webm, "
            "mov, flv, ts, wav, mp3, m4a, aac, ogg or opus file (never a playlist)"
        )
    return _media_info(path, info)


def _mp4_header(path: Path) -> bool:
    """An MP4/MOV file starts with a box such as ftyp; a renamed text file does not."""
    with path.open("rb") as f:
        head = f.read(12)
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


def _media_info(path: Path, info: dict) -> MediaInfo:
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")
                  and min(int(s.get("width") or 0), int(s.get("height") or 0))
                  >= MIN_FRAME_PX), None)  # a smaller picture shows nothing: audio only
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = float(info["format"].get("duration") or 0.0)
    if video is None and audio is None:
        raise errors.NotMedia(f"{path}: holds no video or audio stream; give a recording")
    if audio is None:
        raise errors.NoAudio(
            f"{path}: has no audio stream; ClipForge needs the stream's sound to find "
            "highlights: give a recording with audio"
        )
    if not math.isfinite(duration) or duration < 1.0:
        raise errors.EmptyMedia(
            f"{path}: lasts {duration:.2f} s; give a recording of at least a few seconds"
        )
    return MediaInfo(
        path=str(path),
        duration=duration,
        has_video=video is not None,
        has_audio=True,
        width=int(video.get("width", 0)) if video else 0,
        height=int(video.get("height", 0)) if video else 0,
        fps=_fps(video.get("avg_frame_rate", "0/1")) if video else 0.0,
    )


def source_input(path: Path) -> list[str]:
    """The input options that open a source: local files only, with the demuxer forced to
    the one its probe found, so the bytes are never read as a playlist whatever they
    hold. Options such as -ss go before these."""
    return ["-protocol_whitelist", PROTOCOLS, "-f", demuxer(path), "-i", str(path)]


def demuxer(path: Path) -> str:
    """The container format the probe found (one of CONTAINERS), to force on open."""
    stat = path.stat()
    return _demuxer(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _demuxer(path: str, _mtime: int, _size: int) -> str:
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-protocol_whitelist", PROTOCOLS, "-format_whitelist",
         ",".join(CONTAINERS), "-show_entries", "format=format_name", "-of", "csv=p=0",
         path], capture_output=True, text=True)
    name = proc.stdout.strip().strip('"').split(",")[0]
    if proc.returncode != 0 or name not in CONTAINERS:
        raise errors.NotMedia(f"{Path(path).name}: not a container ClipForge reads "
                              f"({', '.join(CONTAINERS)})")
    return name


def _fps(rate: str) -> float:
    num, _, den = rate.partition("/")
    try:
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0


def extract_audio(src: Path, dst: Path) -> None:
    """Decode the whole source to 16 kHz mono 16-bit WAV (written to a temp name first)."""
    tmp = dst.with_name(dst.name + ".part.wav")
    run(_ffmpeg(*source_input(src), "-vn", "-ac", "1", "-ar", str(AUDIO_RATE),
                "-c:a", "pcm_s16le", str(tmp)),
        f"extracting audio from {src}")
    os.replace(tmp, dst)


def audio_peaks(src: Path, start: float, duration: float, points: int,
                rate: int = 8000) -> np.ndarray:
    """The peak level (0..1) of POINTS equal slices of a range of a file's audio, mono at
    RATE Hz (enough to draw a waveform)."""
    proc = run(_ffmpeg("-ss", f"{max(start, 0.0):.3f}", "-t", f"{duration:.3f}",
                       *source_input(src), "-vn", "-ac", "1", "-ar", str(rate),
                       "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1"),
               f"reading the audio of {src.name}")
    samples = np.abs(np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32)) / 32768.0
    if len(samples) == 0 or points <= 0:
        return np.zeros(max(points, 0), np.float32)
    return np.array([part.max() if len(part) else 0.0
                     for part in np.array_split(samples, points)], np.float32)


def decode_frames(
    src: Path, start: float, duration: float, fps: float, width: int, height: int
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (time in source, BGR frame of width x height) at `fps` over a range."""
    cmd = _ffmpeg("-ss", f"{start:.3f}", "-t", f"{duration:.3f}", *source_input(src), "-an",
                  "-vf", f"fps={fps},scale={width}:{height}:flags=fast_bilinear",
                  "-pix_fmt", "bgr24", "-f", "rawvideo", "-")
    frame_bytes = width * height * 3
    with subprocess.Popen(_tied(cmd), stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        index = 0
        while True:
            buf = proc.stdout.read(frame_bytes)
            if len(buf) < frame_bytes:
                break
            frame = np.frombuffer(buf, np.uint8).reshape(height, width, 3)
            yield start + index / fps, frame
            index += 1


def thumbnail(video: Path, at: float, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".part.jpg")
    run(_ffmpeg("-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1", "-q:v", "3",
                str(tmp)),
        f"writing thumbnail {dst.name}")
    os.replace(tmp, dst)


def still_frame(source: Path, at: float, width: int) -> bytes:
    """One frame of a source as JPEG at `at` seconds, at most `width` px wide (the region
    picker draws the panes over it)."""
    proc = run(_ffmpeg("-ss", f"{max(0.0, at):.3f}", *source_input(source), "-an",
                       "-frames:v", "1", "-vf", f"scale='min({width},iw)':-2",
                       "-q:v", "4", "-f", "mjpeg", "-"),
               f"taking a frame of {source.name}")
    return proc.stdout


class Pcm:
    """The samples of a 16-bit mono WAV, read from disk as they are sliced (float32 in
    [-1, 1]): a multi-hour stream's audio is never in memory at once."""

    def __init__(self, path: Path) -> None:
        offset, frames = _wav_data(path)
        self._data = (np.memmap(path, dtype="<i2", mode="r", offset=offset, shape=(frames,))
                      if frames else np.zeros(0, "<i2"))  # mmap refuses an empty range

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, part: slice) -> np.ndarray:
        return np.asarray(self._data[part], np.float32) / 32768.0


Samples = np.ndarray | Pcm  # what audio analysis slices: an array, or a WAV on disk


def _wav_data(path: Path) -> tuple[int, int]:
    """(byte offset, sample count) of a 16-bit mono WAV's data chunk."""
    with path.open("rb") as wav:
        if wav.read(12)[8:] != b"WAVE":
            raise ValueError(f"{path} is not a WAV file")
        while len(head := wav.read(8)) == 8:
            size = int.from_bytes(head[4:], "little")
            if head[:4] == b"data":  # a size written before the end was known is too big
                return wav.tell(), min(size, path.stat().st_size - wav.tell()) // 2
            wav.seek(size + size % 2, os.SEEK_CUR)
    raise ValueError(f"{path} holds no audio data")


def read_wav(path: Path) -> np.ndarray:
    """Samples of a 16-bit mono WAV as float32 in [-1, 1], all at once."""
    return Pcm(path)[:]


def write_wav(path: Path, samples: np.ndarray, rate: int = AUDIO_RATE) -> None:
    import wave

    tmp = path.with_name(path.name + ".part.wav")
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    os.replace(tmp, path)
