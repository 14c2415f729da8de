"""Live: clips while the stream is still on (`clipforge live`, `POST /api/streams` with
`"live": true`).

The follower (sources/live_hls.py) hands out each new segment; its audio's per-second
features join a rolling history, and the cheap highlight curve (audio and chat, as the
VOD cascade's) is searched for a moment whose reaction is over (analysis/moments.py).
A confirmed moment pins its window of segments in the ring, and a render thread makes
its clip (services/live_clips.py: transcribe, bounds at sentences, plan, render), stores
it as a `rendered` clip of the stream and announces `clip.rendered`, while the follower
goes on fetching. At `#EXT-X-ENDLIST`, `--until` or a stop, the last moment still
ringing is taken, the renders finish, and report.json is written as a VOD run writes it.

Resume: `OUT/live/moments.json` (written atomically) holds every moment confirmed, its
clip id (made from the moment's peak, not its bounds) and whether it is rendered, and the
stream second before which moments are done. A run started again in the same folder
renders the confirmed moments not yet rendered (their segments stayed pinned on disk:
pins are set again before the follower trims anything), rebuilds the feature history
from the ring's segments and follows on. A clip row is upserted by its id: a moment
rendered twice (killed between the render and the note) is still one clip.

Bounds, for an 8-hour stream: disk holds the follower's ring (`live_ring_seconds`, see
live_hls.py) plus the windows being cut (each at most 2 x max_len + 10 s of segments,
deleted once rendered) and the clips; memory holds HISTORY seconds of per-second
features (6 floats a second), less than a second of pending samples, the chat messages
of the last HISTORY seconds and the moments list (one small dict per clip).
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from clipforge import domain, errors
from clipforge.analysis import moments, signals, transcribe
from clipforge.config import Settings
from clipforge.domain import MediaInfo, Options
from clipforge.jobs import report as report_job
from clipforge.jobs.context import ModelCache, Run
from clipforge.media import ffmpeg
from clipforge.services import live_chat, workspaces
from clipforge.services.live_clips import History, Window, fix_bounds, join_window, make_clip
from clipforge.services.streamers import find_streamer
from clipforge.sources import hls, ingest
from clipforge.sources.addresses import limits_from
from clipforge.sources.checked_http import CheckedHttp, Transient
from clipforge.sources.live_hls import MAX_PLAYLIST_BYTES, LiveSegment, follower_from
from clipforge.storage import artifacts, ledger
from clipforge.storage.models import ClipRow, StreamRow, utcnow
from clipforge.storage.repository import Repository, one_or_add

log = logging.getLogger(__name__)
Notice = Callable[[str], None]

HISTORY = 300  # seconds of features kept: the 121-s baseline, a clip, and room
SETTLE = 4  # quiet seconds after a burst: the reaction is over
CHAT_WAIT = 20  # seconds chat may trail the stream (the lag estimate's largest)
WARMUP = 60  # seconds of stream before a first moment is judged: a baseline to judge by
MARGIN = 5.0  # seconds of window beyond a clip's longest reach, for sentence bounds
STATE = "moments.json"
__all__ = ["Followers", "LiveRun", "follow_live", "live_key", "moment_clip_id",
           "stop_stream"]


def live_key(source: str) -> str:
    """A live stream's content key: its URL (its content is not known in advance)."""
    return "live-" + hashlib.sha1(source.encode()).hexdigest()[:16]


def moment_clip_id(stream_key: str, peak: float) -> str:
    """A live clip's id: its stream and its moment's peak, fixed when the moment is
    confirmed, so a restart that cuts it again finds the same clip."""
    return hashlib.sha1(f"{stream_key}:live:{peak:.1f}".encode()).hexdigest()[:10]


@dataclass
class _Pending:
    moment: moments.Moment
    clip_id: str
    window: tuple[float, float]
    segments: list[LiveSegment]
    history: History
    pin: int


