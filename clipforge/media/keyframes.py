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
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from clipforge import errors
from clipforge.media import ffmpeg

log = logging.getLogger(__name__)
MAX_KEY_GAP = 4.0  # s: keyframes further apart than this are too few to sample from


def sample_frames(src: Path, start: float, duration: float, size: tuple[int, int],
                  every: float = 2.0, sharp: tuple[int, int] | None = None,
                  sharp_every: float = np.inf,
                  ) -> Iterator[tuple[float, np.ndarray, np.ndarray | None]]:
    """(time in source, BGR frame of `size`, BGR frame of `sharp` size or None) from start
    to start + duration: the keyframes when they are at most MAX_KEY_GAP apart (at most
    two per `every` s), else a frame every `every` s. A frame is also made at the sharp
    size when `sharp_every` s have passed since the last sharp one: each size straight
    from the decoded picture, no large frame made for every small one.

    Damaged packets are skipped, as ffmpeg does, so a damaged stretch yields fewer frames
    rather than an error."""
    end = start + duration
    with _opened(src) as container:
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
        wanted, sharp_at = start - 1e-3, -np.inf
        for t, frame in _decoded(container, stream):
            if t >= end:
                break
            if t < wanted:  # before the span, or too soon after the last frame
                continue
            # Keyframes closer than every / 2 (an all-intra source) are thinned out too.
            wanted = t + (every if sparse else every / 2) - 1e-3
            big = None
            if sharp is not None and t - sharp_at >= sharp_every - 0.05:
                big, sharp_at = _bgr(frame, sharp, "BILINEAR"), t
            yield t - zero, _bgr(frame, size, "AREA"), big


def _bgr(frame: av.VideoFrame, size: tuple[int, int], interpolation: str) -> np.ndarray:
    return frame.to_ndarray(format="bgr24", width=size[0], height=size[1],
                            interpolation=interpolation)


def frames_at(src: Path, start: float, duration: float, fps: float, size: tuple[int, int],
              sharp: tuple[int, int], sharp_every: int,
              ) -> Iterator[tuple[float, np.ndarray, np.ndarray | None]]:
    """(time in source, BGR frame of `size`, BGR frame of `sharp` size or None) at `fps`
    from start to start + duration, every frame decoded: a clip's frame-by-frame
    analysis. Each step's frame is converted straight to the small size (area
    averaging), and every `sharp_every`-th also to the sharp size (fast bilinear, as
    `ffmpeg.decode_frames` scales): one decode in this process, and no large frame
    made, piped and shrunk for each small one.

    The frames `ffmpeg -ss start -t duration -vf fps=FPS` gives: step n, at
    start + n / fps, shows the last frame before start + (n + 1/2) / fps, as the fps
    filter rounds (a frame fills several steps of a source slower than `fps`)."""
    end = start + duration
    steps = round(duration * fps)
    index = 0

    def shown(frame: av.VideoFrame, until: float,
              ) -> Iterator[tuple[float, np.ndarray, np.ndarray | None]]:
        """The steps `frame` is the last of, the next frame coming at `until`."""
        nonlocal index
        small: np.ndarray | None = None
        while index < steps and start + (index + 0.5) / fps <= until + 1e-6:
            if small is None:
                small = _bgr(frame, size, "AREA")
            big = _bgr(frame, sharp, "FAST_BILINEAR") \
                if sharp_every and index % sharp_every == 0 else None
            yield start + index / fps, small, big
            index += 1

    with _opened(src) as container:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        zero = (container.start_time or 0) / av.time_base
        stream.thread_type = "AUTO"
        _seek(container, stream, start + zero)
        last: tuple[float, av.VideoFrame] | None = None
        for t, frame in _decoded(container, stream):
            t -= zero
            if t < start - 1e-6:
                continue
            if last is not None:
                yield from shown(last[1], min(t, end))
            if t >= end or index >= steps:
                return
            last = t, frame
        if last is not None:  # the stream ended: its last frame is shown for a frame
            rate = float(stream.average_rate or fps)
            yield from shown(last[1], min(last[0] + 1 / rate, end))


@contextmanager
def _opened(src: Path) -> Iterator[av.container.InputContainer]:
    try:
        container = av.open(str(src), format=ffmpeg.demuxer(src),
                            options={"protocol_whitelist": ffmpeg.PROTOCOLS})
    except av.FFmpegError as exc:
        raise errors.CorruptMedia(f"{src.name}: its video cannot be read ({exc}); "
                                  "re-download or re-export it") from exc
    with container:
        yield container


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
