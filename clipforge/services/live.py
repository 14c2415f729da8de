"""Live streams, as the API and the CLI start and stop them (the following itself is
jobs/live.py).

- `clipforge live` follows one stream here (`follow_live`), to its end.
- An embedded server (`clipforge serve`) follows each in a thread of its own
  (`Followers`), and follows them on when it is started again.
- In distributed mode the server queues a `live` job instead: a `clipforge worker
  --stage live` follows the stream under the job's lease, and another takes it over if
  that worker's machine dies.

Stopping is the same everywhere: the stream's row says `stopping`, and whoever follows
it ends it as if its playlist had ended.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from clipforge import domain, errors
from clipforge.config import Settings
from clipforge.domain import MediaInfo, Options
from clipforge.jobs import live_chat, registry
from clipforge.jobs.base import spec
from clipforge.jobs.live import LiveInput, LiveRun, Notice, failed, live_key, load_state
from clipforge.services import workspaces
from clipforge.services.orchestrator import with_streamer_defaults
from clipforge.services.streamers import find_streamer
from clipforge.storage import ledger
from clipforge.storage.models import StreamRow, utcnow
from clipforge.storage.repository import Repository, one_or_add

log = logging.getLogger(__name__)
__all__ = ["Followers", "follow_live", "is_live_chat", "live_key", "open_stream",
           "stop_stream"]


def is_live_chat(spec_: str) -> bool:
    """Whether a `chat` value is read as it comes (twitch:..., youtube...), not a file."""
    return live_chat.is_live(spec_)


def open_stream(run: LiveRun) -> int:
    """The live stream's row, made (or found again, to resume), its state loaded and its
    options completed with the streamer's defaults: its id, also set on RUN."""
    run.load()
    with run.repo.session() as s:
        workspace = workspaces.default_id(s)
        key = workspaces.stream_key(s, workspace, live_key(run.source))
        streamer = find_streamer(s, run.options.streamer, workspace)
        run.options = with_streamer_defaults(
            replace(run.options, live=True), streamer.settings or {}, run.settings)
        if run.stream_id is not None:
            stream = s.get_one(StreamRow, run.stream_id)
        else:
            stream = one_or_add(s, StreamRow, {"source": run.source, "duration": 0.0,
                                               "run": 0, "workspace_id": workspace},
                                key=key)
        stream.source, stream.name = run.source, stream.name or _name(run.source)
        stream.options, stream.streamer_id = run.options.to_json(), streamer.id
        if not stream.info:  # probed from the first segment; a job's run needs one now
            stream.info = asdict(MediaInfo(run.source, 0.0, False, False))
        if stream.status != "processing":
            stream.run += 1
            stream.submitted_at = utcnow()
            ledger.emit(s, domain.STREAM_SUBMITTED, stream.id, run=stream.run,
                        name=stream.name, live=True)
        stream.status, stream.error = "processing", None
        s.flush()
        run.stream_id = stream.id
        return stream.id


def _name(source: str) -> str:
    return source.rsplit("/", 2)[-2] if source.count("/") > 3 else source


class Followers:
    """The live streams a server follows (`POST /api/streams` with `live`), each in a
    thread of its own; stopped through the stream's row (`stop_stream`), from anywhere.
    In distributed mode (Redis set) each becomes a `live` job for the live workers."""

    def __init__(self, repo: Repository, settings: Settings) -> None:
        self.repo, self.settings = repo, settings
        self.runs: dict[int, tuple[LiveRun, threading.Thread]] = {}

    def start(self, source: str, options: Options, chat: str | None = None,
              until: float | None = None, name: str | None = None) -> int:
        run = LiveRun(source, replace(options, live=True), self.settings, self.repo,
                      until=until, chat=chat)
        stream_id = open_stream(run)
        if name:
            with self.repo.session() as s:
                s.get_one(StreamRow, stream_id).name = name
        if self.settings.redis_url:
            self._queue(stream_id, LiveInput(source, chat, until, 0))
            return stream_id
        known = self.runs.get(stream_id)
        if known is not None and known[1].is_alive():
            raise errors.Conflict(f"stream {stream_id} is being followed already")
        thread = threading.Thread(target=self._run, args=(run,), daemon=True,
                                  name=f"clipforge-live-{stream_id}")
        self.runs[stream_id] = (run, thread)
        thread.start()
        return stream_id

    def _queue(self, stream_id: int, inp: LiveInput) -> None:
        """The stream's live job in its current run (once: asked again, it is the same
        job); the orchestrator's sweeper sends it to a live worker."""
        with self.repo.session() as s:
            stream = ledger.lock_stream(s, stream_id)
            registry.enqueue(s, stream, spec("live", "stream", replace(inp, run=stream.run)))

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
        except errors.HandedOver:
            log.info("live stream %s: left to be followed on", run.stream_id)
        except errors.ClipForgeError as exc:  # kept on the stream's row
            log.warning("live stream %s: %s", run.stream_id, exc.message)
        except Exception:
            log.exception("live stream %s", run.stream_id)

    def close(self, timeout: float = 30.0) -> None:
        """Stop following (the streams resume when the server starts again)."""
        runs = list(self.runs.values())  # a resume may still be adding some
        for run, _ in runs:
            run.leave()
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
    run = LiveRun(source, options, settings, repo, until=until, chat=chat,
                  on_notice=on_notice)
    open_stream(run)
    return run.run()
