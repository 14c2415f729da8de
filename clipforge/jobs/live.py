"""Live: clips while the stream is still on (`clipforge live`, `POST /api/streams` with
`"live": true`). Where it runs: a thread of `clipforge live` or of an embedded server
(services/live.py opens the stream's row and starts it), or, in distributed mode, the
`live` job on a `clipforge worker --stage live` (`run` below).

The follower (sources/live_hls.py) hands out each new segment; its audio's per-second
features join a rolling history, and the cheap highlight curve (audio and chat, as the
VOD cascade's) is searched for a moment whose reaction is over (analysis/moments.py).
A confirmed moment pins its window of segments in the ring, and a render thread makes
its clip (jobs/live_clips.py: transcribe, bounds at sentences, plan, render), stores
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

Takeover (distributed mode): the job's lease is kept by its worker's heartbeat. The
state files, the ring's segments (while they are in the ring) and each clip are
uploaded to the store as they are written; a worker that claims the job after the lease
ran out (its machine died) fetches them and resumes as above. The old worker, if it
was only cut off, sees within a second that the job is no longer its own and stops
without ending the stream.

Bounds, for an 8-hour stream: disk holds the follower's ring (`live_ring_seconds`, see
live_hls.py) plus the windows being cut (each at most 2 x max_len + 10 s of segments,
deleted once rendered) and the clips; memory holds HISTORY seconds of per-second
features (6 floats a second), less than a second of pending samples, the chat messages
of the last HISTORY seconds and the moments list (one small dict per clip). The store
holds the same ring, the state and the clips."""

from __future__ import annotations

import contextlib
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
from clipforge.jobs import live_chat
from clipforge.jobs import report as report_job
from clipforge.jobs.base import Finished, Result
from clipforge.jobs.context import ModelCache, Run
from clipforge.jobs.live_clips import History, Window, fix_bounds, join_window, make_clip
from clipforge.media import ffmpeg
from clipforge.sources import hls, ingest
from clipforge.sources.addresses import limits_from
from clipforge.sources.checked_http import CheckedHttp, Transient
from clipforge.sources.live_hls import MAX_PLAYLIST_BYTES, LiveSegment, follower_from
from clipforge.sources.live_hls import STATE as FOLLOW_STATE
from clipforge.storage import artifacts, ledger, store
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import ClipRow, StreamRow, utcnow
from clipforge.storage.repository import Repository

log = logging.getLogger(__name__)
Notice = Callable[[str], None]

