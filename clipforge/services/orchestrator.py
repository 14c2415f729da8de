"""The orchestrator: what the CLI and the API ask of the pipeline. Submit a stream,
reprocess or cancel it, retry a failed job, edit or review a clip. Each request changes
rows and queues jobs in one transaction, with its events in the outbox; a pool runs them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clipforge import domain, errors
from clipforge.config import Settings
from clipforge.domain import Options
from clipforge.execution.completion import Tracker, advance, load_run
from clipforge.execution.pool import JobHooks, LocalPool
from clipforge.jobs import ingest, registry
from clipforge.jobs.plan import plan_specs
from clipforge.progress import NullProgress, Progress
from clipforge.services import (
    captions,
    checks,
    feedback,
    publishing,
    queries,
    submission,
    timeline,
    versions,
    workspaces,
)
from clipforge.services.checks import parse_fractions
from clipforge.services.streamers import find_streamer
from clipforge.storage import artifacts, ledger
from clipforge.storage.models import (
    ClipRow,
    JobRow,
    PublicationRow,
    StreamerRow,
    StreamRow,
    utcnow,
)
from clipforge.storage.repository import Repository, fetch, one_or_add


@dataclass
class Orchestrator:
    repo: Repository
    settings: Settings
    # Where queued work is announced to a progress display; none by default.
    tracker: Tracker = field(default_factory=lambda: Tracker(lambda _stream: NullProgress()))
    # Who runs the jobs it queues: None, any pool of a server or workers; "process", only
    # the `clipforge process` that submitted them (StreamRow.runner).
    runner: str | None = None

    def submit(self, source: Path | str | submission.Source, options: Options,
               name: str | None = None, workspace_id: int | None = None) -> int:
        """Validate a source (a file or a URL; or one `submission.validate` checked) and
        queue its processing in the workspace (`default` without one); returns the stream
        id. The same source submitted again in the same workspace is the same stream:
        finished work is reused. In another workspace it is another stream."""
        if isinstance(source, submission.Source):
            found = source
            checks.check_options(options)
        else:
            found = submission.validate(source, options, self.settings)
        with self.repo.session() as s:
            if workspace_id is None:
                workspace_id = workspaces.default_id(s)
            key = workspaces.stream_key(s, workspace_id, found.key)
            streamer = find_streamer(s, options.streamer, workspace_id)
            # Stored by an older version that let it in: refused here, not in a job.
            checks.check_streamer_settings(streamer.settings or {})
            options = with_streamer_defaults(options, streamer.settings or {}, self.settings)
            stream = one_or_add(s, StreamRow, {"source": "", "duration": 0.0, "run": 0,
                                               "workspace_id": workspace_id}, key=key)
            stream.source, stream.duration = found.where, found.info.duration
            stream.info, stream.options = asdict(found.info), options.to_json()
            stream.name = name or found.name
            stream.streamer_id = streamer.id
            s.flush()
            self._start(s, stream)
            return stream.id

    def reprocess(self, stream_id: int) -> None:
        with self.repo.session() as s:
            stream = fetch(s, StreamRow, stream_id, "stream")
            if stream.status == "processing":
                raise errors.Conflict(f"stream {stream_id} is being processed already")
            self._start(s, stream)

    def _start(self, s: Session, stream: StreamRow) -> None:
        stream.run += 1
        stream.status, stream.error, stream.submitted_at = "processing", None, utcnow()
        stream.runner = self.runner
        ledger.emit(s, domain.STREAM_SUBMITTED, stream.id, run=stream.run, name=stream.name)
        chat = Options.from_json(stream.options).chat
        self._queue(s, stream, [ingest.first(stream.source, self.settings, chat)])

    def _queue(self, s: Session, stream: StreamRow, specs: list[ledger.JobSpec]) -> None:
        run = load_run(s, self.settings, stream, self.tracker.progress_for(stream.id), None)
        queued = [(spec, *registry.enqueue(s, stream, spec)) for spec in specs]
        self.tracker.queued(stream.id, [(spec, reused) for spec, _, reused in queued])
        for _, row, reused in queued:
            if reused:
                advance(s, run, stream, row, self.tracker)

    def cancel(self, stream_id: int) -> None:
        with self.repo.session() as s:
            stream = fetch(s, StreamRow, stream_id, "stream")
            if stream.status != "processing":
                raise errors.Conflict(f"stream {stream_id} is {stream.status}, not processing")
            stream.status = "cancelled"
            s.execute(update(JobRow).where(JobRow.stream_id == stream_id,
                                           JobRow.status == "queued",
                                           JobRow.detached.is_(False))
                      .values(status="cancelled"))
            ledger.emit(s, domain.STREAM_CANCELLED, stream.id)

    def retry(self, job_id: int) -> None:
        """Run a failed job again; its stream picks up from there."""
        with self.repo.session() as s:
            job = fetch(s, JobRow, job_id, "job")
            if job.status not in ("failed", "cancelled"):
                raise errors.Conflict(f"job {job_id} is {job.status}; only a failed or "
                                      "cancelled job can be retried")
            stream = ledger.lock_stream(s, job.stream_id)
            job.status, job.error, job.run = "queued", None, stream.run
            s.execute(update(JobRow).where(JobRow.stream_id == stream.id,
                                           JobRow.run == stream.run,
                                           JobRow.status == "cancelled")
                      .values(status="queued"))
            stream.status, stream.error = "processing", None

    def edit_clip(self, clip_id: str, changes: dict[str, Any],
                  by: str | None = None) -> ClipRow:
        """Change a clip's bounds, title, caption words or text, layout, caption style,
        aspect ratio or panes, and render it again; the new state is kept as a version
        (BY: who asked)."""
        with self.repo.session() as s:
            clip = fetch(s, ClipRow, clip_id, "clip")
            stream = self._editable(s, clip)
            versions.before_change(s, clip)
            start, end = changes.get("start", clip.start), changes.get("end", clip.end)
            checks.check_clip_bounds(clip_id, start, end, stream.duration)
            checks.check_layout(changes.get("layout"))
            checks.check_caption_style(changes.get("caption_style"), "caption_style")
            checks.check_aspect(changes.get("aspect"))
            if "regions" in changes:
                changes["regions"] = _edited_regions(changes["regions"], stream)
            names = sorted(changes)
            captions.edit(s, clip, changes)  # takes `words` and `captions` out of changes
            for field, value in changes.items():
                setattr(clip, field, value)
            clip.peak = min(max(clip.peak, clip.start), clip.end)
            versions.record(s, clip, "edit", names, by)
            self._rerender(s, stream, clip, names)
            return clip

    def make_clip(self, stream_id: int, start: float, end: float, title: str | None,
                  by: str | None = None) -> str:
        """A clip a person made (from the transcript): planned and rendered like the
        picked ones, ranked after them."""
        with self.repo.session() as s:
            stream = ledger.lock_stream(s, stream_id)
            if stream.status == "processing":
                raise errors.Conflict(f"stream {stream.id} is still being processed; make "
                                      "clips once it is done")
            options = Options.from_json(stream.options)
            if not options.render:
                raise errors.Conflict(f"stream {stream.id} was processed without rendering")
            checks.check_clip_bounds("new", start, end, stream.duration)
            said = [w.word for w in captions.stream_words(s, stream)
                    if w.end > start and w.start < end]
            name = title or " ".join(said[:8]) or f"Clip at {start:.0f} s"
            curve = timeline.score_curve(s, stream)[int(start):int(end) + 1] or [0.0]
            cand = domain.Candidate(rank=0, start=start, end=end, peak=(start + end) / 2,
                                    score=round(max(0.0, *curve), 3), reasons={}, title=name)
            cid = domain.clip_id(stream.key, cand)
            if s.get(ClipRow, cid) is not None:
                raise errors.Conflict(f"clip {cid} has these bounds already")
            last = s.scalar(select(func.max(ClipRow.rank)).where(
                ClipRow.stream_id == stream.id)) or 0
            clip = ClipRow(id=cid, stream_id=stream.id, rank=last + 1, start=start, end=end,
                           peak=cand.peak, score=cand.score, reasons={}, features={},
                           title=name,
                           layout=options.layout or "auto", status="candidate", revision=0)
            s.add(clip)
            s.flush()
            versions.before_change(s, clip, "made", by)
            self._rerender(s, stream, clip, ["made"])
            return cid

    def _editable(self, s: Session, clip: ClipRow) -> StreamRow:
        """The clip's stream, locked, once it is in a state to re-render the clip."""
        stream = ledger.lock_stream(s, clip.stream_id)
        if stream.status == "processing":
            raise errors.Conflict(f"stream {stream.id} is still being processed; edit "
                                  "its clips once it is done")
        if not clip.file and not Options.from_json(stream.options).render:
            raise errors.Conflict(f"clip {clip.id} was listed without rendering")
        return stream

    def _rerender(self, s: Session, stream: StreamRow, clip: ClipRow, names: list[str]) -> None:
        clip.revision += 1
        ledger.emit(s, domain.CLIP_EDITED, stream.id, clip_id=clip.id, changes=names)
        stream.status = "processing"
        s.flush()
        run = load_run(s, self.settings, stream, self.tracker.progress_for(stream.id), None)
        self._queue(s, stream, plan_specs(s, run, stream, [clip]))

    def review(self, clip_id: str, approved: bool, by: str | None = None) -> feedback.Feedback:
        """Approve or reject a clip; the streamer's re-ranker learns from it."""
        return self.review_many([clip_id], approved, by)[0]

    def review_many(self, clip_ids: list[str], approved: bool, by: str | None = None,
                    stream_id: int | None = None) -> list[feedback.Feedback]:
        """Approve or reject clips (of STREAM_ID, when given) in one transaction: all of
        them or, if one cannot be, none; the re-ranker learns once from all of them."""
        with self.repo.session() as s:
            clips = [fetch(s, ClipRow, cid, "clip", "the ids are in report.json")
                     for cid in dict.fromkeys(clip_ids)]
            for clip in clips:
                if stream_id is not None and clip.stream_id != stream_id:
                    raise errors.NotFound(f"clip {clip.id} is not a clip of stream "
                                          f"{stream_id}")
                if clip.status == "published":
                    raise errors.Conflict(f"clip {clip.id} is published already")
            results = []
            for clip in clips:
                versions.before_change(s, clip)
                feedback.label(s, clip.id, approved)
                versions.record(s, clip, "approve" if approved else "reject", ["status"], by)
                name = domain.CLIP_APPROVED if approved else domain.CLIP_REJECTED
                ledger.emit(s, name, clip.stream_id, clip_id=clip.id, status=clip.status)
                results.append(feedback.Feedback(clip.id, clip.status, "", 0, False,
                                                 self._auto_publish(s, clip, approved)))
            trained = feedback.retrain(s, {c.stream_id for c in clips})
            return [replace(r, streamer=trained[0], labels=trained[1],
                            ranker_active=trained[2]) for r in results]

    def _auto_publish(self, s: Session, clip: ClipRow, approved: bool) -> tuple[str, ...]:
        """The streamer's auto-publish, queued with an approval: the platforms queued."""
        stream_row = s.get_one(StreamRow, clip.stream_id)
        if not approved or stream_row.streamer_id is None:
            return ()
        streamer = s.get_one(StreamerRow, stream_row.streamer_id)
        return tuple(p.platform for p in publishing.auto_publish(s, clip, streamer))

    def undo(self, clip_id: str) -> ClipRow:
        """Take back the clip's last edit, approval or rejection: it goes back to its
        version before (an edit is rendered again)."""
        with self.repo.session() as s:
            clip = fetch(s, ClipRow, clip_id, "clip")
            if clip.status == "published" or publishing.started(s, clip.id):
                raise errors.Conflict(f"clip {clip_id} is being published or published "
                                      "already; what led to that cannot be undone")
            stream = ledger.lock_stream(s, clip.stream_id)
            last, target = versions.undo(s, clip)
            names = versions.changed(clip, target)
            if names:
                self._editable(s, clip)
            if target["status"] != clip.status:
                clip.status = target["status"]
                feedback.retrain(s, {clip.stream_id})
                ledger.emit(s, domain.CLIP_EDITED, stream.id, clip_id=clip.id,
                            changes=["status"], undone=last.number)
            if names:
                for name in names:
                    setattr(clip, name, target[name])
                self._rerender(s, stream, clip, names)
            return clip

    def publish(self, clip_id: str, platforms: list[str],
                publish_at: str | None = None) -> list[PublicationRow]:
        """Queue an approved clip's publishing; returns its publications. Publishing a
        clip again never posts it twice: a published platform is left as it is."""
        with self.repo.session() as s:
            clip = fetch(s, ClipRow, clip_id, "clip", "the ids are in report.json")
            if clip.status not in ("approved", "published"):
                raise errors.Conflict(f"clip {clip_id} is {clip.status}; approve it first "
                                      f"(`clipforge feedback approve {clip_id}`)")
            if not clip.file:
                raise errors.Conflict(f"clip {clip_id} has no rendered file to publish")
            return publishing.queue_publish(s, clip, platforms, publish_at)


