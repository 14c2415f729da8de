"""Stage results as JSON artifacts on disk, and the report.json the user reads."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from clipforge.domain import (
    Analysis,
    Chunk,
    Face,
    FaceSample,
    MediaInfo,
    RenderedClip,
    Segment,
    Word,
)
from clipforge.runtime.ledger import read_json


def to_json(obj: Any) -> Any:
    if isinstance(obj, list):
        return [to_json(o) for o in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    return obj


def file_digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def _list(path: Path) -> list[dict[str, Any]]:
    data = read_json(path)
    assert isinstance(data, list), f"{path} should hold a list"
    return data


def load_chunks(path: Path) -> list[Chunk]:
    return [Chunk(**c) for c in _list(path)]


def segment_from(raw: dict[str, Any]) -> Segment:
    return Segment(start=raw["start"], end=raw["end"], text=raw["text"],
                   words=[Word(**w) for w in raw["words"]])


def load_segments(path: Path) -> list[Segment]:
    return [segment_from(s) for s in _list(path)]


def load_analysis(path: Path) -> Analysis:
    raw = read_json(path)
    assert isinstance(raw, dict)
    faces = [FaceSample(t=f["t"], faces=[Face(**b) for b in f["faces"]]) for f in raw["faces"]]
    return Analysis(cuts=raw["cuts"], faces=faces)


def report(info: MediaInfo, clips: list[RenderedClip], segments: list[Segment],
           timings: dict[str, float]) -> dict[str, Any]:
    """The report.json contract (see README)."""
    return {
        "stream": {"source": info.path, "duration": round(info.duration, 3)},
        "clips": [asdict(c) for c in clips],
        "transcript": [asdict(s) for s in segments],
        "timings": timings,
    }
