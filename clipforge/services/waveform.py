"""The audio envelope of a stretch of a stream, for the waveform under the editor's trim
handles: peaks read from the stream's audio as ingest extracted it (16 kHz mono WAV)."""

from __future__ import annotations

from clipforge import errors
from clipforge.media import ffmpeg
from clipforge.storage import store
from clipforge.storage.models import StreamRow

MAX_SPAN = 600.0  # s: a strip under the handles, not a whole stream


def peaks(storage_url: str, stream: StreamRow, start: float, end: float,
          points: int) -> list[float]:
    """POINTS peak levels (0..1) evenly over START..END (s in the stream)."""
    start, end = max(0.0, start), min(end, stream.duration)
    if not 0 < end - start <= MAX_SPAN:
        raise errors.BadOption(f"waveform from {start} to {end} s: give a range inside the "
                               f"stream, at most {MAX_SPAN:g} s long")
    audio = store.work_root(storage_url) / stream.key / "audio.wav"
    if not store.exists(audio):
        raise errors.NotFound(f"stream {stream.id}: its audio is not kept; reprocess it")
    found = ffmpeg.audio_peaks(store.local(audio), start, end - start, points)
    return [round(float(v), 4) for v in found]