def _edited_regions(regions: dict[str, Any] | None,
                    stream: StreamRow) -> dict[str, Any] | None:
    """A person's facecam and/or gameplay rectangles (source pixels), checked to lie in
    the frame; None goes back to detection."""
    if not regions:
        return None
    width, height = (stream.info or {}).get("width", 0), (stream.info or {}).get("height", 0)
    kept: dict[str, Any] = {"edited": True}
    for name in ("facecam", "gameplay"):
        box = regions.get(name)
        if box is None:
            continue
        x, y, w, h = box
        if not (w >= 16 and h >= 16 and x >= 0 and y >= 0 and x + w <= width
                and y + h <= height):
            raise errors.BadOption(f"regions.{name} {box}: x, y, w, h must lie inside the "
                                   f"{width}x{height} frame, at least 16 px each way")
        kept[name] = [float(v) for v in box]
    return kept


def with_streamer_defaults(options: Options, prefs: dict[str, Any],
                           settings: Settings) -> Options:
    """A new stream takes its streamer's default layout, caption style (size, colour),
    aspect ratio and fixed facecam and gameplay panes where the request did not choose
    (an empty layout, style or aspect)."""
    facecam, gameplay = prefs.get("facecam"), prefs.get("gameplay")
    return replace(
        options,
        layout=options.layout or prefs.get("layout") or settings.layout,
        caption_style=options.caption_style or prefs.get("caption_style")
        or settings.caption_style,
        caption_size=options.caption_size or prefs.get("caption_size"),
        caption_colour=options.caption_colour or prefs.get("caption_colour"),
        facecam=options.facecam or (parse_fractions(facecam) if facecam else None),
        gameplay=options.gameplay or (parse_fractions(gameplay, "gameplay") if gameplay
                                      else None),
        aspect=options.aspect or prefs.get("aspect") or "9:16",
        language=checks.check_language(options.language) or str(prefs.get("language") or "")
        or checks.check_language(settings.language, "CLIPFORGE_LANGUAGE"),
    )