@dataclass
class _State:
    """What a restart needs: see the module's docstring."""

    epoch: float = 0.0  # Unix time of stream second 0 (for live chat's times)
    after: float = 0.0  # moments end after this stream second
    moments: list[dict[str, Any]] = field(default_factory=list)
    # What is followed: a server started again follows it on (Followers.resume).
    source: str = ""
    chat: str | None = None
    until: float | None = None


class _Features:
    """Per-second audio features of the newest HISTORY seconds, from each segment's
    16 kHz samples (a second split across two segments is computed once both are in)."""

    def __init__(self) -> None:
        self.first: int | None = None  # stream second of index 0
        self.arrays: dict[str, np.ndarray] = {}
        self.pending = np.zeros(0, np.float32)
        self.end = 0  # stream second after the last one computed

    def add(self, start: float, samples: np.ndarray) -> None:
        rate = ffmpeg.AUDIO_RATE
        if self.first is None:  # begin at a whole second
            whole = int(np.ceil(start - 1e-6))
            samples = samples[int(round((whole - start) * rate)):]
            self.first = self.end = whole
        self.pending = np.concatenate([self.pending, samples.astype(np.float32)])
        count = len(self.pending) // rate
        if count == 0:
            return
        found = signals.audio_signals(self.pending[: count * rate], count).arrays()
        self.pending = self.pending[count * rate:]
        for name, values in found.items():
            self.arrays[name] = np.concatenate([self.arrays.get(name, np.zeros(0)), values])
        self.end += count
        extra = len(self.arrays["loudness"]) - HISTORY
        if extra > 0:
            self.arrays = {n: v[extra:] for n, v in self.arrays.items()}
            self.first += extra

    def audio(self) -> signals.AudioSignals:
        return signals.AudioSignals(**{n: v.copy() for n, v in self.arrays.items()})


