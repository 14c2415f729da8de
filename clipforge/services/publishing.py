"""Publishing a clip: check where and when, and queue one detached `publish` job per
platform (jobs/publish.py runs them). Queueing records the publication (status `queued`,
the words to send, the account) and its job in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from clipforge import errors
from clipforge.jobs import registry
from clipforge.jobs.publish import publish_spec
from clipforge.publish import CHOICES, PLATFORM_NAMES, PLATFORMS, templates
from clipforge.services import accounts
from clipforge.storage.models import ClipRow, JobRow, PublicationRow, StreamerRow, StreamRow
from clipforge.storage.repository import publication


def check_platforms(platforms: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(p.strip().lower() for p in platforms if p.strip()))
    unknown = [p for p in chosen if p not in PLATFORMS]
    if unknown or not chosen:
        raise errors.BadOption(f"platforms {', '.join(platforms) or '(none)'}: use {CHOICES}")
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


def started(s: Session, clip_id: str) -> bool:
    """Whether any publishing of the clip has been queued, is under way or is done (a
    failed one is over)."""
    return s.scalar(select(PublicationRow.id).where(
        PublicationRow.clip_id == clip_id, PublicationRow.status != "failed").limit(1)) \
        is not None


def queue_publish(s: Session, clip: ClipRow, platforms: list[str],
                  publish_at: str | None = None, strict: bool = True) -> list[PublicationRow]:
    """Queue the clip's publication on each platform (one already published stays as it
    is). Without a connected account: `strict` refuses; otherwise the publication is
    recorded failed, saying what to do, so an auto-publish never fails silently."""
    stream = s.get_one(StreamRow, clip.stream_id)
    streamer = s.get(StreamerRow, stream.streamer_id) if stream.streamer_id else None
    prefs = (streamer.settings or {}) if streamer else {}
    fields = templates.Fields(clip.title, streamer.name if streamer else "default",
                              stream.name, _date(stream), templates.hashtags(
                                  prefs.get("hashtags")))
    rows, when, chosen = [], check_publish_at(publish_at), check_platforms(platforms)
    found = {p: accounts.account_for(s, streamer.id, p) if streamer else None for p in chosen}
    missing = [p for p in chosen if found[p] is None]
    if missing and strict:  # every platform that cannot go, not only the first
        raise errors.NoAccount(_no_account(fields.streamer, missing), missing)
    for platform in chosen:
        account = found[platform]
        row = publication(s, clip.id, platform)
        rows.append(row)
        if row.status == "published":
            continue
        words = WORDS[platform](prefs, fields)
        row.request = {**words, "publish_at": when}
        row.account_id = account.id if account else None
        if account is None:
            row.status, row.error = "failed", (
                f"auto-publish: streamer {fields.streamer} has no {platform} account "
                "connected; connect one on the Streamers page, then press Publish")
            continue
        row.status, row.error = "queued", None
        registry.enqueue(s, stream, publish_spec(clip.id, platform))
    return rows


WORDS = {"youtube": templates.youtube, "x": templates.post, "tiktok": templates.tiktok,
         "instagram": templates.instagram}


def _no_account(streamer: str, missing: list[str]) -> str:
    names = " or ".join(PLATFORM_NAMES[p] for p in missing)
    commands = "; ".join(f"`clipforge account connect {p} --streamer {streamer}`"
                         for p in missing)
    return (f"Not published: streamer {streamer} has no {names} account connected. Connect "
            f"{'it' if len(missing) == 1 else 'them'} on the Streamers page (or {commands}).")


def _date(stream: StreamRow) -> str:
    return stream.created_at.date().isoformat() if stream.created_at else ""


def auto_publish(s: Session, clip: ClipRow, streamer: StreamerRow) -> list[PublicationRow]:
    """On approval: the streamer's `auto_publish` platforms ("youtube,x,tiktok"), if any."""
    raw = str((streamer.settings or {}).get("auto_publish") or "").replace(",", " ")
    wanted = [p for p in raw.lower().split() if p in PLATFORMS]  # a typo never blocks approval
    return queue_publish(s, clip, wanted, strict=False) if wanted else []


