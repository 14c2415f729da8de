"""A live stream in the web UI, in a real browser: submitted through the API with
`"live": true`, it shows a Live badge and its clips appear as they are made; the Stop
button ends it (its report is written, the badge goes). Screenshot:
artifacts/web/live-stream-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_hls_server import LiveSimulator
from tests.servers import Server
from tests.test_api import SERVER_SETTINGS
from tests.test_live import live_stream  # noqa: F401 (the fixture)
from tests.test_web import Watch, browser, db, log_in, shoot  # noqa: F401 (browser: a fixture)
from tools import synth


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "data", f"sqlite:///{tmp_path / 'web.db'}",
                    allow_private_urls="true", **SERVER_SETTINGS).start()
    yield server
    server.stop()


def test_a_live_stream_in_the_browser(live_server: Server, browser: Any,  # noqa: F811
                                      live_stream: tuple[synth.StreamSpec, Path]  # noqa: F811
                                      ) -> None:
    spec, segments = live_stream
    sim = LiveSimulator(segments, interval=1.0).start()  # 2x real time
    watch = Watch()
    try:
        token = live_server.cli("user", "create", "editor", "--password",
                                "correct horse").strip()
        api = live_server.client(token)
        made = api.post("/api/streams", json={
            "url": sim.url(), "live": True, "chat": str(spec.chat), "name": "Live test",
            "min_len": 6, "max_len": 12})
        assert made.status_code == 201, made.text
        stream = made.json()
        assert stream["live"] is True and stream["status"] == "processing"
        sid = stream["id"]
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        watch.attach(page)
        log_in(page, live_server, "/")
        row = f".stream[data-stream-id='{sid}']"
        page.wait_for_selector(f"{row} .live.badge:not([hidden])")
        page.goto(f"{live_server.url}/streams/{sid}")
        page.wait_for_selector("#stream-live:not([hidden])")
        # A clip arrives while the stream is live (clip.rendered refreshes the page).
        page.wait_for_selector("#clips .clip", timeout=600_000)
        assert page.locator("#stream-live").is_visible()
        shoot(page, "live-stream")
        sim.frozen = True  # a stalled stream: the stop must not wait for a segment
        page.get_by_role("button", name="Stop following").click()
        page.wait_for_selector("#stream-notices li:has-text('Stopping')")
        page.wait_for_selector("#stream-status[data-status=done]", timeout=600_000)
        assert page.locator("#stream-live").is_hidden()
        assert page.locator("#stop-live").is_hidden()
        done = api.get(f"/api/streams/{sid}").json()
        assert done["status"] == "done" and done["live"] is True and done["clips"] >= 1
        rows = db(live_server, "SELECT status FROM clips WHERE stream_id = :sid", sid=sid)
        assert rows and {r["status"] for r in rows} == {"rendered"}
        assert watch.problems == []
    finally:
        sim.stop()