class LiveRun:
    """One live stream followed to its end (or `stop()`), in OPTIONS.out_dir."""

    def __init__(self, source: str, options: Options, settings: Settings, repo: Repository,
                 until: float | None = None, chat: str | None = None,
                 on_notice: Notice | None = None, stream_id: int | None = None) -> None:
        self.source, self.settings, self.repo, self.until = source, settings, repo, until
        self.chat_source = chat
        self.folder = options.out_dir / "live"
        self.notice = on_notice or (lambda text: log.info("%s", text))
        self.options = options
        self.stream_id = stream_id
        self.features = _Features()
        self.recent: deque[LiveSegment] = deque()
        self.arrived: dict[int, float] = {}  # segment sequence -> Unix time it came in
        self.state = _State()
        self.lock = threading.Lock()
        self.todo: queue.Queue[_Pending | None] = queue.Queue()
        self.failure: BaseException | None = None
        self.model = ModelCache(lambda name: transcribe.load_model(
            name, settings.whisper_compute_type, 1, 1, settings.models_dir))
        playlist = ingest.live_playlist(source, limits_from(settings))
        if not (self.folder / "follow" / "follow.json").exists():
            first_contact(playlist, settings)
        self.follower = follower_from(settings, playlist, self.folder / "follow", until,
                                      self.notice)
        self.chat: live_chat.ChatFeed | None = None
        self.run_ctx: Run | None = None

    def stop(self) -> None:
        self.follower.stop()

    # --- the whole run --------------------------------------------------------------
    def open(self) -> int:
        """The stream's row (made, or found again to resume): its id."""
        if self.stream_id is None or not (self.folder / STATE).exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            self._load()
            self.stream_id = self._stream()
        return self.stream_id

    def run(self) -> dict[str, Any]:
        """Follow to the end; a failure is kept on the stream's row too."""
        stream_id = self.open()
        try:
            return self._follow()
        except errors.ClipForgeError as exc:
            failed(self.repo, stream_id, exc)
            raise

    def _follow(self) -> dict[str, Any]:
        self.chat = live_chat.feed(self.chat_source, self.folder, self.state.epoch,
                                   self.settings, self.notice, self.source)
        self._resume()
        worker = threading.Thread(target=self._render_loop, daemon=True,
                                  name="clipforge-live-render")
        worker.start()
        followed = threading.Event()
        watcher = threading.Thread(target=self._watch_stop, args=(followed,), daemon=True,
                                   name="clipforge-live-stop")
        watcher.start()
        try:
            for segment in self.follower.segments():
                self._take(segment)
                self._look(final=False)
            self._look(final=True)
        finally:
            followed.set()
            watcher.join()
            self.todo.put(None)
            worker.join()
            if self.chat is not None:
                self.chat.close()
        if self.failure is not None:
            raise self.failure
        return self._finish()

    # --- following ---------------------------------------------------------------------
    def _take(self, segment: LiveSegment) -> None:
        if self.features.first is not None and segment.end <= self.features.end:
            return  # handed out again after a kill -9: its seconds are in already
        self.arrived.setdefault(segment.sequence, time.time())
        self.recent.append(segment)
        while self.recent and self.recent[0].end < segment.end - HISTORY:
            self.arrived.pop(self.recent.popleft().sequence, None)
        samples = ffmpeg.read_wav(segment.audio) if segment.audio else \
            np.zeros(int(segment.duration * ffmpeg.AUDIO_RATE), np.float32)
        self.features.add(segment.start, samples)
        if self.run_ctx is None:
            self._first_segment(segment)

    def _resume(self) -> None:
        """Rebuild the history from the ring and queue the moments not yet rendered."""
        ring = self.follower.ring_dir
        for sequence, start, duration in self.follower.state.ring:
            path = ring / f"seg-{int(sequence):09d}.ts"
            wav = path.with_suffix(".wav")
            if path.exists():
                self._take(LiveSegment(int(sequence), start, duration, path,
                                       wav if wav.exists() else None))
        for item in self.state.moments:
            if item["status"] != "confirmed":
                continue
            found = moments.Moment(**item["moment"])
            lo, hi = item["window"]
            kept = [s for s in self.recent if s.end > lo and s.start < hi]
            if not kept:
                self.notice(f"moment at {found.peak:.0f} s: its segments are gone; skipped")
                item["status"] = "lost"
                continue
            pin = self.follower.pin(lo, hi)
            self.todo.put(_Pending(found, item["clip_id"], (lo, hi), kept, self._history(),
                                   pin))
        self._save()

    def _first_segment(self, segment: LiveSegment) -> None:
        """The stream's run context, from its first segment's picture and sound."""
        info = ffmpeg.probe(segment.path)
        settings = self.settings
        self.run_ctx = Run(stream_id=self.stream_id or 0, stream_key=live_key(self.source),
                           info=info, options=self.options, settings=settings,
                           work=self.folder / "work", source=self.source,
                           language=self.options.language or settings.language,
                           transcriber=self.model)
        self.run_ctx.work.mkdir(parents=True, exist_ok=True)
        with self.repo.session() as s:
            stream = s.get_one(StreamRow, self.stream_id)
            stream.info = asdict(replace(info, path=self.source, duration=segment.end))

    # --- finding moments ---------------------------------------------------------------
    def _history(self) -> History:
        audio = self.features.audio()
        first, seconds = self.features.first or 0, len(audio.loudness)
        chat = self.chat.signals(first, seconds) if self.chat is not None else None
        return History(first, audio, chat)

    def _look(self, final: bool) -> None:
        """Confirm every moment whose reaction is over (FINAL: the stream ended, a moment
        still ringing is over too)."""
        if not self.features.arrays or self.run_ctx is None:
            return
        while True:
            history = self._history()
            if history.seconds < (1 if final else WARMUP):
                return
            opts = self.options
            smooth = moments.cheap_curve(history.audio, history.chat, history.seconds,
                                         self.run_ctx.weights, None)
            if history.chat is not None and not final:
                smooth = smooth[: max(0, len(smooth) - CHAT_WAIT)]  # its chat is not in yet
            if final:
                smooth = np.concatenate([smooth, np.zeros(SETTLE)])
            found = moments.confirmed(smooth, history.first, self.state.after, SETTLE,
                                      opts.max_len)
            if found is None:
                return
            self._confirm(found, history)

    def _confirm(self, found: moments.Moment, history: History) -> None:
        # The history reaches further back than the ring: only segments still on disk.
        # (Nothing is trimmed before the next segment is asked for: after the pin below.)
        on_disk = [s for s in self.recent if s.path.exists()]
        lo = max(on_disk[0].start, found.peak - self.options.max_len - MARGIN)
        hi = float(self.features.end)
        kept = [s for s in on_disk if s.end > lo and s.start < hi]
        clip = moment_clip_id(live_key(self.source), found.peak)
        pin = self.follower.pin(lo, hi)
        seen = [self.arrived.get(s.sequence, time.time()) for s in kept if s.end >= found.end]
        with self.lock:
            # Peaks closer than half a clip would share a clip (as the VOD cascade's).
            self.state.after = max(self.state.after, found.end,
                                   found.peak + self.options.max_len / 2)
            self.state.moments.append({
                "moment": asdict(found), "clip_id": clip, "window": [lo, hi],
                "status": "confirmed", "confirmed_at": time.time(),
                "reaction_seen_at": min(seen) if seen else time.time()})
            self._save()
        self.notice(f"moment at {found.peak:.0f} s (score {found.score:.2f}): cutting clip "
                    f"{clip}")
        self.todo.put(_Pending(found, clip, (lo, hi), kept, history, pin))

    # --- making clips ------------------------------------------------------------------
    def _render_loop(self) -> None:
        while (item := self.todo.get()) is not None:
            if self.failure is not None:
                continue
            try:
                self._make(item)
            except errors.ClipForgeError as exc:  # this clip only: note it and go on
                self.notice(f"moment at {item.moment.peak:.0f} s: no clip ({exc.message})")
                self._note(item.clip_id, status="failed", error=exc.message)
            except BaseException as exc:  # a bug: end the run with it
                log.exception("live clip %s", item.clip_id)
                self.failure = exc
                self.follower.stop()
            finally:
                self.follower.unpin(item.pin)

    def _make(self, item: _Pending) -> None:
        assert self.run_ctx is not None
        window = join_window(item.segments, self.folder / "windows", item.clip_id)
        info = ffmpeg.probe(window.video)
        run = replace(self.run_ctx, info=info, source=str(window.video))
        heard = fix_bounds(run, window, item.history, item.moment,
                           self.model(self.settings.speech_model(run.language)))
        twin = self._overlapping(heard.candidate.start, heard.candidate.end)
        if twin is not None:  # the same moment seen twice: one clip
            self._note(item.clip_id, status="merged", into=twin)
            self._discard(window)
            return
        made = make_clip(run, window, heard, item.clip_id)
        with self.repo.session() as s:
            stream = s.get_one(StreamRow, self.stream_id)
            row = s.get(ClipRow, item.clip_id)
            # Rendered and announced before a kill -9 that came ahead of the note: the
            # row is updated again, the event not repeated.
            announced = row is not None and bool(row.file)
            if row is None:
                row = ClipRow(id=item.clip_id, stream_id=stream.id, status="candidate",
                              revision=0, rank=0)
                s.add(row)
            c = made.candidate
            row.start, row.end, row.peak, row.title = c.start, c.end, c.peak, c.title
            row.score, row.reasons, row.features = c.score, c.reasons, c.features
            row.layout = self.options.layout or "auto"
            row.rank = row.rank or _next_rank(s, stream.id)
            row.file, row.rendered_layout, row.regions = str(made.file), made.layout, \
                made.regions
            row.status = "rendered" if row.status == "candidate" else row.status
            if not announced:
                ledger.emit(s, domain.CLIP_RENDERED, stream.id, clip_id=row.id, live=True)
        self._note(item.clip_id, status="rendered", rendered_at=time.time(),
                   transcript=str(made.transcript), start=c.start, end=c.end)
        self._discard(window)
        self.notice(f"clip {item.clip_id} rendered: {c.start:.1f}-{c.end:.1f} s, {c.title}")

    def _overlapping(self, start: float, end: float) -> str | None:
        """A clip rendered already that holds most of START..END (or it most of it)."""
        with self.lock:
            for item in self.state.moments:
                if item["status"] != "rendered":
                    continue
                shared = min(end, item["end"]) - max(start, item["start"])
                if shared > 0.5 * min(end - start, item["end"] - item["start"]):
                    return str(item["clip_id"])
        return None

    def _discard(self, window: Window) -> None:
        for path in (window.video, window.audio, window.video.with_suffix(".txt")):
            path.unlink(missing_ok=True)

    def _note(self, clip_id: str, **values: Any) -> None:
        with self.lock:
            for item in self.state.moments:
                if item["clip_id"] == clip_id:
                    item.update(values)
            self._save()

    # --- the stream row, the state and the end --------------------------------------------
    def _stream(self) -> int:
        from clipforge.services.orchestrator import with_streamer_defaults

        with self.repo.session() as s:
            workspace = workspaces.default_id(s)
            key = workspaces.stream_key(s, workspace, live_key(self.source))
            streamer = find_streamer(s, self.options.streamer, workspace)
            self.options = with_streamer_defaults(
                replace(self.options, live=True), streamer.settings or {}, self.settings)
            if self.stream_id is not None:
                stream = s.get_one(StreamRow, self.stream_id)
            else:
                stream = one_or_add(s, StreamRow, {"source": self.source, "duration": 0.0,
                                                   "run": 0, "workspace_id": workspace},
                                    key=key)
            stream.source, stream.name = self.source, stream.name or _name(self.source)
            stream.options, stream.streamer_id = self.options.to_json(), streamer.id
            if stream.status != "processing":
                stream.run += 1
                stream.submitted_at = utcnow()
                ledger.emit(s, domain.STREAM_SUBMITTED, stream.id, run=stream.run,
                            name=stream.name, live=True)
            stream.status, stream.error = "processing", None
            s.flush()
            return stream.id

    def _watch_stop(self, followed: threading.Event) -> None:
        """Every second until the follow ends: keep the stream's length current, and stop
        following once the stream is asked to stop (its status changed, from anywhere)
        or a clip failed with a bug. A stalled playlist is stopped as promptly."""
        while not followed.wait(1.0):
            with self.repo.session() as s:
                stream = s.get_one(StreamRow, self.stream_id)
                stream.duration = float(self.features.end)
                asked = stream.status != "processing"
            if asked or self.failure is not None:
                self.follower.stop()
                return

    def _load(self) -> None:
        saved = load_state(self.folder)
        self.state = replace(saved or _State(epoch=time.time()), source=self.source,
                             chat=self.chat_source, until=self.until)
        self._save()

    def _save(self) -> None:
        artifacts.write_json(self.folder / STATE, asdict(self.state))

    def _finish(self) -> dict[str, Any]:
        """report.json, as a VOD run writes it; the stream is done."""
        with self.repo.session() as s:
            stream = s.get_one(StreamRow, self.stream_id)
            rows = [r for r in s.query(ClipRow).filter(ClipRow.stream_id == stream.id)
                    if r.file]
            rows.sort(key=lambda r: -r.score)
            for rank, row in enumerate(rows, start=1):
                row.rank = rank
            listed = [{"id": r.id, "rank": r.rank, "start": r.start, "end": r.end,
                       "score": r.score, "reasons": r.reasons, "title": r.title,
                       "layout": r.rendered_layout, "file": r.file} for r in rows]
            stream.duration = float(self.features.end)
            elapsed = (utcnow() - stream.submitted_at).total_seconds()
        transcripts = [m["transcript"] for m in self.state.moments if m.get("transcript")]
        run = self.run_ctx or Run(stream_id=self.stream_id or 0,
                                  stream_key=live_key(self.source),
                                  info=MediaInfo(self.source, 0.0, False, False),
                                  options=self.options, settings=self.settings,
                                  work=self.folder / "work", source=self.source,
                                  language=self.options.language or self.settings.language)
        run = replace(run, info=replace(run.info, duration=float(self.features.end)))
        notice = None if listed else ("0 clips: nothing stood out while the stream was "
                                      "followed (no moment rose above the rest in loudness "
                                      "or chat)")
        report_job.run(run.for_job("report", "stream", "live"), report_job.ReportInput(
            inputs=[], out=str(self.options.out_dir), notice=notice, clips=listed,
            timings={"total": round(elapsed, 3)}, transcripts=transcripts))
        path = self.options.out_dir / "report.json"
        report = artifacts.read_json(path)
        assert isinstance(report, dict)
        report["live"] = {"moments": self.state.moments}
        artifacts.write_json(path, report)
        with self.repo.session() as s:
            stream = s.get_one(StreamRow, self.stream_id)
            stream.status = "done"
            ledger.emit(s, domain.STREAM_COMPLETED, stream.id, report=str(path),
                        clips=len(listed))
        return report


