"""The publisher against local servers speaking YouTube's resumable upload and X's v2
media upload and post protocols: the bytes and words that arrive, the faults it rides
out (503, 429 with Retry-After, a connection cut half way, an expired token) or stops at
(a revoked account), and tokens that are unreadable in the database without the key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from clipforge import errors
from clipforge.publish import secrets, templates
from clipforge.services.orchestrator import Orchestrator, publish_now
from clipforge.storage.models import AccountRow, ClipRow, EventRow, PublicationRow
from clipforge.storage.repository import Repository
from tests.conftest import CACHE
from tests.fake_platforms import FakePlatforms, fake_platforms
from tests.publish_setup import (
    SECRET,
    Approved,
    approved_clip,
    connect_both,
    make_clip,
    settings_for,
)
from tests.servers import pg_database

PREFS = {"hashtags": "speedrun, #clips", "privacy": "unlisted",
         "title_template": "{title} | {streamer}",
         "post_template": "{title} ({stream_title}, {date}) {hashtags}"}


@pytest.fixture(scope="module")
def clip_file() -> Path:
    return make_clip(CACHE / "publish")


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with fake_platforms() as running:
        yield running


@pytest.fixture
def world(fake: FakePlatforms, tmp_path: Path, clip_file: Path
          ) -> tuple[Repository, object, Approved]:
    settings = settings_for(fake, tmp_path / "data")
    repo = Repository(settings.database_url)
    clip = approved_clip(repo, clip_file, PREFS)
    connect_both(repo, settings)
    return repo, settings, clip


def published(repo: Repository, clip_id: str) -> dict[str, PublicationRow]:
    with repo.session() as s:
        return {p.platform: p for p in s.scalars(sa.select(PublicationRow).where(
            PublicationRow.clip_id == clip_id))}


def assert_exactly_once(fake: FakePlatforms, clip_file: Path) -> None:
    assert len(fake.videos) == 1, fake.videos
    assert len(fake.posts) == 1, fake.posts
    # Digests, not bytes: pytest would diff two MP4s byte by byte for a very long time.
    data = hashlib.sha256(clip_file.read_bytes()).hexdigest()
    assert hashlib.sha256(fake.video_bytes[fake.videos[0]["id"]]).hexdigest() == data
    media_id = fake.posts[0]["attachments"]["media_keys"][0].split("_")[1]
    assert hashlib.sha256(fake.media[media_id].data).hexdigest() == data


def test_bytes_metadata_urls_and_the_event(fake: FakePlatforms, world: tuple, clip_file: Path
                                           ) -> None:
    repo, settings, clip = world
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    rows = publish_now([clip.clip_id], settings, ["youtube", "x"], at.isoformat())
    assert [r.status for r in rows] == ["published", "published"], [r.error for r in rows]
    assert_exactly_once(fake, clip_file)

    video = fake.videos[0]
    snippet, status = video["snippet"], video["status"]
    assert snippet["title"] == "No way he made that jump | alice"
    assert "#Shorts" in snippet["description"] and "#speedrun #clips" in \
        snippet["description"] and "Friday speedrun" in snippet["description"]
    assert snippet["tags"] == ["speedrun", "clips", "alice", "Shorts"]
    # A scheduled video is uploaded private and made public by YouTube at publishAt.
    assert status["privacyStatus"] == "private"
    assert status["publishAt"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fake.thumbnails[video["id"]] == clip_file.with_suffix(".jpg").read_bytes()

    today = datetime.now(UTC).date().isoformat()
    assert fake.posts[0]["text"] == f"No way he made that jump (Friday speedrun, {today}) " \
                                    "#speedrun #clips"

    rows_by = published(repo, clip.clip_id)
    assert rows_by["youtube"].url == f"https://www.youtube.com/shorts/{video['id']}"
    assert rows_by["x"].url == f"https://x.com/fakeuser/status/{fake.posts[0]['id']}"
    assert rows_by["youtube"].upload_uri and rows_by["x"].media_id
    with repo.session() as s:
        assert s.get_one(ClipRow, clip.clip_id).status == "published"
        events = [e.payload for e in s.scalars(sa.select(EventRow).where(
            EventRow.name == "clip.published"))]
    assert {e["platform"] for e in events} == {"youtube", "x"}
    assert events[-1]["urls"] == {"youtube": rows_by["youtube"].url, "x": rows_by["x"].url}

    # Publishing again changes nothing on the platforms.
    before = len(fake.log)
    again = publish_now([clip.clip_id], settings, ["youtube", "x"])
    assert [r.status for r in again] == ["published", "published"]
    assert_exactly_once(fake, clip_file)
    assert len(fake.log) == before


def test_503_429_and_a_cut_connection_are_ridden_out(fake: FakePlatforms, world: tuple,
                                                     clip_file: Path) -> None:
    repo, settings, clip = world
    fake.fail("yt.start", "503")
    fake.fail("yt.chunk", "pass")  # the first chunk arrives whole...
    fake.fail("yt.chunk", "cut")  # ...the second is cut half way through its body
    fake.fail("x.append", "429", retry_after=1)  # segment 0, then it passes...
    fake.fail("x.append", "pass")
    fake.fail("x.append", "cut")  # ...and segment 1 is cut half way
    fake.fail("x.tweet", "503")
    fake.fail("yt.thumbnail", "403")  # a channel without custom-thumbnail rights
    rows = publish_now([clip.clip_id], settings, ["youtube", "x"])
    assert [r.status for r in rows] == ["published", "published"], [r.error for r in rows]
    assert_exactly_once(fake, clip_file)

    # The upload resumed from what the server said it holds (0-786431 after the cut kept
    # one whole 256 KiB unit of the second chunk), not from zero or the chunk's start.
    starts = [int(e["range"].split(" ")[1].split("-")[0]) for e in fake.steps("yt.chunk")]
    assert starts[:3] == [0, 512 * 1024, 768 * 1024]  # the second one was cut
    assert 0 not in starts[1:]
    assert len(fake.steps("yt.query")) == 1 and len(fake.sessions) == 1

    rows_by = published(repo, clip.clip_id)
    youtube, x = rows_by["youtube"], rows_by["x"]
    assert youtube.attempts == 3 and x.attempts == 4
    assert [f["wait"] for f in youtube.progress["failures"]] == [0.05, 0.1]
    assert "503" in youtube.progress["failures"][0]["error"]
    assert "connection failed" in youtube.progress["failures"][1]["error"]
    assert x.progress["failures"][0]["wait"] == 1.0  # Retry-After honoured
    assert youtube.progress["thumbnail"].startswith("not set") and fake.thumbnails == {}
    assert "429" in x.progress["failures"][0]["error"]
    assert "connection failed" in x.progress["failures"][1]["error"]
    # The same media went on from the segment that was cut: 4 segments, 6 APPENDs
    # (segment 0 twice after the 429, segment 1 twice after the cut), not from zero.
    assert len(fake.media) == 1 and len(fake.steps("x.append")) == 6


def test_a_401_is_fixed_by_a_refresh_and_the_new_token_is_stored(
        fake: FakePlatforms, world: tuple, clip_file: Path) -> None:
    repo, settings, clip = world
    with repo.session() as s:
        before = {a.platform: secrets.unseal(SECRET.encode(), a.tokens, a.name)
                  for a in s.scalars(sa.select(AccountRow))}
    fake.expire_tokens()  # both platforms now answer 401 to the stored access tokens
    rows = publish_now([clip.clip_id], settings, ["youtube", "x"])
    assert [r.status for r in rows] == ["published", "published"], [r.error for r in rows]
    assert_exactly_once(fake, clip_file)
    assert fake.refreshes == 2
    with repo.session() as s:
        after = {a.platform: secrets.unseal(SECRET.encode(), a.tokens, a.name)
                 for a in s.scalars(sa.select(AccountRow))}
    for platform in ("youtube", "x"):
        assert after[platform]["access_token"] != before[platform]["access_token"]
    assert after["youtube"]["refresh_token"] == before["youtube"]["refresh_token"]
    assert after["x"]["refresh_token"] != before["x"]["refresh_token"]  # X rotates it


def test_a_revoked_account_ends_in_a_clear_failure(fake: FakePlatforms, world: tuple) -> None:
    repo, settings, clip = world
    fake.expire_tokens()
    fake.revoked.add("youtube")
    rows = publish_now([clip.clip_id], settings, ["youtube", "x"])
    by = {r.platform: r for r in rows}
    assert by["x"].status == "published"
    assert by["youtube"].status == "failed"
    assert "revoked" in by["youtube"].error and "connect the account again" in \
        by["youtube"].error
    assert by["youtube"].attempts == 1  # not retried: it cannot get better by itself
    assert fake.videos == []
    with repo.session() as s:
        account = s.scalar(sa.select(AccountRow).where(AccountRow.platform == "youtube"))
        assert account is not None and account.status == "revoked"
        job_errors = s.execute(sa.text(
            "SELECT status, error FROM jobs WHERE stage = 'publish'")).all()
    assert ("failed", by["youtube"].error) in [tuple(j) for j in job_errors]
    # Publishing a revoked account again says what to do, without calling the platform.
    again = publish_now([clip.clip_id], settings, ["youtube"])
    assert "connect it again" in again[0].error


def test_tokens_in_the_database_are_unreadable_without_the_key(world: tuple) -> None:
    repo, settings, _ = world
    with repo.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT platform, tokens FROM accounts")).all()
    assert len(raw) == 2
    for platform, sealed in raw:
        assert "access_token" not in sealed and "refresh_token" not in sealed
        with pytest.raises(ValueError):
            json.loads(sealed)
        with pytest.raises(errors.AccountRevoked, match="CLIPFORGE_SECRET_KEY"):
            secrets.unseal(b"some other key", sealed, platform)
        opened = secrets.unseal(SECRET.encode(), sealed, platform)
        assert opened["access_token"] not in sealed and opened["refresh_token"]


def test_publishing_needs_an_approved_clip_and_a_connected_account(
        fake: FakePlatforms, tmp_path: Path, clip_file: Path) -> None:
    settings = settings_for(fake, tmp_path / "data")
    repo = Repository(settings.database_url)
    clip = approved_clip(repo, clip_file)
    orchestrator = Orchestrator(repo, settings)
    with pytest.raises(errors.NoAccount, match="account connect youtube --streamer alice"):
        orchestrator.publish(clip.clip_id, ["youtube"])
    with pytest.raises(errors.NoAccount, match="no YouTube or X account") as refused:
        orchestrator.publish(clip.clip_id, ["youtube", "x"])  # every platform is named
    assert refused.value.platforms == ["youtube", "x"]
    with pytest.raises(errors.BadOption, match="youtube, x, tiktok or instagram"):
        orchestrator.publish(clip.clip_id, ["myspace"])
    with pytest.raises(errors.BadOption, match="in the past"):
        orchestrator.publish(clip.clip_id, ["youtube"], "2001-01-01T00:00:00Z")
    orchestrator.review(clip.clip_id, approved=False)
    with pytest.raises(errors.Conflict, match="approve it first"):
        orchestrator.publish(clip.clip_id, ["x"])
    assert fake.log == []


def test_templates_fill_fields_and_respect_the_platforms_limits() -> None:
    fields = templates.Fields("Clutch", "bob", "Late night", "2026-11-25",
                              templates.hashtags("fps #Win, ,clutch"))
    assert fields.hashtags == ["#fps", "#Win", "#clutch"]
    yt = templates.youtube({"title_template": "{title} <{nope}>"}, fields)
    assert yt["title"] == "Clutch {nope}"  # < > are not allowed in YouTube titles
    assert yt["description"].endswith("#Shorts") and "bob's stream" in yt["description"]
    assert yt["privacy"] == "public"
    long = templates.post({"post_template": "{title} " + "word " * 80}, fields)["text"]
    assert len(long) <= 280 and long.endswith("…")


def test_publishing_on_postgresql(fake: FakePlatforms, tmp_path: Path, clip_file: Path
                                  ) -> None:
    """The same checkpoints and ledger on PostgreSQL (the distributed mode's database)."""
    with pg_database() as url:
        settings = settings_for(fake, tmp_path / "data", database_url=url)
        repo = Repository(url)
        clip = approved_clip(repo, clip_file)
        connect_both(repo, settings)
        fake.fail("yt.chunk", "pass")
        fake.fail("yt.chunk", "cut")
        rows = publish_now([clip.clip_id], settings, ["youtube", "x"])
        assert [r.status for r in rows] == ["published", "published"], [r.error for r in rows]
        assert_exactly_once(fake, clip_file)
        assert published(repo, clip.clip_id)["youtube"].attempts == 2
        repo.engine.dispose()


def test_two_jobs_of_one_x_account_share_one_rotated_refresh(
        fake: FakePlatforms, world: tuple, clip_file: Path) -> None:
    """X spends a refresh token when it is used: two clips publishing at once must not
    both spend it (the second would read as a revoked account)."""
    repo, settings, clip = world
    with repo.session() as s:
        first = s.get_one(ClipRow, clip.clip_id)
        s.add(ClipRow(id="c1ip0000000000000000000000000002", stream_id=first.stream_id,
                      rank=2, start=0.0, end=2.0, score=4.0, reasons={}, title="Again",
                      layout="auto", status="approved", file=str(clip_file)))
    fake.expire_tokens()
    rows = publish_now([clip.clip_id, "c1ip0000000000000000000000000002"], settings, ["x"])
    assert [r.status for r in rows] == ["published", "published"], [r.error for r in rows]
    assert fake.refreshes == 1 and len(fake.posts) == 2
    with repo.session() as s:
        assert {a.status for a in s.scalars(sa.select(AccountRow))} == {"connected"}
