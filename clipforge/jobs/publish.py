"""The `publish` stage: one job per clip and platform in the job ledger, run by the same
pool as every other stage (so distributed workers can take it from a queue later).

Queueing records the publication (status `queued`, the words to send, the account) and
its job in the caller's transaction. The job retries transient failures with backoff,
records every attempt on the publication, and ends `published` (with `clip.published`
announcing the URLs, in the same transaction) or `failed` with the platform's reason.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import domain, errors
from clipforge.config import Settings
from clipforge.jobs.context import Run
from clipforge.publish import PLATFORMS, templates, x, youtube
from clipforge.publish.base import Published, Publisher, Video
from clipforge.services import accounts
from clipforge.storage import artifacts, ledger, store
from clipforge.storage.models import (
    AccountRow,
    ClipRow,
    JobRow,
    PublicationRow,
    StreamerRow,
    StreamRow,
    utcnow,
)
from clipforge.storage.repository import Repository

log = logging.getLogger("clipforge.publish")
FINAL = ("published", "failed")


def check_platforms(platforms: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(p.strip().lower() for p in platforms if p.strip()))
    unknown = [p for p in chosen if p not in PLATFORMS]
    if unknown or not chosen:
        raise errors.BadOption(f"platforms {', '.join(platforms) or '(none)'}: use "
                               f"{' and/or '.join(PLATFORMS)}")
    return chosen


def check_publish_at(value: str | None) -> str | None:
    """A scheduled time as YouTube wants it (RFC 3339, UTC), refused if not in the future."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise errors.BadOption(f"publish time {value}: give an ISO 8601 time such as "
                               "2026-12-01T18:00:00Z") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= datetime.now(UTC):
        raise errors.BadOption(f"publish time {value}: it is in the past; give a later one")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def publish_jobs(s: Session, clip_id: str) -> list[JobRow]:
    """The clip's publish jobs (one per platform asked for)."""
    return list(s.scalars(select(JobRow).where(JobRow.stage == "publish",
                                               JobRow.target.like(f"{clip_id}:%"))))


def queue_publish(s: Session, clip: ClipRow, platforms: list[str],
                  publish_at: str | None = None, strict: bool = True) -> list[PublicationRow]:
    """Queue the clip's publication on each platform (one already published stays as it
    is). Without a connected account: `strict` refuses; otherwise the publication is
    recorded failed, saying what to do, so an auto-publish never fails silently."""
    stream = s.get_one(StreamRow, clip.stream_id)
    streamer = s.get(StreamerRow, stream.streamer_id) if stream.streamer_id else None
    prefs = (streamer.settings or {}) if streamer else {}
    fields = templates.Fields(clip.title, streamer.name if streamer else "default",
                              stream.name, _aware_date(stream), templates.hashtags(
                                  prefs.get("hashtags")))
    rows, when, chosen = [], check_publish_at(publish_at), check_platforms(platforms)
    for platform in chosen:
        account = accounts.account_for(s, streamer.id, platform) if streamer else None
        if account is None and strict:
            raise errors.NoAccount(
                f"clip {clip.id}: streamer {fields.streamer} has no {platform} account "
                f"connected; connect one with `clipforge account connect {platform} "
                f"--streamer {fields.streamer}` or on the Streamers page")
        row = _publication(s, clip.id, platform)
        rows.append(row)
        if row.status == "published":
            continue
        words = templates.youtube(prefs, fields) if platform == "youtube" else \
            templates.post(prefs, fields)
        row.request = {**words, "publish_at": when}
        row.account_id = account.id if account else None
        if account is None:
            row.status, row.error = "failed", (
                f"auto-publish: streamer {fields.streamer} has no {platform} account "
                "connected; connect one on the Streamers page, then press Publish")
            continue
        row.status, row.error = "queued", None
        ledger.enqueue_detached(s, stream, ledger.JobSpec(
            "publish", f"{clip.id}:{platform}", {},
            {"clip_id": clip.id, "platform": platform}))
    return rows


def _publication(s: Session, clip_id: str, platform: str) -> PublicationRow:
    row = s.scalar(select(PublicationRow).where(PublicationRow.clip_id == clip_id,
                                                PublicationRow.platform == platform))
    if row is None:
        row = PublicationRow(clip_id=clip_id, platform=platform, status="queued",
                             attempts=0, progress={}, request={})
        s.add(row)
        s.flush()
    return row


def _aware_date(stream: StreamRow) -> str:
    return stream.created_at.date().isoformat() if stream.created_at else ""


def auto_publish(s: Session, clip: ClipRow, streamer: StreamerRow) -> list[PublicationRow]:
    """On approval: the streamer's `auto_publish` platforms ("youtube,x"), if any."""
    raw = str((streamer.settings or {}).get("auto_publish") or "").replace(",", " ")
    wanted = [p for p in raw.lower().split() if p in PLATFORMS]  # a typo never blocks approval
    return queue_publish(s, clip, wanted, strict=False) if wanted else []


# The job --------------------------------------------------------------------------------
class Progress:
    """The publication's checkpoint: every save is its own committed transaction."""

    def __init__(self, repo: Repository, publication_id: int) -> None:
        self.repo, self.id = repo, publication_id

    def load(self) -> dict[str, Any]:
        with self.repo.session() as s:
            return dict(s.get_one(PublicationRow, self.id).progress or {})

    def save(self, **changes: Any) -> None:
        with self.repo.session() as s:
            row = s.get_one(PublicationRow, self.id)
            row.progress = {**(row.progress or {}), **changes}
            # The two a person (or a support question) most wants to see, as columns.
            if "upload_uri" in changes:
                row.upload_uri = changes["upload_uri"]
            if "media_id" in changes:
                row.media_id = changes["media_id"]

    def note(self, **fields: Any) -> None:
        with self.repo.session() as s:
            row = s.get_one(PublicationRow, self.id)
            for name, value in fields.items():
                setattr(row, name, value)