def failed(repo: Repository, stream_id: int, exc: errors.ClipForgeError) -> None:
    """A live stream ends failed, with the reason on its row and in a `job.failed` event."""
    with repo.session() as s:
        stream = s.get_one(StreamRow, stream_id)
        stream.status, stream.error = "failed", exc.message
        ledger.emit(s, domain.JOB_FAILED, stream.id, stage="live", error=exc.message,
                    code=exc.code)


def load_state(folder: Path) -> _State | None:
    """A live run's state in FOLDER (OUT/live), if it was started there."""
    path = folder / STATE
    return _State(**json.loads(path.read_text())) if path.exists() else None


def first_contact(url: str, settings: Settings) -> None:
    """A new live stream's playlist is there and is one, or a clear error at once (a
    stream followed already rides out its faults instead)."""
    try:
        answer = CheckedHttp(limits_from(settings), timeout=15.0).get(url, MAX_PLAYLIST_BYTES)
    except Transient as exc:
        raise errors.NoNetwork(f"{url}: cannot be reached ({exc}); check the URL and that "
                               "the stream is live") from exc
    if answer.status != 200:
        raise errors.DownloadFailed(f"{url}: answered HTTP {answer.status}; check the URL "
                                    "and that the stream is live")
    hls.parse(answer.body.decode("utf-8", "replace"), answer.url)