def process(source: Path | str, options: Options, settings: Settings,
            progress: Progress | None = None, hooks: JobHooks | None = None) -> dict[str, Any]:
    """`clipforge process`: submit, run the local pool until the stream is finished, and
    return its report. Killed and run again, it resumes where it stopped. `hooks` see
    each job (benchmarks/profiles.py profiles them)."""
    repo = Repository(settings.database_url)
    pool = LocalPool(repo, settings, progress, hooks=hooks)
    orchestrator = Orchestrator(repo, settings, pool.tracker, runner="process")
    stream_id = orchestrator.submit(source, options)  # validates: bad input costs nothing
    options.out_dir.mkdir(parents=True, exist_ok=True)
    pool.start(stream_id)
    try:
        stream = pool.wait(stream_id)
    finally:
        pool.stop()
    if stream.status != "done":
        raise errors.StreamFailed(f"{source}: stream {stream_id} {stream.status}: "
                                  f"{stream.error}; run the same command again to retry",
                                  queries.failure_code(repo, stream_id))
    report = artifacts.read_json(options.out_dir / "report.json")
    assert isinstance(report, dict)
    return report


def publish_now(clip_ids: list[str], settings: Settings, platforms: list[str] | None = None,
                publish_at: str | None = None) -> list[PublicationRow]:
    """`clipforge publish`: queue the clips' publishing (or, without `platforms`, take the
    publish jobs already queued, say by auto-publish), run them on a local pool and
    return the publications. Killed and run again, it resumes the same uploads."""
    repo = Repository(settings.database_url)
    orchestrator = Orchestrator(repo, settings)
    if platforms is not None:
        for clip_id in clip_ids:
            orchestrator.publish(clip_id, platforms, publish_at)
    with repo.session() as s:
        jobs = [j.id for c in clip_ids for j in publishing.publish_jobs(s, c)]
    if not jobs and platforms is None:
        raise errors.BadOption(f"clips {', '.join(clip_ids)}: nothing is queued to publish; "
                               "say where with --to youtube,x,tiktok,instagram")
    if jobs:
        pool = LocalPool(repo, settings, lease=settings.job_lease_seconds)
        pool.start(job_ids=jobs)
        try:
            while True:
                with repo.session() as s:
                    states = s.scalars(select(JobRow.status).where(JobRow.id.in_(jobs)))
                    if all(state in ("done", "failed", "cancelled") for state in states):
                        break
                time.sleep(0.2)
        finally:
            pool.stop()
    with repo.session() as s:
        return list(s.scalars(select(PublicationRow).where(
            PublicationRow.clip_id.in_(clip_ids)).order_by(PublicationRow.id)))
