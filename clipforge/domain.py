"""Plain dataclasses shared by every stage. Times are seconds (float) in the source."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe tells us about a source file."""

    path: str
    duration: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0


@dataclass(frozen=True)
class Chunk:
    """A slice of the source, processed independently of the others."""

    index: int
    start: float
    end: float
    audio: str  # 16 kHz mono WAV holding exactly [start, end)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Face:
    """A detected face; box in pixels of the source frame."""

    x: float
    y: float
    w: float
    h: float
    score: float
    # 128-d identity embedding (analysis/recognize.py), on the samples recognition ran on.
    embedding: list[float] | None = None
    # How much the mouth moved against the rest of the face since the frame before
    # (mean grey-level change), where it could be measured: who is speaking.
    mouth: float | None = None

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class FaceSample:
    """Faces seen in the frame at time `t`."""

    t: float
    faces: list[Face]


@dataclass(frozen=True)
class ChatMessage:
    t: float
    user: str
    text: str
    emotes: list[str] = field(default_factory=list)  # emote names, in message order


@dataclass(frozen=True)
class Region:
    """A rectangle in source pixels."""

    x: float
    y: float
    w: float
    h: float

    def as_list(self) -> list[float]:
        return [round(self.x, 1), round(self.y, 1), round(self.w, 1), round(self.h, 1)]


@dataclass(frozen=True)
class Analysis:
    """Vision results for one chunk: shot cuts, sampled faces, the facecam overlay (if
    one was found) and where the picture moves (a coarse grid of mean frame change,
    MOTION_ROWS x MOTION_COLS, row-major)."""

    cuts: list[float]
    faces: list[FaceSample]
    facecam: Region | None = None
    motion: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class Candidate:
    """A scored clip before rendering."""

    rank: int
    start: float
    end: float
    peak: float
    score: float
    reasons: dict[str, float]
    title: str
    # Each feature's mean robust z-score around the peak, before weighting: what the
    # per-streamer re-ranker learns from.
    features: dict[str, float] = field(default_factory=dict)


def clip_id(stream_key: str, cand: Candidate) -> str:
    """A clip's id: its stream and bounds, so a re-run picking it again finds it."""
    return hashlib.sha1(f"{stream_key}:{cand.start:.3f}:{cand.end:.3f}".encode()).hexdigest()[:10]


@dataclass(frozen=True)
class RenderedClip:
    id: str
    rank: int
    start: float
    end: float
    score: float
    reasons: dict[str, float]
    title: str
    layout: str
    file: str
    captions: str
    thumbnail: str


# Event names: the contract between stages and with the web UI.
STREAM_SUBMITTED = "stream.submitted"
STREAM_INGESTED = "stream.ingested"
STREAM_CHUNKED = "stream.chunked"
CHUNK_TRANSCRIBED = "chunk.transcribed"
CHUNK_ANALYZED = "chunk.analyzed"
HIGHLIGHTS_SCORED = "highlights.scored"
CLIP_RENDERED = "clip.rendered"
CLIP_APPROVED = "clip.approved"
CLIP_REJECTED = "clip.rejected"
CLIP_EDITED = "clip.edited"
STREAM_COMPLETED = "stream.completed"
STREAM_CANCELLED = "stream.cancelled"
STREAM_NOTICE = "stream.notice"  # something the user should know, e.g. no chat replay
CLIP_PUBLISHED = "clip.published"
JOB_PROGRESS = "job.progress"
JOB_FAILED = "job.failed"


@dataclass(frozen=True)
class Options:
    """How a stream is processed; stored with the stream so any worker can pick it up."""

    out_dir: Path
    chat: Path | None = None
    top: int = 5
    layout: str = "auto"
    min_len: float = 15.0
    max_len: float = 60.0
    captions: bool = True
    streamer: str = "default"  # whose chat lag and preferences apply
    full_transcript: bool = False  # transcribe and analyze everything, not just candidates
    render: bool = True  # False: pick and report the moments only (no clip files)
    weights: dict[str, float] | None = None  # feature weights; None: score.DEFAULT_WEIGHTS
    # Caption look: a preset name (analysis/captions.py) and a streamer's size and colour
    # over it; empty: the streamer's default, else the `caption_style` setting.
    caption_style: str = ""
    caption_size: int | None = None
    caption_colour: str | None = None
    facecam: list[float] | None = None  # a streamer's fixed facecam: x, y, w, h in 0..1
    gameplay: list[float] | None = None  # a streamer's gameplay pane: x, y, w, h in 0..1
    aspect: str = ""  # 9:16, 1:1 or 16:9; empty: the streamer's default, else 9:16
    # Spoken language: a whisper code (en, es, ja, ...) or "auto"; empty: the streamer's
    # default, else the `language` setting.
    language: str = ""
    live: bool = False  # followed while it is streamed (services/live.py)

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["out_dir"] = str(self.out_dir)
        raw["chat"] = str(self.chat) if self.chat else None
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Options:
        values = dict(raw)
        values["out_dir"] = Path(values["out_dir"])
        values["chat"] = Path(values["chat"]) if values.get("chat") else None
        return cls(**values)
