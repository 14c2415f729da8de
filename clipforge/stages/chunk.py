"""Chunk: extract the source's audio once and split it into chunks at quiet moments.

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
FRAME = 0.1


def extract_audio(info: MediaInfo, dst: Path) -> np.ndarray:
    """Write the 16 kHz mono audio of the source and return its samples.

    A truncated file probes fine but stops decoding early: that is caught here.
    """
    src = Path(info.path)
    ffmpeg.extract_audio(src, dst)
    samples = ffmpeg.read_wav(dst)
    decoded = len(samples) / ffmpeg.AUDIO_RATE
    if decoded < info.duration - max(2.0, 0.02 * info.duration):
        dst.unlink(missing_ok=True)
        raise errors.CorruptMedia(
            f"{src}: only {decoded:.1f} s of its {info.duration:.1f} s decode; the file is "
            "truncated or corrupt: re-download or re-export it"
        )
    return samples


def boundaries(samples: np.ndarray, chunk_seconds: float) -> list[float]:
    """Chunk edges in seconds: 0, quiet points near each multiple of chunk_seconds, end."""
    rate = ffmpeg.AUDIO_RATE
    total = len(samples) / rate
    edges = [0.0]
    nominal = chunk_seconds
    while nominal < total - chunk_seconds / 4:
        edges.append(_quietest(samples, nominal, rate))
        nominal += chunk_seconds
    edges.append(total)
    return edges


def _quietest(samples: np.ndarray, around: float, rate: int) -> float:
    frame = int(FRAME * rate)
    lo = int(max(0.0, around - SEARCH_WINDOW) * rate)
    hi = int(min(len(samples) / rate, around + SEARCH_WINDOW) * rate)
    window = samples[lo:hi]
    n = len(window) // frame
    if n == 0:
        return around
    energy = (window[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    return (lo + int(np.argmin(energy)) * frame + frame // 2) / rate


def write_chunks(samples: np.ndarray, edges: list[float], folder: Path) -> list[Chunk]:
    rate = ffmpeg.AUDIO_RATE
    folder.mkdir(parents=True, exist_ok=True)
    chunks = []
    for index, (start, end) in enumerate(zip(edges, edges[1:], strict=False)):
        path = folder / f"chunk-{index:04d}.wav"
        if not path.exists():
            ffmpeg.write_wav(path, samples[int(start * rate): int(end * rate)])
        chunks.append(Chunk(index=index, start=start, end=end, audio=str(path)))
    return chunks