def _next_rank(s: Any, stream_id: int) -> int:
    ranks = [r.rank for r in s.query(ClipRow).filter(ClipRow.stream_id == stream_id)]
    return max(ranks, default=0) + 1


def _name(source: str) -> str:
    return source.rsplit("/", 2)[-2] if source.count("/") > 3 else source



class Followers:
    """The live streams a server follows (`POST /api/streams` with `live`), each in a
    thread of its own; stopped through the stream's row (`stop_stream`), from anywhere."""

    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo, self.settings = repo, settings
        self.runs: dict[int, tuple[LiveRun, threading.Thread]] = {}

    def start(self, source: str, options: Options, chat: str | None = None,
              until: float | None = None, name: str | None = None) -> int:
        run = LiveRun(source, replace(options, live=True), self.settings, self.repo,
                      until=until, chat=chat)
        stream_id = run.open()
        if name:
            with self.repo.session() as s:
                s.get_one(StreamRow, stream_id).name = name
        known = self.runs.get(stream_id)
        if known is not None and known[1].is_alive():
            raise errors.Conflict(f"stream {stream_id} is being followed already")
        thread = threading.Thread(target=self._run, args=(run,), daemon=True,
                                  name=f"clipforge-live-{stream_id}")
        self.runs[stream_id] = (run, thread)
        thread.start()
        return stream_id

    def resume(self) -> list[int]:
        """Follow on the live streams this server was following when it stopped (killed
        or restarted): each resumes from its folder's state, so no moment is lost and no
        clip made twice. One that cannot resume (no state yet, or its source fails) ends
        `failed`, saying why, rather than staying live forever."""
        with self.repo.session() as s:
            found = [(r.id, r.status, r.options) for r in s.query(StreamRow).filter(
                StreamRow.status.in_(("processing", "stopping"))) if (r.options or {}).get("live")]
        resumed = []
        for stream_id, status, raw in found:
            options = Options.from_json(raw)
            saved = load_state(options.out_dir / "live")
            try:
                if saved is None or not saved.source:
                    raise errors.StreamFailed("the server stopped before this live stream "
                                                "was first followed; submit it again")
                self.start(saved.source, options, saved.chat, saved.until)
            except errors.ClipForgeError as exc:
                log.warning("live stream %s not resumed: %s", stream_id, exc.message)
                failed(self.repo, stream_id, exc)
                continue
            if status == "stopping":  # it was asked to stop: it stops now
                stop_stream(self.repo, stream_id)
            resumed.append(stream_id)
        return resumed

    def _run(self, run: LiveRun) -> None:
        try:
            run.run()
        except errors.ClipForgeError as exc:  # kept on the stream's row
            log.warning("live stream %s: %s", run.stream_id, exc.message)
        except Exception:
            log.exception("live stream %s", run.stream_id)

    def close(self, timeout: float = 30.0) -> None:
        """Stop following (the streams resume when the server starts again)."""
        runs = list(self.runs.values())  # a resume may still be adding some
        for run, _ in runs:
            run.stop()
        for _, thread in runs:
            thread.join(timeout)


