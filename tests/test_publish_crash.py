"""Exactly once, from outside: `clipforge publish` is killed with SIGKILL at each step of
publishing (before the upload, in the middle of it, and after the platforms made the
video and the post but before the database heard of them), then run again. Every run
ends with exactly one video and one post, holding the clip's bytes. And `clipforge
account connect` signs in through the loopback redirect."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from clipforge.storage.models import AccountRow, PublicationRow
from clipforge.storage.repository import Repository
from tests.conftest import CACHE, cli_env, clipforge_cmd
from tests.fake_platforms import FakePlatforms, fake_platforms
from tests.publish_setup import (
    approved_clip,
    connect_both,
    env_for,
    make_clip,
    settings_for,
)
from tests.test_publish import assert_exactly_once

# Where the fake platforms hold their answer while the publisher is killed.
KILL_POINTS = {
    "before the upload": ("yt.start", "x.init"),  # session / media made, answer lost
    "mid upload": ("yt.chunk", "x.append"),  # the first chunk / segment stored
    "after the upload, before the database write": ("yt.complete", "x.tweet"),
}


@pytest.fixture(scope="module")
def clip_file() -> Path:
    return make_clip(CACHE / "publish")


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with fake_platforms() as running:
        yield running


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(clipforge_cmd(*args), env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_at_each_step_and_restarted_publishes_exactly_once(
        point: str, fake: FakePlatforms, tmp_path: Path, clip_file: Path) -> None:
    data, url = tmp_path / "data", f"sqlite:///{tmp_path / 'state.db'}"
    repo = Repository(url)
    clip = approved_clip(repo, clip_file)
    connect_both(repo, settings_for(fake, data, database_url=url))
    env = {**cli_env(data), **env_for(fake, data, url)}
    reached = [fake.hold(step) for step in KILL_POINTS[point]]

    args = ("publish", clip.clip_id, "--to", "youtube,x")
    first = subprocess.Popen(clipforge_cmd(*args), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    for step, event in zip(KILL_POINTS[point], reached, strict=True):
        assert event.wait(120), f"{step} never reached"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    fake.release()

    again = cli(env, *args)
    assert again.returncode == 0, again.stderr + again.stdout
    assert_exactly_once(fake, clip_file)
    with repo.session() as s:
        rows = {p.platform: p for p in s.scalars(sa.select(PublicationRow))}
    assert {p: r.status for p, r in rows.items()} == {"youtube": "published", "x": "published"}
    assert rows["youtube"].external_id == fake.videos[0]["id"]
    assert rows["x"].external_id == fake.posts[0]["id"]
    assert rows["youtube"].url in again.stdout and rows["x"].url in again.stdout

    if point == "before the upload":
        # The first session and media never got their answer: new ones, no bytes lost.
        assert len(fake.sessions) == 2 and len(fake.media) == 2
    elif point == "mid upload":
        # The same session resumed from the server's offset; the same media went on.
        assert len(fake.sessions) == 1 and len(fake.media) == 1
        assert len(fake.steps("yt.query")) == 1
        starts = [e["range"].split(" ")[1].split("-")[0] for e in fake.steps("yt.chunk")]
        assert starts.count("0") == 1
    else:
        # The session said the upload was complete; the post was found, not made again.
        assert len(fake.sessions) == 1 and len(fake.steps("yt.query")) == 1
        assert len(fake.steps("x.tweet")) == 1


def test_account_connect_through_the_loopback_redirect(fake: FakePlatforms,
                                                       tmp_path: Path) -> None:
    data, url = tmp_path / "data", f"sqlite:///{tmp_path / 'state.db'}"
    env = {**cli_env(data), **env_for(fake, data, url)}
    for platform, name in (("youtube", "Fake Channel"), ("x", "fakeuser")):
        proc = subprocess.Popen(
            clipforge_cmd("account", "connect", platform, "--streamer", "alice"), env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        assert address.startswith(fake.url), address
        # The browser's part: the platform redirects to the command's loopback port.
        landed = httpx.get(address, follow_redirects=True, timeout=30)
        assert landed.status_code == 200 and "Connected." in landed.text
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert f"connected {platform} account {name} for streamer alice" in out
    listed = cli(env, "account", "list")
    assert "youtube Fake Channel streamer=alice connected" in listed.stdout
    assert "access_token" not in listed.stdout
    with Repository(url).session() as s:
        assert {a.external_id for a in s.scalars(sa.select(AccountRow))} == {"UC-fake", "1001"}

    # A sign-in whose state does not match is refused by the command.
    proc = subprocess.Popen(
        clipforge_cmd("account", "connect", "x", "--timeout", "5"), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    forged = httpx.get(address).headers["location"].replace("state=", "state=forged")
    assert httpx.get(forged).status_code == 400
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "no sign-in came back" in err


def test_feedback_approve_publishes_with_the_streamers_auto_publish(
        fake: FakePlatforms, tmp_path: Path, clip_file: Path) -> None:
    data, url = tmp_path / "data", f"sqlite:///{tmp_path / 'state.db'}"
    repo = Repository(url)
    clip = approved_clip(repo, clip_file, {"auto_publish": "youtube, x, myspace"})
    connect_both(repo, settings_for(fake, data, database_url=url))
    env = {**cli_env(data), **env_for(fake, data, url)}
    done = cli(env, "feedback", "approve", clip.clip_id)
    assert done.returncode == 0, done.stderr
    assert f"{clip.clip_id} youtube: published https://www.youtube.com/shorts/" in done.stdout
    assert f"{clip.clip_id} x: published https://x.com/fakeuser/status/" in done.stdout
    assert_exactly_once(fake, clip_file)