def publish_clip(run: Run, job: JobRow) -> Path:
    """The step of a `publish` job."""
    repo: Repository = run.repo
    clip_id, platform = job.payload["clip_id"], job.payload["platform"]
    out = run.artifact(job, ".json")
    with repo.session() as s:
        row = _publication(s, clip_id, platform)
        done = row.status == "published"
        account = s.get(AccountRow, row.account_id or 0)
        progress = Progress(repo, row.id)
    if not done:
        try:
            with repo.session() as s:
                video = _video(s, s.get_one(PublicationRow, progress.id))
            published = _publish(repo, run.settings, video, account, platform, progress)
        except Exception as exc:
            _failed(repo, progress, account, exc)
            raise
        _finish(repo, progress, clip_id, platform, published)
    with repo.session() as s:
        row = s.get_one(PublicationRow, progress.id)
        artifacts.write_json(out, {"platform": platform, "external_id": row.external_id,
                                   "url": row.url})
    return out


def _video(s: Session, row: PublicationRow) -> Video:
    clip = s.get_one(ClipRow, row.clip_id)
    if not clip.file or not store.exists(clip.file):
        raise errors.PublishFailed(f"clip {clip.id}: its rendered file is missing "
                                   f"({clip.file}); reprocess the stream, then publish")
    # In distributed mode the clip is in the shared store: fetch it (and its thumbnail).
    file = store.local(clip.file)
    if store.exists(file.with_suffix(".jpg")):
        store.local(file.with_suffix(".jpg"))
    request = row.request or {}
    return Video(file=file, title=request.get("title", clip.title),
                 description=request.get("description", ""),
                 tags=list(request.get("tags", [])), privacy=request.get("privacy", "public"),
                 publish_at=request.get("publish_at"), thumbnail=file.with_suffix(".jpg"),
                 text=request.get("text", clip.title))


def _publish(repo: Repository, settings: Settings, video: Video, account: AccountRow | None,
             platform: str, progress: Progress) -> Published:
    if account is None:
        raise errors.NoAccount(f"no {platform} account is connected for this clip's "
                               "streamer; connect one, then publish again")
    with httpx.Client(timeout=settings.publish_timeout_seconds) as client:
        auth = accounts.credentials(repo, settings, client, account)
        publisher: Publisher = youtube.YouTube(client, auth, settings) \
            if platform == "youtube" else \
            x.X(client, auth, settings, account.external_id or "", account.name)
        return with_retries(publisher, video, progress, settings)


def with_retries(publisher: Publisher, video: Video, progress: Progress,
                 settings: Settings) -> Published:
    """Attempts until one succeeds, a failure is final, or the retries are spent; each
    attempt resumes from the checkpoint, so none repeats what the platform has."""
    tries = max(1, settings.publish_retries)
    for attempt in range(1, tries + 1):
        with progress.repo.session() as s:
            row = s.get_one(PublicationRow, progress.id)
            row.attempts += 1
            row.status = "publishing"
        try:
            return publisher.publish(video, progress)
        except errors.PlatformUnavailable as exc:
            wait = exc.retry_after if exc.retry_after is not None else \
                settings.publish_backoff_seconds * 2 ** (attempt - 1)
            if attempt == tries or wait > settings.publish_max_wait_seconds:
                raise errors.PlatformUnavailable(
                    f"{exc.message}; gave up after {attempt} attempts: press Publish (or "
                    "run `clipforge publish`) to try again later") from exc
            progress.note(status="retrying", error=f"{exc.message}; attempt {attempt} of "
                          f"{tries} failed, trying again in {wait:.1f} s")
            progress.save(failures=[*progress.load().get("failures", []),
                                    {"error": exc.message, "wait": wait}])
            log.warning("%s: %s; retrying in %.1f s", publisher.platform, exc.message, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


def _failed(repo: Repository, progress: Progress, account: AccountRow | None,
            exc: Exception) -> None:
    message = exc.message if isinstance(exc, errors.ClipForgeError) else \
        f"{type(exc).__name__}: {exc}"
    if isinstance(exc, errors.AccountRevoked) and account is not None:
        accounts.mark_revoked(repo, account.id, message)
    progress.note(status="failed", error=message)


def _finish(repo: Repository, progress: Progress, clip_id: str, platform: str,
            published: Published) -> None:
    """Published: the row, the clip and the event, in one transaction."""
    with repo.session() as s:
        row = s.get_one(PublicationRow, progress.id)
        row.status, row.error = "published", None
        row.external_id, row.url = published.external_id, published.url
        row.progress = {**(row.progress or {}), **published.notes}
        row.published_at = utcnow()
        clip = s.get_one(ClipRow, clip_id)
        clip.status = "published"
        urls = {p.platform: p.url for p in s.scalars(select(PublicationRow).where(
            PublicationRow.clip_id == clip_id, PublicationRow.status == "published"))}
        urls[platform] = published.url
        ledger.emit(s, domain.CLIP_PUBLISHED, clip.stream_id, clip_id=clip_id,
                   platform=platform, url=published.url, urls=urls,
                   external_id=published.external_id)
