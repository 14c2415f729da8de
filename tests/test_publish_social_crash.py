"""Exactly once, from outside: a real `clipforge publish --to tiktok,instagram` is killed
with SIGKILL before the upload (the platforms made the TikTok upload and the Instagram
container, their answers never came back), in the middle of it (the first chunk and
piece stored), and after it (TikTok made the post, Instagram published the Reel, the
database never heard), then run again. Every run ends with exactly one TikTok post and
one Reel, each holding the clip's bytes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from clipforge.storage.models import PublicationRow
from clipforge.storage.repository import Repository
from tests.conftest import CACHE, cli_env, clipforge_cmd
from tests.fake_platforms import FakePlatforms, fake_platforms
from tests.procs import kill_group, run_in_group, spawn
from tests.publish_setup import approved_clip, connect_both, env_for, make_clip, settings_for
from tests.test_publish_social import SOCIAL, assert_one_post_each

# Where the fake platforms hold their answer while the publisher is killed.
KILL_POINTS = {
    "before the upload": ("tt.init", "ig.container"),
    "mid upload": ("tt.chunk", "ig.upload"),
    "after the upload, before the database write": ("tt.complete", "ig.publish"),
}


@pytest.fixture(scope="module")
def clip_file() -> Path:
    return make_clip(CACHE / "publish-social", seconds=4, bitrate="26M", buffer="13M")


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with fake_platforms() as running:
        yield running


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_at_each_step_and_run_again_posts_exactly_once(
        point: str, fake: FakePlatforms, tmp_path: Path, clip_file: Path) -> None:
    data, url = tmp_path / "data", f"sqlite:///{tmp_path / 'state.db'}"
    repo = Repository(url)
    clip = approved_clip(repo, clip_file, seconds=4.0)
    connect_both(repo, settings_for(fake, data, database_url=url), platforms=SOCIAL)
    env = {**cli_env(data), **env_for(fake, data, url)}
    reached = [fake.hold(step) for step in KILL_POINTS[point]]

    args = ("publish", clip.clip_id, "--to", "tiktok,instagram")
    first = spawn(clipforge_cmd(*args), env=env, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
    try:
        for step, event in zip(KILL_POINTS[point], reached, strict=True):
            assert event.wait(120), f"{step} never reached"
    finally:
        kill_group(first)  # SIGKILL, whatever the held steps did
        first.wait()
        fake.release()

    again = run_in_group(clipforge_cmd(*args), timeout=300, env=env)
    assert again.returncode == 0, again.stderr + again.stdout
    assert_one_post_each(fake, clip_file)
    with repo.session() as s:
        rows = {p.platform: p for p in s.scalars(sa.select(PublicationRow))}
    assert {p: r.status for p, r in rows.items()} == {"tiktok": "published",
                                                      "instagram": "published"}
    post, reel = fake.tiktok_posts[0], fake.ig_media[0]
    assert rows["tiktok"].external_id == post["post_id"]
    assert rows["instagram"].external_id == reel["id"]
    assert rows["tiktok"].url in again.stdout and rows["instagram"].url in again.stdout

    starts = [e["range"].split(" ")[1].split("-")[0] for e in fake.steps("tt.chunk")]
    if point == "before the upload":
        # The first upload and container never got their answer: new ones, no post twice.
        assert len(fake.tiktok_uploads) == 2 and len(fake.ig_containers) == 2
    elif point == "mid upload":
        # The same upload went on from the chunk TikTok holds; the same container too.
        assert len(fake.tiktok_uploads) == 1 and len(fake.ig_containers) == 1
        assert starts.count("0") == 1 and len(starts) == 2
    else:
        # TikTok's status said the post was made; the Reel was found, not published again.
        assert len(fake.tiktok_uploads) == 1 and len(starts) == 2
        assert len(fake.steps("ig.publish")) == 1
