"""Export a stream for editors (`clipforge export`, `GET /api/streams/{id}/export`): its
clips as a timeline (OTIO, FCPXML, EDL: services/interchange.py), their burned-in
captions as one SRT or WebVTT file on that timeline, or the zip of rendered clips
(services/bundle.py).

The clips exported are those not rejected. Captions come from the SRT the renderer wrote
beside each clip from the very words it burned in (a person's word edits included), so
they are what the video shows, not what was said.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pysubs2
from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.analysis.subtitles import Cue
from clipforge.config import Settings
from clipforge.services import bundle, interchange
from clipforge.storage import store
from clipforge.storage.models import ClipRow, StreamRow
from clipforge.storage.repository import Repository

Format = Literal["otio", "fcpxml", "edl", "srt", "vtt", "zip"]
FORMATS = {  # name: (file suffix, media type)
    "otio": (".otio", "application/vnd.opentimelineio+json"),
    "fcpxml": (".fcpxml", "application/xml"),
    "edl": (".edl", "text/plain"),
    "srt": (".srt", "application/x-subrip"),
    "vtt": (".vtt", "text/vtt"),
    "zip": (".zip", "application/zip"),
}


@dataclass
class Export:
    """One export, ready to be sent or written: its name, type and bytes."""

    file_name: str
    media_type: str
    text: str = ""
    blocks: Iterator[bytes] | None = field(default=None, repr=False)  # the zip, as sent

    def chunks(self) -> Iterator[bytes]:
        if self.blocks is not None:
            yield from self.blocks
        else:
            yield self.text.encode()


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise errors.BadOption(f"--format {name}: say one of {', '.join(FORMATS)}")
    return name


def build(s: Session, stream: StreamRow, kind: str, absolute: bool) -> Export:
    """The stream exported as KIND. ABSOLUTE: the recording is referenced by its path on
    this machine (the CLI); else by its file name alone, for the editor to relink (the
    API: a server's paths are nobody else's business)."""
    suffix, media_type = FORMATS[check_format(kind)]
    name = f"{bundle.safe_name(stream.name) or f'stream {stream.id}'}{suffix}"
    if kind == "zip":
        _rendered(clips_of(s, stream), stream)
        return Export(name, media_type, blocks=bundle.stream_zip(bundle.entries(s, stream)))
    rows = clips_of(s, stream)
    clips = [_export_clip(c) for c in rows]
    if kind in ("srt", "vtt"):
        _rendered(rows, stream)
    found = interchange.timeline(recording(stream, absolute), clips)
    if kind == "otio":
        return Export(name, media_type, interchange.otio_json(found))
    if kind == "fcpxml":
        return Export(name, media_type, interchange.fcpxml(found, recording(stream, absolute)))
    if kind == "edl":
        return Export(name, media_type, interchange.edl(found))
    return Export(name, media_type, interchange.captions(found, clips, kind))


def clips_of(s: Session, stream: StreamRow) -> list[ClipRow]:
    """The stream's clips not rejected, best first; none is an error saying why."""
    rows = list(s.scalars(select(ClipRow).where(
        ClipRow.stream_id == stream.id, ClipRow.status != "rejected")
        .order_by(ClipRow.rank, ClipRow.id)))
    if not rows:
        state = "is still being processed" if stream.status not in (
            "done", "failed", "cancelled") else f"is {stream.status} with no clip to export"
        raise errors.Conflict(f"stream {stream.id} {state}: export it once it has clips "
                              "(rejected clips are left out)")
    return rows


def _rendered(rows: list[ClipRow], stream: StreamRow) -> None:
    if not any(r.file and store.exists(r.file) for r in rows):
        raise errors.Conflict(f"stream {stream.id}: none of its clips is rendered yet; "
                              "captions and the zip come from the rendered clips")


def recording(stream: StreamRow, absolute: bool) -> interchange.Recording:
    """The stream's recording as an editor's timeline references it."""
    info = stream.info or {}
    where = str(info.get("path") or stream.source)
    suffix = Path(where.split("?")[0]).suffix
    if "://" in where:
        url = where
        file_name = Path(where.split("?")[0]).name
    elif absolute:
        path = store.local(where) if store.is_store_path(where) else Path(where)
        url, file_name = path.resolve().as_uri(), path.name
    else:
        file_name = f"{bundle.safe_name(stream.name) or f'stream {stream.id}'}{suffix}"
        url = Path(file_name).name.replace(" ", "%20")
    has_video = bool(info.get("has_video", True))
    return interchange.Recording(
        name=stream.name or file_name, url=url, file_name=file_name,
        duration=float(info.get("duration") or stream.duration),
        fps=float(info.get("fps") or 0.0) if has_video else 0.0,
        width=int(info.get("width") or 0), height=int(info.get("height") or 0))


def _export_clip(row: ClipRow) -> interchange.ExportClip:
    return interchange.ExportClip(
        id=row.id, rank=row.rank, title=row.title or row.id, start=row.start, end=row.end,
        peak=row.peak, score=row.score, reasons=dict(row.reasons or {}),
        cues=tuple(burned_cues(row)))


def burned_cues(row: ClipRow) -> list[Cue]:
    """The captions burned into the rendered clip, from the SRT written with it (seconds
    from the clip's start); none when it is not rendered (or captions are off)."""
    if not row.file:
        return []
    path = Path(row.file).with_suffix(".srt")
    if not store.exists(path):
        return []
    subs = pysubs2.SSAFile.from_string(store.local(path).read_text(), format_="srt")
    return [Cue(e.start / 1000, e.end / 1000, e.text.replace("\\N", "\n")) for e in subs]


def find_stream(s: Session, ref: str) -> StreamRow:
    """A stream by id, or by the file or URL it was processed from (the newest)."""
    if ref.isdigit():
        row = s.get(StreamRow, int(ref))
    else:
        names = {ref, str(Path(ref).expanduser().resolve())} if "://" not in ref else {ref}
        row = s.scalar(select(StreamRow).where(StreamRow.source.in_(names))
                       .order_by(StreamRow.id.desc()).limit(1))
    if row is None:
        raise errors.NotFound(f"{ref}: no such stream; give a stream id (the web UI's "
                              "address, `GET /api/streams`) or the file or URL processed")
    return row


def export_stream(settings: Settings, ref: str, kind: str, out: Path | None) -> Path:
    """`clipforge export`: write the export to OUT (default: named by the stream, in the
    working directory); returns where."""
    check_format(kind)
    with Repository(settings.database_url).session() as s:
        found = build(s, find_stream(s, ref), kind, absolute=True)
        target = out if out is not None else Path(found.file_name)
        if target.is_dir():
            target = target / found.file_name
        part = target.with_name(target.name + ".part")
        with part.open("wb") as sink:
            for block in found.chunks():
                sink.write(block)
        part.replace(target)
    return target
