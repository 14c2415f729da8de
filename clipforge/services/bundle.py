""""Download all": a stream's rendered clips in one zip, named by their titles, with the
captions burned into each (SRT and WebVTT, as rendered, edits included) and report.json.

The zip is written as it is sent: nothing is built on disk or held whole in memory.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge.storage import artifacts, store
from clipforge.storage.models import ClipRow, JobRow, StreamRow

BLOCK = 1 << 20


@dataclass(frozen=True)
class Entry:
    name: str  # in the zip
    path: Path | None = None  # a file to copy in
    data: bytes = b""  # or these bytes
    compress: bool = True


def safe_name(text: str) -> str:
    """What a file system allows of TEXT, on one line, at most 80 characters."""
    return " ".join(re.sub(r"[^\w\s'&,.!()-]+", " ", text).split())[:80].strip(" .")


def file_title(clip: ClipRow) -> str:
    """A name people recognise: the clip's title, else its id."""
    return safe_name(clip.title) or clip.id


def unique(name: str, taken: set[str]) -> str:
    """NAME, or NAME (2), (3)... when a clip of the same title came first."""
    found, n = name, 1
    while found.lower() in taken:
        n += 1
        found = f"{name} ({n})"
    taken.add(found.lower())
    return found


def entries(s: Session, stream: StreamRow) -> list[Entry]:
    """What the stream's zip holds: every rendered clip not rejected, best first."""
    clips = s.scalars(select(ClipRow).where(
        ClipRow.stream_id == stream.id, ClipRow.file.is_not(None),
        ClipRow.status != "rejected").order_by(ClipRow.rank, ClipRow.id))
    found: list[Entry] = []
    listed: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for clip in clips:
        mp4 = Path(clip.file or "")
        if not store.exists(mp4):
            continue
        name = unique(file_title(clip), taken)
        files = {"file": f"{name}.mp4"}
        found.append(Entry(files["file"], store.local(mp4), compress=False))
        for suffix in (".srt", ".vtt"):
            if store.exists(mp4.with_suffix(suffix)):
                files[suffix[1:]] = f"{name}{suffix}"
                found.append(Entry(files[suffix[1:]], store.local(mp4.with_suffix(suffix))))
        listed[clip.id] = {"id": clip.id, "rank": clip.rank, "start": clip.start,
                           "end": clip.end, "score": clip.score, "reasons": clip.reasons,
                           "title": clip.title, "layout": clip.rendered_layout,
                           "status": clip.status, **files}
    found.append(Entry("report.json", data=json.dumps(
        report(s, stream, listed), indent=2).encode()))
    return found


def report(s: Session, stream: StreamRow, listed: dict[str, dict[str, Any]]
           ) -> dict[str, Any]:
    """The stream's report.json (its transcript and timings) with the clips as they are
    now, each with its files named as in the zip."""
    path = s.scalar(select(JobRow.result).where(
        JobRow.stream_id == stream.id, JobRow.stage == "report", JobRow.status == "done")
        .order_by(JobRow.id.desc()).limit(1))
    stored: dict[str, Any] = {}
    if path and store.exists(path):
        loaded = artifacts.read_json(store.local(Path(path)))
        stored = loaded if isinstance(loaded, dict) else {}
    source = str(stored.get("stream", {}).get("source", ""))
    if "://" not in source:  # a path on the server is nobody else's business
        source = Path(source).name
    return {**stored, "stream": {"source": source, "name": stream.name,
                                 "duration": stream.duration, "language": stream.language},
            "clips": list(listed.values())}


class _Sink(io.RawIOBase):
    """Where the zip writes: a buffer the response takes from between blocks."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def stream_zip(found: list[Entry]) -> Iterator[bytes]:
    """The zip of ENTRIES, a block at a time."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w") as archive:
        for entry in found:
            info = zipfile.ZipInfo(entry.name, time.localtime()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED if entry.compress else zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=True) as out:
                if entry.path is None:
                    out.write(entry.data)
                else:
                    with entry.path.open("rb") as src:
                        while block := src.read(BLOCK):
                            out.write(block)
                            yield sink.take()
            yield sink.take()
    yield sink.take()
