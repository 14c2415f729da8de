"""Follow a live HLS stream: poll its playlist, fetch each new segment once, decode its
audio for scoring, and keep only a ring of recent segments on disk.

`LiveFollower(url, folder, ...).segments()` yields a `LiveSegment` (media sequence,
start in stream seconds, duration, the segment file and its 16 kHz mono WAV) for each
segment as it appears, in order, with contiguous times (time 0 is the first segment this
folder ever followed), and ends at `#EXT-X-ENDLIST`, after `until` stream seconds, or
at `stop()`. A master playlist is resolved to its best rendition of at most `max_height`
lines. Every request passes the VOD ingest's address checks (`checked_http.py`).

Position: `FOLDER/follow.json` (written atomically: temp file, then rename) holds the
last segment handed out, the stream time after it and the segments in the ring. A
segment counts as handed out once the consumer asks for the next one (or closes the
generator), so a stop loses nothing and repeats nothing, and a restart with the same
folder resumes after it. A kill -9 between a segment reaching the consumer and that
point hands that one segment out again (from disk, never fetched twice): consumers key
their work by `sequence`.

Faults ridden out: a playlist with no new segment keeps being polled (every half target
duration, as RFC 8216 asks) until `stall_seconds` pass without one, then `LiveStalled`;
a cut connection, a timeout, a 5xx or 429 is retried with a doubling backoff (capped)
within the same stall budget; a segment answering 404/410 (it fell off a sliding live
playlist before we got to it) is skipped with a notice and its time still counted.

Resource bounds: disk holds the ring, the newest `ring_seconds` of segments (plus the
one being fetched and any windows a caller pinned with `pin()`), each with its WAV
(32 kB/s): about (ring_seconds + target duration) x (stream bitrate / 8 + 32 kB/s),
e.g. 120 s of a 720p stream at 3 Mb/s: ~50 MB, flat over an 8-hour stream. Memory: the
playlist text (16 MB at most) and one 64 KiB block; segments stream to disk and one is
at most `MAX_SEGMENT_BYTES`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from clipforge import errors
from clipforge.config import Settings
from clipforge.media import ffmpeg
from clipforge.sources import hls
from clipforge.sources.addresses import Limits, limits_from
from clipforge.sources.checked_http import Answer, CheckedHttp, Transient

__all__ = ["LiveFollower", "LiveSegment", "follower_from"]

MAX_PLAYLIST_BYTES = 16 << 20
MAX_SEGMENT_BYTES = 256 << 20
STATE = "follow.json"
GONE = (404, 410)
Notice = Callable[[str], None]


@dataclass(frozen=True)
class LiveSegment:
    sequence: int
    start: float  # stream seconds
    duration: float
    path: Path  # the segment as served (MPEG-TS)
    audio: Path | None  # its audio, 16 kHz mono WAV; None if it has none

    @property
    def end(self) -> float:
        return self.start + self.duration


class _Stopped(Exception):
    """`stop()` was called while a request was being retried."""


@dataclass
class _State:
    source: str
    sequence: int = -1  # the last segment handed out (or skipped)
    time: float = 0.0  # stream seconds at its end
    ring: list[list[float]] = field(default_factory=list)  # [sequence, start, duration]


def follower_from(settings: Settings, url: str, folder: Path, until: float | None = None,
                  on_notice: Notice | None = None) -> LiveFollower:
    """A follower with the settings' ring, stall limit, rendition height and address
    limits."""
    return LiveFollower(url, folder, limits_from(settings),
                        ring_seconds=settings.live_ring_seconds,
                        stall_seconds=settings.live_stall_seconds,
                        max_height=settings.live_max_height, until=until, on_notice=on_notice)


class LiveFollower:
    def __init__(self, url: str, folder: Path, limits: Limits, *, ring_seconds: float = 120.0,
                 stall_seconds: float = 300.0, max_height: int = 720,
                 until: float | None = None, backoff: float = 1.0, max_backoff: float = 30.0,
                 on_notice: Notice | None = None) -> None:
        self.url, self.folder = url, folder
        self.ring_dir = folder / "ring"
        self.ring_seconds, self.stall_seconds = ring_seconds, stall_seconds
        self.max_height, self.until = max_height, until
        self.backoff, self.max_backoff = backoff, max_backoff
        self.on_notice = on_notice or (lambda _text: None)
        self.http = CheckedHttp(limits)
        self.pins: dict[int, tuple[float, float]] = {}
        self._stop = threading.Event()
        self._lock = threading.RLock()  # the ring and the state: pin/unpin come from others
        self.state = self._load()

    # --- what a caller uses ---------------------------------------------------------------
    def stop(self) -> None:
        """End `segments()` at its next wait (any thread)."""
        self._stop.set()

    def pin(self, start: float, end: float) -> int:
        """Keep the segments overlapping START..END (stream seconds) out of the ring's
        trimming, until `unpin(key)`: a clip window being cut."""
        with self._lock:
            key = max(self.pins, default=0) + 1
            self.pins[key] = (start, end)
            return key

    def unpin(self, key: int) -> None:
        with self._lock:
            self.pins.pop(key, None)
        self._trim()

    def segments(self) -> Iterator[LiveSegment]:
        try:
            yield from self._follow()
        except _Stopped:
            return

    def _follow(self) -> Iterator[LiveSegment]:
        self.ring_dir.mkdir(parents=True, exist_ok=True)
        media_url = self._media_url()
        progress = time.monotonic()  # when the last new segment appeared
        while not self._stop.is_set():
            playlist = self._poll(media_url, progress)
            fresh = [s for s in playlist.segments if s.sequence > self.state.sequence]
            self._note_gap(fresh, playlist.target_duration)
            for segment in fresh:
                if self._reached_until():
                    return
                got = self._take(segment, progress)
                progress = time.monotonic()
                if got is not None:
                    try:
                        yield got
                    finally:  # the consumer has it: hand it out for good
                        self._commit(segment.sequence, got.duration, kept=True)
                if self._stop.is_set():
                    return
            if playlist.ended or self._reached_until():  # all it lists is handed out
                return
            if time.monotonic() - progress > self.stall_seconds:
                raise errors.LiveStalled(
                    f"{self.url}: no new segment for {self.stall_seconds:g} s; the stream "
                    "has stalled or ended without saying so (run again to resume, or raise "
                    "CLIPFORGE_LIVE_STALL_SECONDS)")
            # RFC 8216 6.3.4: wait a target duration after a change, half of one if none.
            self._stop.wait(playlist.target_duration / (1 if fresh else 2))

    # --- the playlist -----------------------------------------------------------------
    def _media_url(self) -> str:
        text, url = self._playlist_text(self.url, time.monotonic())
        parsed = hls.parse(text, url)
        if isinstance(parsed, hls.MediaPlaylist):
            return url
        variant = hls.pick_variant(parsed, self.max_height, url)
        self.on_notice(f"{self.url}: following the {variant.height or '?'}p rendition")
        return variant.url

    def _poll(self, url: str, progress: float) -> hls.MediaPlaylist:
        text, final = self._playlist_text(url, progress)
        parsed = hls.parse(text, final)
        if not isinstance(parsed, hls.MediaPlaylist):
            raise errors.UnsupportedSource(f"{url}: a rendition's playlist is itself a "
                                           "master playlist; give a media playlist")
        return parsed

    def _playlist_text(self, url: str, progress: float) -> tuple[str, str]:
        answer = self._retrying(lambda: self.http.get(url, MAX_PLAYLIST_BYTES), url, progress)
        if answer.status != 200:
            raise errors.DownloadFailed(f"{url}: the playlist answered HTTP {answer.status}; "
                                        "check the URL and that the stream is live")
        return answer.body.decode("utf-8", "replace"), answer.url

    def _note_gap(self, fresh: list[hls.Segment], target: float) -> None:
        """Segments that left the playlist before we saw them (we were stopped too long):
        their time is estimated at one target duration each, so later times stay true."""
        if self.state.sequence < 0 or not fresh or fresh[0].sequence <= self.state.sequence + 1:
            return
        missed = fresh[0].sequence - self.state.sequence - 1
        self.on_notice(f"{self.url}: {missed} segment(s) left the playlist before they "
                       f"could be fetched; about {missed * target:.0f} s of the stream is "
                       "missing")
        self.state.sequence = fresh[0].sequence - 1
        self.state.time += missed * target
        self._save()

    # --- segments -----------------------------------------------------------------------
    def _take(self, segment: hls.Segment, progress: float) -> LiveSegment | None:
        """The segment on disk with its audio, or None when it is gone (skipped)."""
        path = self.ring_dir / f"seg-{segment.sequence:09d}.ts"
        if not path.exists():  # fetched before a kill -9 and never handed out: reuse it
            answer = self._retrying(
                lambda: self.http.download(segment.url, path, MAX_SEGMENT_BYTES),
                segment.url, progress)
            if answer.status in GONE:
                self.on_notice(f"{segment.url}: segment {segment.sequence} is gone (HTTP "
                               f"{answer.status}), skipped: {segment.duration:g} s missing")
                self._commit(segment.sequence, segment.duration, kept=False)
                return None
            if answer.status != 200:
                raise errors.DownloadFailed(f"{segment.url}: answered HTTP {answer.status}; "
                                            "check that the stream is public")
        return LiveSegment(segment.sequence, self.state.time, segment.duration, path,
                           self._audio(path))

    def _audio(self, segment: Path) -> Path | None:
        wav = segment.with_suffix(".wav")
        if not wav.exists():
            try:
                ffmpeg.extract_audio(segment, wav)
            except errors.ClipForgeError as exc:  # no audio, or a damaged segment
                self.on_notice(f"{segment.name}: no audio decoded ({exc.message})")
                return None
        return wav

    def _retrying(self, call: Callable[[], Answer], url: str, progress: float) -> Answer:
        failures = 0
        while True:
            try:
                return call()
            except Transient as exc:
                if self._stop.is_set():
                    raise _Stopped from exc
                if time.monotonic() - progress > self.stall_seconds:
                    raise errors.LiveStalled(
                        f"{url}: failing for over {self.stall_seconds:g} s ({exc}); check "
                        "the network and the stream, then run again to resume") from exc
                delay = min(self.max_backoff, self.backoff * 2 ** min(failures, 20))
                failures += 1
                self.on_notice(f"{exc}; trying again in {delay:.1f} s")
                self._stop.wait(delay)

    # --- position and ring ---------------------------------------------------------------
    def _reached_until(self) -> bool:
        return self.until is not None and self.state.time >= self.until

    def _commit(self, sequence: int, duration: float, kept: bool) -> None:
        with self._lock:
            if kept:
                self.state.ring.append([sequence, self.state.time, duration])
            self.state.sequence = sequence
            self.state.time += duration
            self._trim()

    def _trim(self) -> None:
        """Delete segments older than the ring's span unless pinned, then save."""
        with self._lock:
            horizon = self.state.time - self.ring_seconds
            kept = []
            for entry in self.state.ring:
                start, end = entry[1], entry[1] + entry[2]
                if end > horizon or any(start < b and end > a for a, b in self.pins.values()):
                    kept.append(entry)
                    continue
                for suffix in (".ts", ".wav"):
                    (self.ring_dir / f"seg-{int(entry[0]):09d}{suffix}").unlink(missing_ok=True)
            self.state.ring = kept
            self._save()

    def _load(self) -> _State:
        path = self.folder / STATE
        if not path.exists():
            return _State(source=self.url)
        state = _State(**json.loads(path.read_text()))
        if state.source != self.url:
            raise errors.BadOption(
                f"{self.folder}: already follows {state.source}, not {self.url}; give each "
                "stream a folder of its own")
        return state

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / (STATE + ".part")
        tmp.write_text(json.dumps(vars(self.state)))
        os.replace(tmp, self.folder / STATE)