def stop_stream(repo: Repository, stream_id: int) -> None:
    """Ask a live stream to end as if its playlist ended: its last clips are made and
    its report written."""
    with repo.session() as s:
        stream = ledger.lock_stream(s, stream_id)
        if not (stream.options or {}).get("live"):
            raise errors.Conflict(f"stream {stream_id} is not live; cancel it instead")
        if stream.status != "processing":
            raise errors.Conflict(f"stream {stream_id} is {stream.status}, not live now")
        stream.status = "stopping"
        ledger.emit(s, domain.STREAM_NOTICE, stream.id, message="Stopping: the last "
                    "clips are being made and the report written.")


def follow_live(source: str, out_dir: Path, settings: Settings, *, chat: str | None = None,
                streamer: str = "default", until: float | None = None,
                min_len: float | None = None, max_len: float | None = None,
                layout: str | None = None, on_notice: Notice | None = None
                ) -> dict[str, Any]:
    """`clipforge live`: follow SOURCE to its end (or UNTIL seconds) in OUT_DIR, here;
    return its report. Killed and run again with the same OUT_DIR, it resumes."""
    from clipforge.services.checks import check_layout, check_out_dir

    check_out_dir(out_dir, "--out")
    check_layout(layout, "--layout")
    if until is not None and until <= 0:
        raise errors.BadOption(f"--until {until:g}: give a number of seconds above 0")
    options = Options(out_dir=out_dir, streamer=streamer, layout=layout or "",
                      min_len=min_len if min_len is not None else settings.min_len,
                      max_len=max_len if max_len is not None else settings.max_len,
                      live=True)
    if options.min_len <= 0 or options.max_len < options.min_len:
        raise errors.BadOption(f"--min-len {options.min_len:g} --max-len "
                               f"{options.max_len:g}: give 0 < min-len <= max-len")
    out_dir.mkdir(parents=True, exist_ok=True)
    repo = Repository(settings.database_url)
    return LiveRun(source, options, settings, repo, until=until, chat=chat,
                   on_notice=on_notice).run()
