"""Stage results as JSON artifacts on disk, and the report.json the user reads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from clipforge.domain import (
    Analysis,
    Face,
    FaceSample,
    Region,
    Segment,
    Word,
)
from clipforge.storage import store


def write_json(path: Path, data: object) -> None:
    """Write atomically: a reader (or a resumed run) never sees half a file."""
    write_text(path, json.dumps(data, indent=1))


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text)
    tmp.replace(path)


def read_json(path: Path) -> object:
    return json.loads(store.local(path).read_text())


def to_json(obj: Any) -> Any:
    if isinstance(obj, list):
        return [to_json(o) for o in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    return obj


def file_digest(path: Path) -> str:
    return hashlib.sha1(store.local(path).read_bytes()).hexdigest()[:16]


def _list(path: Path) -> list[dict[str, Any]]:
    data = read_json(path)
    assert isinstance(data, list), f"{path} should hold a list"
    return data


def segment_from(raw: dict[str, Any]) -> Segment:
    return Segment(start=raw["start"], end=raw["end"], text=raw["text"],
                   words=[Word(**w) for w in raw["words"]])


def load_segments(path: Path) -> list[Segment]:
    return [segment_from(s) for s in _list(path)]


def load_analysis(path: Path) -> Analysis:
    raw = read_json(path)
    assert isinstance(raw, dict)
    faces = [FaceSample(t=f["t"], faces=[Face(**b) for b in f["faces"]]) for f in raw["faces"]]
    facecam = Region(**raw["facecam"]) if raw.get("facecam") else None
    return Analysis(cuts=raw["cuts"], faces=faces, facecam=facecam,
                    motion=raw.get("motion", []))


def load_transcripts(paths: list[str]) -> list[Segment]:
    """The segments of many transcribe jobs' results, in order."""
    return [seg for p in paths for seg in load_segments(Path(p))]


def load_analyses(paths: list[str]) -> list[Analysis]:
    return [load_analysis(Path(p)) for p in paths]
