"""Frames a whole stream can afford: its keyframes, decoded alone.

A streamer's encoder puts a keyframe every 2 s or so (Twitch asks for 2 s), and a decoder
told to skip every other frame decodes only those: a few per cent of a full decode. So
the whole-stream vision pass sees a frame every ~2 s for the cost of demuxing. Sources
with keyframes much further apart (some recorders put one every 10 s or more) are
decoded in full, and a frame is kept every `every` seconds: the cost of a full decode,
but the same sampling.

Through PyAV (which faster-whisper brings) rather than an ffmpeg command line: the
decoder's skip setting and each frame's own time come with it. The demuxer is forced to
the one the probe found, as for every ffmpeg command (ffmpeg.source_input).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from clipforge import errors
from clipforge.media import ffmpeg

log = logging.getLogger(__name__)
MAX_KEY_GAP = 4.0  # s: keyframes further apart than this are too few to sample from


def sample_frames(src: Path, start: float, duration: float, width: int, height: int,
                  every: float = 2.0) -> Iterator[tuple[float, np.ndarray]]:
    """(time in source, BGR frame of width x height) from start to start + duration: the
    keyframes when they are at most MAX_KEY_GAP apart (at most two per `every` s), else
    a frame every `every` s.

    Damaged packets are skipped, as ffmpeg does, so a damaged stretch yields fewer frames
    rather than an error."""
    end = start + duration
    try:
        container = av.open(str(src), format=ffmpeg.demuxer(src),
                            options={"protocol_whitelist": ffmpeg.PROTOCOLS})
    except av.FFmpegError as exc:
        raise errors.CorruptMedia(f"{src.name}: its video cannot be read ({exc}); "
                                  "re-download or re-export it") from exc
    with container:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        # Times are the file's, from 0, as ffmpeg's -ss counts them.
        zero = (container.start_time or 0) / av.time_base
        start, end = start + zero, end + zero
        sparse = _key_gap(container, stream, start, end) > MAX_KEY_GAP
        if not sparse:
            stream.codec_context.skip_frame = "NONKEY"
        stream.thread_type = "AUTO"
        _seek(container, stream, start)
        wanted = start - 1e-3
        for t, frame in _decoded(container, stream):
            if t >= end:
                break
            if t < wanted:  # before the span, or too soon after the last frame
                continue
            # Keyframes closer than every / 2 (an all-intra source) are thinned out too.
            wanted = t + (every if sparse else every / 2) - 1e-3
            yield t - zero, frame.to_ndarray(format="bgr24", width=width, height=height)


def _key_gap(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
             start: float, end: float) -> float:
    """The largest gap between keyframes (and the span's edges) over the span, from the
    packets alone (no decoding)."""
    _seek(container, stream, start)
    keys = [start]
    for packet in container.demux(stream):
        t = _seconds(packet.pts, stream.time_base)
        if t is None:
            continue
        if t >= end:
            break
        if packet.is_keyframe and t >= start:
            keys.append(t)
    keys.append(end)
    return max(b - a for a, b in zip(keys, keys[1:], strict=False))


def _decoded(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
             ) -> Iterator[tuple[float, av.VideoFrame]]:
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:
            log.debug("skipped a damaged packet: %s", exc)
            continue
        for frame in frames:
            t = _seconds(frame.pts, stream.time_base)
            if t is not None:
                yield t, frame


def _seek(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
          start: float) -> None:
    """To the keyframe at or before `start`."""
    if stream.time_base is None:
        return
    container.seek(int(start / stream.time_base), stream=stream, backward=True)


def _seconds(pts: int | None, time_base: Fraction | None) -> float | None:
    return None if pts is None or time_base is None else float(pts * time_base)
