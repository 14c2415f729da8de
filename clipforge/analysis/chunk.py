"""Chunk: extract the source's audio once and split the spans to work on into chunks.

The spans are the whole stream (full transcript) or the cascade's candidate windows.
Chunks are processed in parallel. Their edges are moved to the quietest 100 ms near each
nominal boundary so a word is rarely cut in two. Vision reads frames straight from the
source by seeking, so no video is copied per chunk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clipforge import errors
from clipforge.domain import Chunk, MediaInfo
from clipforge.media import ffmpeg

SEARCH_WINDOW = 10.0  # seconds either side of a nominal boundary to look for quiet
EDGE_SEARCH = 3.0  # seconds either side of a cascade window's edge
FRAME = 0.1


def extract_audio(info: MediaInfo, dst: Path) -> ffmpeg.Pcm:
    """Write the 16 kHz mono audio of the source and return its samples (read from the
    file as they are used).

    A truncated file probes fine but stops decoding early: that is caught here.
    """
    src = Path(info.path)
    ffmpeg.extract_audio(src, dst)
    samples = ffmpeg.Pcm(dst)
    decoded = len(samples) / ffmpeg.AUDIO_RATE
    if decoded < info.duration - max(2.0, 0.02 * info.duration):
        dst.unlink(missing_ok=True)
        raise errors.CorruptMedia(
            f"{src}: only {decoded:.1f} s of its {info.duration:.1f} s decode; the file is "
            "truncated or corrupt: re-download or re-export it"
        )
    return samples


def plan(samples: ffmpeg.Samples, spans: list[tuple[float, float]],
         chunk_seconds: float) -> list[tuple[float, float]]:
    """Chunks covering the spans: each span cut near every `chunk_seconds` at a quiet point."""
    rate = ffmpeg.AUDIO_RATE
    total = len(samples) / rate
    pieces = []
    for span_start, span_end in spans:
        # Window edges also fall at quiet points, so no word is cut at a window edge.
        if span_start > 0:
            span_start = _quietest(samples, span_start, rate, EDGE_SEARCH)
        span_end = min(total, span_end)
        if span_end < total:
            span_end = _quietest(samples, span_end, rate, EDGE_SEARCH)
        edges = [span_start]
        nominal = span_start + chunk_seconds
        while nominal < span_end - chunk_seconds / 4:
            edges.append(_quietest(samples, nominal, rate))
            nominal += chunk_seconds
        edges.append(span_end)
        pieces += [(round(a, 3), round(b, 3)) for a, b in zip(edges, edges[1:], strict=False)]
    return pieces


def _quietest(samples: ffmpeg.Samples, around: float, rate: int,
              search: float = SEARCH_WINDOW) -> float:
    frame = int(FRAME * rate)
    lo = int(max(0.0, around - search) * rate)
    hi = int(min(len(samples) / rate, around + search) * rate)
    window = samples[lo:hi]
    n = len(window) // frame
    if n == 0:
        return around
    energy = (window[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    return (lo + int(np.argmin(energy)) * frame + frame // 2) / rate


def write_chunks(samples: ffmpeg.Samples, pieces: list[tuple[float, float]],
                 folder: Path) -> list[Chunk]:
    rate = ffmpeg.AUDIO_RATE
    folder.mkdir(parents=True, exist_ok=True)
    chunks = []
    for index, (start, end) in enumerate(pieces):
        path = folder / f"chunk-{start:010.3f}-{end:010.3f}.wav"
        if not path.exists():
            ffmpeg.write_wav(path, samples[int(start * rate): int(end * rate)])
        chunks.append(Chunk(index=index, start=start, end=end, audio=str(path)))
    return chunks