HISTORY = 300  # seconds of features kept: the 121-s baseline, a clip, and room
SETTLE = 4  # quiet seconds after a burst: the reaction is over
CHAT_WAIT = 20  # seconds chat may trail the stream (the lag estimate's largest)
WARMUP = 60  # seconds of stream before a first moment is judged: a baseline to judge by
MARGIN = 5.0  # seconds of window beyond a clip's longest reach, for sentence bounds
STATE = "moments.json"
__all__ = ["LiveInput", "LiveRun", "failed", "fetch_state", "first_contact", "follow",
           "live_key", "load_state", "moment_clip_id", "run"]


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
                 on_notice: Notice | None = None, stream_id: int | None = None,
                 ours: Callable[[], bool] | None = None) -> None:
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
        # Whether this process still holds the stream (a distributed worker's job lease):
        # checked every second; once not, it leaves the stream to its new holder.
        self.ours = ours or (lambda: True)
        self.left = False  # stopped following here without ending the stream
        self.shared: set[Path] = set()  # ring segments uploaded to the store
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
        """End the stream as if its playlist ended (any thread)."""
        self.follower.stop()

    def leave(self) -> None:
        """Stop following here without ending the stream, to be followed on from its
        state (a server or worker shutting down; any thread)."""
        self.left = True
        self.follower.stop()

    # --- the whole run --------------------------------------------------------------
    def load(self) -> None:
        """Its state: found again to resume, or new (the stream's clock starts now)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        saved = load_state(self.folder)
        self.state = replace(saved or _State(epoch=time.time()), source=self.source,
                             chat=self.chat_source, until=self.until)
        self._save()

    def run(self) -> dict[str, Any]:
        """Follow to the end (the stream's row made by services/live.py); a failure is
        kept on the stream's row too."""
        stream_id = self.stream_id
        assert stream_id is not None, "open the stream's row first"
        try:
            return self._follow()
        except errors.HandedOver:
            raise  # the stream goes on elsewhere
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
                self._share_ring(segment)
                self._look(final=False)
            if not self.left:
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
        if self.left:
            raise errors.HandedOver(f"live stream {self.stream_id}: no longer followed here; "
                                    "it is followed on from its state")
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
            _fetch([path, wav])  # taken over from another machine: from the store
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
            if self.failure is not None or self.left:
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
        if self.left:  # its new worker makes it
            return
        self._share([made.file, *report_job.clip_files(self.options.out_dir, item.clip_id)[1:],
                     made.transcript])
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
    def _watch_stop(self, followed: threading.Event) -> None:
        """Every second until the follow ends: keep the stream's length current, and stop
        following once the stream is asked to stop (its status changed, from anywhere)
        or a clip failed with a bug. A stalled playlist is stopped as promptly."""
        while not followed.wait(1.0):
            with self.repo.session() as s:
                stream = s.get_one(StreamRow, self.stream_id)
                stream.duration = float(self.features.end)
                asked = stream.status != "processing"
            if not self.ours():  # another worker took the stream over: leave it to it
                self.leave()
            if asked or self.failure is not None or self.left:
                self.follower.stop()
                return
            self._share([self.follower.folder / FOLLOW_STATE])

    def _save(self) -> None:
        artifacts.write_json(self.folder / STATE, asdict(self.state))
        self._share([self.folder / STATE])

    # --- distributed mode: what another worker needs to take over -----------------------
    def _share(self, paths: list[Path]) -> None:
        """Upload these files to the store (distributed mode; nothing in embedded mode): a
        worker that takes the stream over resumes from them. A failed upload is retried
        with the next one."""
        try:
            store.publish(paths)
        except Exception as exc:  # noqa: BLE001 - the store away for a moment
            log.warning("live stream %s: could not upload %s: %s", self.stream_id,
                        [p.name for p in paths], exc)

    def _share_ring(self, segment: LiveSegment) -> None:
        """The ring's segments are in the store while they are on disk here."""
        if store.active() is None:
            return
        new = [p for p in (segment.path, segment.audio) if p is not None]
        self._share(new)
        self.shared.update(new)
        gone = {p for p in self.shared if not p.exists()}
        self.shared -= gone
        try:
            store.remove(gone)
        except Exception as exc:  # noqa: BLE001 - left in the store: removed at the end
            log.warning("live stream %s: could not remove old segments: %s",
                        self.stream_id, exc)

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


@dataclass(frozen=True)
class LiveInput:
    """Distributed mode's live job: the follow of one run of a live stream, leased like
    any job; a worker that takes it over resumes from the state in the store."""

    source: str
    chat: str | None
    until: float | None
    run: int  # the stream's run: a stream followed again is a new job


def run(ctx: Run, inp: LiveInput) -> Result:
    """Follow the stream to its end, here, for as long as this worker holds the job."""
    assert ctx.repo is not None and ctx.job is not None, "the pool runs this step"
    repo, key, worker = ctx.repo, ctx.job.key, ledger.this_worker()

    def ours() -> bool:
        with repo.session() as s:
            return ledger.holds(s, key, worker)

    fetch_state(ctx.options.out_dir / "live")
    live = LiveRun(inp.source, ctx.options, ctx.settings, repo, until=inp.until,
                   chat=inp.chat, stream_id=ctx.stream_id, ours=ours)
    live.load()
    report = live.run()
    return Result(ctx.options.out_dir / "report.json", {"clips": len(report["clips"])})


def follow(_done: Finished, _inp: LiveInput) -> list[JobSpec]:
    """Nothing: the follow ended the stream itself (done, with its report)."""
    return []


def failed(repo: Repository, stream_id: int, exc: errors.ClipForgeError) -> None:
    """A live stream ends failed, with the reason on its row and in a `job.failed` event."""
    with repo.session() as s:
        stream = s.get_one(StreamRow, stream_id)
        stream.status, stream.error = "failed", exc.message
        ledger.emit(s, domain.JOB_FAILED, stream.id, stage="live", error=exc.message,
                    code=exc.code)


def _fetch(paths: list[Path]) -> None:
    """Bring these store files here if they are missing (distributed mode)."""
    for path in paths:
        with contextlib.suppress(errors.StateError):  # not in the store either: left out
            store.local(path)


def fetch_state(folder: Path) -> None:
    """A live stream's state as its last worker left it in the store (distributed mode),
    newer than any copy here: a worker that takes the stream over resumes from it."""
    for path in (folder / STATE, folder / "follow" / FOLLOW_STATE):
        try:
            store.refresh(path)
        except Exception as exc:  # noqa: BLE001 - the local copy, if any, is used
            log.warning("%s: not fetched from the store (%s)", path, exc)


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



