"""Publishing end to end through `clipforge serve` and the web UI, in Chromium: connect
YouTube and X on the Streamers page (OAuth redirect out to the fake platforms and back),
turn auto-publish on, approve a clip the pipeline really rendered, and watch it arrive on
both platforms; then a revoked account's failure shows on the clip page in words."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.fake_platforms import FakePlatforms, fake_platforms
from tests.publish_setup import CHUNK, SECRET
from tests.servers import Server
from tests.test_web import CHROMIUM, Watch, browser, db, log_in, shoot  # noqa: F401

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",  # in CI: fail, don't skip
    reason="needs Debian's chromium (make dev installs it)")


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with fake_platforms() as running:
        yield running


@pytest.fixture
def served(processed: tuple[Path, dict[str, Any], Path], fake: FakePlatforms,
           tmp_path: Path) -> Iterator[tuple[Server, dict[str, Any], Path]]:
    """A server on a copy of a processed stream's state (its clips really rendered)."""
    shared_out, report, data = processed
    # Copies: other tests of the session re-render the shared clips in place.
    copy, out = tmp_path / "data", tmp_path / "out"
    shutil.copytree(data, copy)
    shutil.copytree(shared_out, out)
    engine = sa.create_engine(f"sqlite:///{copy / 'clipforge.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE clips SET file = replace(file, :old, :new)"),
                     {"old": str(shared_out), "new": str(out)})
    engine.dispose()
    server = Server(copy, f"sqlite:///{copy / 'clipforge.db'}", workers="2",
                    secret_key=SECRET, youtube_chunk_bytes=str(CHUNK),
                    x_chunk_bytes=str(CHUNK), publish_backoff_seconds="0.05",
                    **fake.settings())
    server.env["CLIPFORGE_PUBLIC_URL"] = server.url  # OAuth comes back only to it
    server.start()
    server.cli("user", "create", "editor", "--password", "correct horse", "--no-token")
    yield server, report, out
    server.stop()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_connect_auto_publish_on_approve_and_a_revoked_account(
        served: tuple[Server, dict[str, Any], Path], fake: FakePlatforms,
        browser: Any) -> None:  # noqa: F811 - the fixture
    server, report, out = served
    first, second = report["clips"][0], report["clips"][1]
    page = browser.new_page()
    watch = Watch()
    watch.attach(page)
    log_in(page, server, "/streamers")

    card = page.locator(".streamer").first
    for platform, label, name in (("youtube", "Connect YouTube", "Fake Channel"),
                                  ("x", "Connect X", "fakeuser")):
        page.locator(".streamer").first.get_by_role("link", name=label).click()
        page.wait_for_url(f"{server.url}/streamers?connected=*")
        assert "Connected" in page.locator("#flash").inner_text()
        page.wait_for_selector(f".accounts li[data-platform={platform}]")
        assert name in card.locator(f".accounts li[data-platform={platform}]").inner_text()
    card.locator("input[name=auto_youtube]").check()
    card.locator("input[name=auto_x]").check()
    card.locator("input[name=hashtags]").fill("speedrun")
    card.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("#flash.ok:has-text('Saved ')")  # not the "Connected" one
    shoot(page, "streamers-accounts")

    # Approving publishes (auto-publish); the clip page shows where it went.
    page.goto(f"{server.url}/clips/{first['id']}")
    page.get_by_role("button", name="Approve").click()
    for platform in ("youtube", "x"):
        page.wait_for_selector(f"#publications li[data-platform={platform}] "
                               ".badge[data-status=published]", timeout=120_000)
    page.wait_for_selector("#clip-status[data-status=published]")
    # The clip this server's copy rendered, as the database names it.
    row = db(server, "SELECT file FROM clips WHERE id = :c", c=first["id"])[0]
    clip_file = Path(row["file"])
    assert clip_file == out / first["file"]
    assert len(fake.videos) == 1 and len(fake.posts) == 1
    # Digests, not bytes: pytest would diff two MP4s byte by byte for a very long time.
    assert digest(fake.video_bytes[fake.videos[0]["id"]]) == digest(clip_file.read_bytes())
    assert "#Shorts" in fake.videos[0]["snippet"]["description"]
    assert "#speedrun" in fake.posts[0]["text"]
    links = page.locator("#publications a").evaluate_all("els => els.map(e => e.href)")
    assert f"https://www.youtube.com/shorts/{fake.videos[0]['id']}" in links
    rows = db(server, "SELECT platform, status FROM publications WHERE clip_id = :c",
              c=first["id"])
    assert sorted((r["platform"], r["status"]) for r in rows) == [
        ("x", "published"), ("youtube", "published")]
    shoot(page, "clip-published")

    # The YouTube account is revoked: the next publish fails, and says what to do.
    fake.expire_tokens()
    fake.revoked.add("youtube")
    page.goto(f"{server.url}/clips/{second['id']}")
    page.get_by_role("button", name="Reject").click()  # reviewed by hand: no auto-publish
    page.wait_for_selector("#clip-status[data-status=rejected]")
    page.get_by_role("button", name="Approve").click()
    failed = page.locator("#publications li[data-platform=youtube]")
    page.wait_for_selector("#publications li[data-platform=youtube] "
                           ".badge[data-status=failed]", timeout=120_000)
    assert "connect the account again" in failed.inner_text()
    page.wait_for_selector("#publications li[data-platform=x] .badge[data-status=published]",
                           timeout=120_000)  # X is fine: its post went out
    page.goto(f"{server.url}/streamers")
    page.wait_for_selector(".accounts .badge[data-status=revoked]")
    assert len(fake.videos) == 1  # nothing more was uploaded
    assert watch.problems == []
