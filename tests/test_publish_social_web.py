"""The Streamers page in Chromium connects a streamer's TikTok and Instagram accounts
(OAuth redirect out to the fake platforms and back, PKCE checked there), turns their
auto-publish on, and disconnects one again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_platforms import FakePlatforms, fake_platforms
from tests.publish_setup import SECRET
from tests.servers import Server
from tests.test_web import CHROMIUM, Watch, browser, db, log_in  # noqa: F401

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",  # in CI: fail, don't skip
    reason="needs Debian's chromium (make dev installs it)")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, FakePlatforms]]:
    with fake_platforms() as fake:
        data = tmp_path / "data"
        server = Server(data, f"sqlite:///{data / 'clipforge.db'}", pool=False,
                        secret_key=SECRET, **fake.settings())
        server.env["CLIPFORGE_PUBLIC_URL"] = server.url  # OAuth comes back only to it
        server.start()
        try:
            server.cli("user", "create", "editor", "--password", "correct horse",
                       "--no-token")
            yield server, fake
        finally:
            server.stop()


def test_connect_auto_publish_and_disconnect_tiktok_and_instagram(
        served: tuple[Server, FakePlatforms], browser: Any) -> None:  # noqa: F811
    server, _ = served
    page = browser.new_page()
    watch = Watch()
    watch.attach(page)
    log_in(page, server, "/streamers")
    page.locator("#streamer-form input[name=name]").fill("alice")
    page.locator("#streamer-form").get_by_role("button").click()
    page.wait_for_selector(".streamer")

    for platform, label, name in (("tiktok", "Connect TikTok", "faketok"),
                                  ("instagram", "Connect Instagram", "fakeig")):
        page.locator(".streamer").first.get_by_role("link", name=label).click()
        page.wait_for_url(f"{server.url}/streamers?connected={platform}")
        page.wait_for_selector(f".accounts li[data-platform={platform}]")
        item = page.locator(f".streamer .accounts li[data-platform={platform}]")
        assert name in item.inner_text() and "connected" in item.inner_text()
    card = page.locator(".streamer").first
    card.locator("input[name=auto_tiktok]").check()
    card.locator("input[name=auto_instagram]").check()
    card.locator("select[name=tiktok_mode]").select_option("draft")
    card.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("#flash.ok:has-text('Saved alice.')")
    settings = db(server, "SELECT settings FROM streamers WHERE name = 'alice'")[0]["settings"]
    assert '"auto_publish": "tiktok,instagram"' in settings
    assert '"tiktok_mode": "draft"' in settings

    card.get_by_role("button", name="Disconnect tiktok account faketok").click()
    page.wait_for_selector(".accounts li[data-platform=tiktok]", state="detached")
    rows = db(server, "SELECT platform, name FROM accounts")
    assert [(r["platform"], r["name"]) for r in rows] == [("instagram", "fakeig")]
    assert watch.problems == []
