"""The TikTok and Instagram Reels publishers against local servers speaking TikTok's
Content Posting API (chunked FILE_UPLOAD, status/fetch) and the Instagram Graph API's
Reels publishing (container, resumable upload with offsets, status_code, media_publish):
the bytes and words that arrive, the faults ridden out (5xx, 429 with Retry-After, the
Graph API's rate limit, a connection cut mid-chunk, an expired token), the ones that stop
it with the platform's reason (a rejected video, a revoked account, the platforms'
limits checked before any byte is sent), and TikTok's drafts."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from clipforge.config import Settings
from clipforge.publish import secrets, templates
from clipforge.services.orchestrator import publish_now
from clipforge.storage.models import AccountRow, PublicationRow
from clipforge.storage.repository import Repository
from tests.conftest import CACHE
from tests.fake_instagram import IG_USER
from tests.fake_platforms import FakePlatforms, fake_platforms
from tests.fake_tiktok import error
from tests.publish_setup import (
    INSTAGRAM_CHUNK,
    SECRET,
    TIKTOK_CHUNK,
    Approved,
    approved_clip,
    connect_both,
    make_clip,
    settings_for,
)

SOCIAL = ("tiktok", "instagram")
PREFS = {"hashtags": "speedrun, #clips", "tiktok_template": "{title} on {stream_title} "
         "{hashtags}", "instagram_template": "{title} | {streamer} {hashtags}",
         "instagram_share_to_feed": False}


@pytest.fixture(scope="module")
def clip_file() -> Path:
    """4 s (Reels are 3 s at least), 13 MB: two TikTok chunks (5 MB, then 8 MB with the
    trailing bytes), four Instagram pieces."""
    return make_clip(CACHE / "publish-social", seconds=4, bitrate="26M", buffer="13M")


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with fake_platforms() as running:
        yield running


@pytest.fixture
def world(fake: FakePlatforms, tmp_path: Path, clip_file: Path
          ) -> tuple[Repository, Settings, Approved]:
    settings = settings_for(fake, tmp_path / "data")
    repo = Repository(settings.database_url)
    clip = approved_clip(repo, clip_file, PREFS, seconds=4.0)
    connect_both(repo, settings, platforms=SOCIAL)
    return repo, settings, clip


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows_of(repo: Repository, clip_id: str) -> dict[str, PublicationRow]:
    with repo.session() as s:
        return {p.platform: p for p in s.scalars(sa.select(PublicationRow).where(
            PublicationRow.clip_id == clip_id))}


def assert_one_post_each(fake: FakePlatforms, clip_file: Path) -> None:
    assert len(fake.tiktok_posts) == 1, fake.tiktok_posts
    assert len(fake.ig_media) == 1, fake.ig_media
    whole = digest(clip_file.read_bytes())
    assert digest(fake.tiktok_posts[0]["bytes"]) == whole
    assert digest(fake.ig_media[0]["bytes"]) == whole


def publish(settings: Settings, clip: Approved, *platforms: str) -> dict[str, Any]:
    rows = publish_now([clip.clip_id], settings, list(platforms or SOCIAL))
    return {r.platform: r for r in rows}


def test_the_bytes_words_and_links_arrive_by_the_documented_rules(
        fake: FakePlatforms, world: tuple, clip_file: Path) -> None:
    repo, settings, clip = world
    rows = publish(settings, clip)
    assert {p: r.status for p, r in rows.items()} == {
        "tiktok": "published", "instagram": "published"}, [r.error for r in rows.values()]
    assert_one_post_each(fake, clip_file)
    size = clip_file.stat().st_size

    # TikTok: total_chunk_count = size // chunk_size, the trailing bytes in the last chunk.
    upload = next(iter(fake.tiktok_uploads.values()))
    assert (upload.chunk, upload.count) == (TIKTOK_CHUNK, 2)
    assert [e["range"] for e in fake.steps("tt.chunk")] == [
        f"bytes 0-{TIKTOK_CHUNK - 1}/{size}", f"bytes {TIKTOK_CHUNK}-{size - 1}/{size}"]
    post = fake.tiktok_posts[0]
    assert post["mode"] == "direct" and post["privacy_level"] == "PUBLIC_TO_EVERYONE"
    assert post["title"] == "No way he made that jump on Friday speedrun #speedrun #clips"
    assert post["video_cover_timestamp_ms"] == 2000  # the clip's peak
    assert rows["tiktok"].url == f"https://www.tiktok.com/@faketok/video/{post['post_id']}"

    # Instagram: pieces at increasing offsets, Authorization: OAuth on the upload host.
    assert [int(e["offset"]) for e in fake.steps("ig.upload")] == list(
        range(0, size, INSTAGRAM_CHUNK))
    assert all(e["auth"].startswith("OAuth ") for e in fake.steps("ig.upload"))
    reel = fake.ig_media[0]
    assert reel["caption"] == "No way he made that jump | alice #speedrun #clips"
    assert reel["share_to_feed"] == "false" and reel["thumb_offset"] == "2000"
    assert rows["instagram"].external_id == reel["id"]
    assert rows["instagram"].url == reel["permalink"]

    before = len(fake.log)  # publishing again changes nothing on the platforms
    again = publish(settings, clip)
    assert {r.status for r in again.values()} == {"published"}
    assert len(fake.log) == before
    assert_one_post_each(fake, clip_file)


def test_5xx_429_rate_limits_and_cut_chunks_are_ridden_out(
        fake: FakePlatforms, world: tuple, clip_file: Path) -> None:
    repo, settings, clip = world
    fake.fail("tt.init", "503")
    fake.fail("tt.chunk", "pass")
    fake.fail("tt.chunk", "cut")  # the second chunk is cut half way
    fake.fail("tt.status", "429", retry_after=1)
    fake.fail("ig.container", "500")
    fake.fail("ig.upload", "pass")
    fake.fail("ig.upload", "cut")  # the second piece is cut half way
    fake.fail("ig.publish", "graph_limit")
    rows = publish(settings, clip)
    assert {r.status for r in rows.values()} == {"published"}, \
        [r.error for r in rows.values()]
    assert_one_post_each(fake, clip_file)

    # TikTok went on from the chunk it holds, on the same upload, never from byte 0 again.
    assert len(fake.tiktok_uploads) == 1
    starts = [e["range"].split(" ")[1].split("-")[0] for e in fake.steps("tt.chunk")]
    assert starts == ["0", str(TIKTOK_CHUNK), str(TIKTOK_CHUNK)]
    # Instagram sent the cut piece again at its offset, in the same container.
    assert len(fake.ig_containers) == 1
    offsets = [int(e["offset"]) for e in fake.steps("ig.upload")]
    assert offsets[:3] == [0, INSTAGRAM_CHUNK, INSTAGRAM_CHUNK] and offsets.count(0) == 1

    by = rows_of(repo, clip.clip_id)
    tiktok, instagram = by["tiktok"].progress["failures"], by["instagram"].progress["failures"]
    assert ["503" in tiktok[0]["error"], "connection failed" in tiktok[1]["error"],
            "429" in tiktok[2]["error"]] == [True, True, True]
    assert tiktok[2]["wait"] == 1.0  # Retry-After honoured
    assert "500" in instagram[0]["error"] and "connection failed" in instagram[1]["error"]
    assert "request limit" in instagram[2]["error"]  # Graph code 4: worth a retry
    assert by["tiktok"].attempts == 4 and by["instagram"].attempts == 4


def test_an_expired_tiktok_token_is_refreshed_and_the_rotated_pair_stored(
        fake: FakePlatforms, world: tuple, clip_file: Path) -> None:
    repo, settings, clip = world
    before = tokens_of(repo)
    fake.expire_tokens()  # TikTok answers 401 access_token_invalid
    rows = publish(settings, clip, "tiktok")
    assert rows["tiktok"].status == "published", rows["tiktok"].error
    assert fake.refreshes == 2  # the connect's long-lived Instagram trade, and this one
    after = tokens_of(repo)
    assert after["tiktok"]["access_token"] != before["tiktok"]["access_token"]
    assert after["tiktok"]["refresh_token"] != before["tiktok"]["refresh_token"]


def test_an_instagram_token_near_its_end_is_traded_for_a_new_one_first(
        fake: FakePlatforms, world: tuple, clip_file: Path) -> None:
    repo, settings, clip = world
    key = SECRET.encode()
    with repo.session() as s:
        account = s.scalar(sa.select(AccountRow).where(AccountRow.platform == "instagram"))
        assert account is not None
        old = secrets.unseal(key, account.tokens, "ig")
        account.tokens = secrets.seal(key, {**old, "expires_at": 0})  # it ran out
    rows = publish(settings, clip, "instagram")
    assert rows["instagram"].status == "published", rows["instagram"].error
    new = tokens_of(repo)["instagram"]
    assert new["access_token"] != old["access_token"] and new["expires_at"] > 1e9
    assert old["access_token"] not in fake.access  # the old one was spent on the trade
    assert all(e["auth"] and new["access_token"] in e["auth"] for e in fake.steps("ig.upload"))


def test_a_refused_instagram_token_ends_in_connect_again(
        fake: FakePlatforms, world: tuple) -> None:
    repo, settings, clip = world
    fake.expire_tokens()  # the Graph API answers OAuthException 190; the trade fails too
    rows = publish(settings, clip, "instagram")
    assert rows["instagram"].status == "failed"
    assert "connect the account again" in rows["instagram"].error
    assert rows["instagram"].attempts == 1 and fake.ig_containers == {}
    with repo.session() as s:
        account = s.scalar(sa.select(AccountRow).where(AccountRow.platform == "instagram"))
        assert account is not None and account.status == "revoked"


def test_a_rejected_video_fails_with_the_platforms_reason(
        fake: FakePlatforms, world: tuple) -> None:
    repo, settings, clip = world
    fake.tiktok_reject = fake.ig_reject = True
    rows = publish(settings, clip)
    assert rows["tiktok"].status == rows["instagram"].status == "failed"
    assert "refused (file_format_check_failed)" in rows["tiktok"].error
    assert "2207026" in rows["instagram"].error and "Reels" in rows["instagram"].error
    assert rows["tiktok"].attempts == rows["instagram"].attempts == 1  # final, not retried
    assert fake.tiktok_posts == [] and fake.ig_media == [] and fake.steps("ig.publish") == []

    # A refusal at the start says what it means and what to do. (Publishing again starts
    # a new upload: the refused one can never make a post.)
    fake.tiktok_reject = False
    fake.fail("tt.init", "403", body=error("spam_risk_too_many_posts", "Too many posts"))
    again = publish(settings, clip, "tiktok")["tiktok"]
    assert "spam_risk_too_many_posts: Too many posts" in again.error
    assert "daily limit of posts through apps; publish again tomorrow" in again.error
    fake.ig_reject = False  # the clip was fixed: a new container, one Reel
    fixed = publish(settings, clip, "instagram")["instagram"]
    assert fixed.status == "published", fixed.error
    assert len(fake.ig_containers) == 2 and len(fake.ig_media) == 1


def test_limits_are_checked_before_any_byte_is_sent(
        fake: FakePlatforms, tmp_path: Path, clip_file: Path) -> None:
    settings = settings_for(fake, tmp_path / "data")
    repo = Repository(settings.database_url)
    tags = " ".join(f"tag{i}" for i in range(31))
    clip = approved_clip(repo, clip_file, {"hashtags": tags}, seconds=4.0)
    connect_both(repo, settings, platforms=SOCIAL)
    fake.tiktok_creator["max_video_post_duration_sec"] = 3
    rows = publish(settings, clip)
    assert "4 s long; this creator may post videos of at most 3 s" in rows["tiktok"].error
    assert "31 hashtags; Instagram takes at most 30" in rows["instagram"].error
    assert fake.tiktok_uploads == {} and fake.ig_containers == {}

    fake.tiktok_creator.update(max_video_post_duration_sec=600,
                               privacy_level_options=["SELF_ONLY"])
    again = publish(settings, clip, "tiktok")  # a private-only creator (e.g. unaudited app)
    assert "privacy PUBLIC_TO_EVERYONE is not one this creator may post with (SELF_ONLY)" \
        in again["tiktok"].error


def test_a_tiktok_draft_goes_to_the_creators_inbox(
        fake: FakePlatforms, tmp_path: Path, clip_file: Path) -> None:
    settings = settings_for(fake, tmp_path / "data")
    repo = Repository(settings.database_url)
    clip = approved_clip(repo, clip_file, {"tiktok_mode": "draft"}, seconds=4.0)
    connect_both(repo, settings, platforms=("tiktok",))
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    row = publish_now([clip.clip_id], settings, ["tiktok"], later)[0]
    assert row.status == "published", row.error
    assert [p["mode"] for p in fake.tiktok_posts] == ["draft"]
    assert "title" not in fake.tiktok_posts[0]  # the inbox init takes no post_info
    assert row.url == "https://www.tiktok.com/@faketok"
    progress = rows_of(repo, clip.clip_id)["tiktok"].progress
    assert "inbox" in progress["tiktok"]
    # TikTok's API cannot schedule: the publication says it went at once.
    assert "TikTok cannot schedule posts through its API: posted at once" in \
        progress["schedule"]


def test_accounts_connect_with_pkce_and_their_tokens_are_sealed(world: tuple) -> None:
    repo, _, _ = world
    with repo.session() as s:
        accounts = {a.platform: a for a in s.scalars(sa.select(AccountRow))}
    assert (accounts["tiktok"].name, accounts["instagram"].name) == ("faketok", "fakeig")
    assert accounts["instagram"].external_id == IG_USER
    for account in accounts.values():
        assert "access_token" not in account.tokens
    tokens = tokens_of(repo)
    # A long-lived token (60 days), not the code's hour; it is what the next trade spends.
    assert tokens["instagram"]["expires_at"] > time.time() + 30 * 86400
    assert tokens["instagram"]["refresh_token"] == tokens["instagram"]["access_token"]


def test_templates_fit_the_captions_and_fall_back_safely() -> None:
    fields = templates.Fields("Clutch", "bob", "Late night", "2026-11-25",
                              templates.hashtags("fps"))
    long = {"tiktok_template": "{title} " + "word " * 600,
            "instagram_template": "{title} " + "word " * 600}
    tiktok, instagram = templates.tiktok(long, fields), templates.instagram(long, fields)
    assert len(tiktok["text"]) <= 2200 and tiktok["text"].endswith("…")
    assert len(instagram["text"]) <= 2200 and instagram["share_to_feed"] is True
    odd = templates.tiktok({"tiktok_mode": "sideways", "tiktok_privacy": "everyone"}, fields)
    assert (odd["mode"], odd["privacy"]) == ("draft", "SELF_ONLY")  # never public by typo
    assert templates.instagram({}, fields)["text"] == "Clutch\n\n#fps"


def tokens_of(repo: Repository) -> dict[str, dict[str, Any]]:
    with repo.session() as s:
        return {a.platform: secrets.unseal(SECRET.encode(), a.tokens, a.name)
                for a in s.scalars(sa.select(AccountRow))}
