"""The publish job: one clip on one platform, detached from its stream's runs (it runs
whatever the stream is doing, and its failure is its own). It retries transient failures
with backoff, records every attempt on the publication, and ends `published` (with
`clip.published` announcing the URLs, in the same transaction) or `failed` with the
platform's reason."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import domain, errors
from clipforge.config import Settings
from clipforge.jobs.base import Result, spec
from clipforge.jobs.context import Run
from clipforge.publish import credentials, instagram, tiktok, x, youtube
from clipforge.publish.base import Published, Publisher, Video
from clipforge.storage import artifacts, ledger, store
from clipforge.storage.ledger import JobSpec
from clipforge.storage.models import AccountRow, ClipRow, PublicationRow, utcnow
from clipforge.storage.repository import Repository, publication

log = logging.getLogger("clipforge.publish")


@dataclass(frozen=True)
class PublishInput:
    clip_id: str
    platform: str


def publish_spec(clip_id: str, platform: str) -> JobSpec:
    return spec("publish", f"{clip_id}:{platform}", PublishInput(clip_id, platform))


def announce(inp: PublishInput) -> dict[str, object]:
    return {"clip_id": inp.clip_id, "platform": inp.platform}


class Checkpoint:
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
            if "upload_url" in changes:  # TikTok's
                row.upload_uri = changes["upload_url"]
            if "media_id" in changes or "publish_id" in changes or "container_id" in changes:
                row.media_id = (changes.get("media_id") or changes.get("publish_id") or
                                changes.get("container_id") or row.media_id or "")[:64] or None

    def note(self, **fields: Any) -> None:
        with self.repo.session() as s:
            row = s.get_one(PublicationRow, self.id)
            for name, value in fields.items():
                setattr(row, name, value)


def run(run: Run, inp: PublishInput) -> Result:
    repo, clip_id, platform = run.repo, inp.clip_id, inp.platform
    assert repo is not None, "the pool gives a publish job the state database"
    out = run.artifact(".json")
    with repo.session() as s:
        row = publication(s, clip_id, platform)
        done = row.status == "published"
        account = s.get(AccountRow, row.account_id or 0)
        progress = Checkpoint(repo, row.id)
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
    return Result(out)


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
                 text=request.get("text", clip.title), duration=clip.end - clip.start,
                 cover_at=min(max(0.0, clip.peak - clip.start), clip.end - clip.start),
                 options={k: request[k] for k in ("mode", "privacy", "share_to_feed")
                          if k in request})


def _publish(repo: Repository, settings: Settings, video: Video, account: AccountRow | None,
             platform: str, progress: Checkpoint) -> Published:
    if account is None:
        raise errors.NoAccount(f"no {platform} account is connected for this clip's "
                               "streamer; connect one, then publish again")
    with httpx.Client(timeout=settings.publish_timeout_seconds) as client:
        auth = credentials.credentials(repo, settings, client, account)
        publisher: Publisher
        if platform == "youtube":
            publisher = youtube.YouTube(client, auth, settings)
        elif platform == "tiktok":
            publisher = tiktok.TikTok(client, auth, settings, account.name)
        elif platform == "instagram":
            publisher = instagram.Instagram(client, auth, settings,
                                            account.external_id or "", account.name)
        else:
            publisher = x.X(client, auth, settings, account.external_id or "", account.name)
        return with_retries(publisher, video, progress, settings)


def with_retries(publisher: Publisher, video: Video, progress: Checkpoint,
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


def _failed(repo: Repository, progress: Checkpoint, account: AccountRow | None,
            exc: Exception) -> None:
    message = exc.message if isinstance(exc, errors.ClipForgeError) else \
        f"{type(exc).__name__}: {exc}"
    if isinstance(exc, errors.AccountRevoked) and account is not None:
        credentials.mark_revoked(repo, account.id, message)
    progress.note(status="failed", error=message)


def _finish(repo: Repository, progress: Checkpoint, clip_id: str, platform: str,
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
