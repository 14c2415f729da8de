"""The web UI in a real browser: Debian's Chromium driven by Playwright, against a running
`clipforge serve`. Every step is checked in the database too; any console error or failed
request fails the test. Screenshots go to artifacts/web/."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ROOT
from tests.servers import Server
from tests.test_api import SERVER_SETTINGS

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "web"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and os.environ.get("CI") != "true",  # in CI: fail, don't skip
    reason="needs Debian's chromium (make dev installs it)")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("web")
    server = Server(root / "data", f"sqlite:///{root / 'web.db'}", **SERVER_SETTINGS).start()
    server.cli("user", "create", "editor", "--password", "correct horse", "--no-token")
    yield server
    server.stop()


class Watch:
    """Everything a page complains about: console errors, failed or refused requests."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        # Navigations of the top frame so far, counted when asked for and when the new
        # page replaced the old: between the two, the old page may still send requests.
        self.pages_opened = 0
        self.opened_at: dict[Any, int] = {}  # request -> pages_opened when it was sent

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("request", self._sent)
        page.on("framenavigated", self._navigated)
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"{r.status} {r.request.method} {r.url}"))

    def _sent(self, request: Any) -> None:
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self.pages_opened += 1
        self.opened_at[request] = self.pages_opened

    def _navigated(self, frame: Any) -> None:
        if frame.parent_frame is None:
            self.pages_opened += 1

    def _failed(self, request: Any) -> None:
        # Chromium aborts a video's range request once it has buffered what it needs
        # (that is how media loads), an image whose src the page replaced before it
        # loaded (the next clip's frame), and whatever a page still fetches when the next
        # page opens (a user who moves on): none is a failure. A broken image still shows
        # as its error status.
        if request.failure == "net::ERR_ABORTED" and (
                request.resource_type in ("media", "image")
                or self.opened_at.get(request, self.pages_opened) < self.pages_opened):
            return
        self.problems.append(f"failed: {request.url} ({request.failure})")


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def db(server: Server, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = sa.create_engine(server.database_url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]
    engine.dispose()
    return rows


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})


def log_in(page: Any, server: Server, next_path: str = "/") -> None:
    page.goto(server.url + next_path)
    assert "/login" in page.url  # no session: sent to the login page
    page.get_by_label("User name").fill("editor")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url + next_path)


def bar_values(page: Any, sid: int) -> dict[str, float]:
    bars = page.locator(f".stream[data-stream-id='{sid}'] progress")
    return dict(bars.evaluate_all("els => els.map(e => [e.id.split('-').pop(), e.value])"))


def set_range(page: Any, selector: str, value: float) -> None:
    page.locator(selector).evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input'));"
        " el.dispatchEvent(new Event('change')); }", value)


def test_review_a_stream_in_the_browser(web: Server, browser: Any, tmp_path: Path,
                                        stream_90s: Any) -> None:
    watch = Watch()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    watch.attach(page)
    log_in(page, web)

    # Upload a generated stream; the bars move to done.
    page.get_by_label("Recording file").set_input_files(str(stream_90s.video))
    page.get_by_label("Clips").fill("2")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_selector(".stream[data-stream-id]")
    (stream,) = db(web, "SELECT id, status FROM streams")
    assert stream["status"] in ("processing", "done")
    sid = stream["id"]
    moved: set[str] = set()
    seen = bar_values(page, sid)
    while seen["report"] < 1:  # watch the bars move while the work goes on
        page.wait_for_timeout(200)
        now = bar_values(page, sid)
        assert all(now[k] >= seen[k] for k in now), "a progress bar went backwards"
        moved.update(k for k in now if 0 < now[k] < 1)
        seen = now
    assert {"transcribe", "analyze"} & moved, "never saw a stage part-way done"
    page.wait_for_selector(f".stream[data-stream-id='{sid}'] .badge[data-status=done]",
                           timeout=600_000)
    bars = page.locator(f".stream[data-stream-id='{sid}'] progress")
    assert bars.count() == 7
    assert all(v == 1 for v in bars.evaluate_all("els => els.map(e => e.value)"))
    assert db(web, "SELECT status FROM streams WHERE id = :i", i=sid)[0]["status"] == "done"
    assert not db(web, "SELECT id FROM jobs WHERE status != 'done'")
    shoot(page, "dashboard")

    # The stream page: ranked clips, reasons, timeline.
    page.locator(f".stream[data-stream-id='{sid}'] .name").click()
    page.wait_for_selector(".clip")
    assert page.locator(".clip").count() == 2
    assert page.locator("#timeline polyline").count() == 1
    assert page.locator("#timeline .clipmark").count() == 2
    assert page.locator(".clip .reason").count() >= 2
    shoot(page, "stream")

    # Review the best clip: trim, edit a caption word, re-render, approve with A.
    page.locator(".clip .title").first.click()
    page.wait_for_selector("#words input:not([hidden])")
    (clip,) = db(web, "SELECT id, start, \"end\", revision, file FROM clips WHERE rank = 1")
    shoot(page, "clip")
    set_range(page, "#trim-start", clip["start"] + 1.0)
    first = page.locator("#words input:not([hidden])").first
    original = first.input_value()
    first.fill("ClipForge")
    page.get_by_role("button", name="Save and re-render").click()
    page.wait_for_selector("#render-status:has-text('Rendered.')", timeout=300_000)
    (edited,) = db(web, "SELECT start, \"end\", revision, caption_edits, status FROM clips "
                        "WHERE id = :i", i=clip["id"])
    assert clip["start"] < edited["start"] < clip["start"] + 2.5  # snapped to a word bound
    assert edited["end"] == clip["end"] and edited["revision"] == 1
    (edit,) = json.loads(edited["caption_edits"])  # one word edited, kept with its time
    assert edit["word"] == "ClipForge" != original
    ass = Path(clip["file"]).with_suffix(".ass").read_text()
    assert "ClipForge" in ass  # the burned-in captions say the edited word
    renders = db(web, "SELECT status FROM jobs WHERE stage = 'render' AND target = :i",
                 i=clip["id"])
    assert [r["status"] for r in renders] == ["done", "done"]

    page.locator("body").click(position={"x": 5, "y": 5})  # focus off the inputs
    page.keyboard.press("a")
    page.wait_for_selector("#clip-status[data-status=approved]")
    assert db(web, "SELECT status FROM clips WHERE id = :i",
              i=clip["id"])[0]["status"] == "approved"
    assert db(web, "SELECT name FROM events WHERE name = 'clip.approved'")

    page.keyboard.press("j")  # next clip
    page.wait_for_url(re.compile(r"/clips/(?!" + clip["id"] + ")"))
    page.wait_for_selector("#words input:not([hidden])")

    # Streamers: create one with a reference face.
    page.goto(web.url + "/streamers")
    page.locator("#s-name").fill("Streamer One")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_selector("#flash:has-text('Streamer added.')")
    cards = page.locator(".streamer")
    card = next(cards.nth(i) for i in range(cards.count())
                if cards.nth(i).locator("input[name=name]").input_value() == "Streamer One")
    face = tmp_path / "face.png"  # a frame of the real carphone clip (tests/data)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(ROOT / "tests/data/carphone_pristine.mp4"),
                    "-frames:v", "1", str(face)], check=True)
    card.get_by_label("Add a face image").set_input_files(face)
    card.get_by_role("button", name="Upload").click()
    page.wait_for_selector(".streamer .faces img")
    assert db(web, "SELECT COUNT(*) AS n FROM streamer_faces")[0]["n"] == 1
    shoot(page, "streamers")
    assert watch.problems == []


def test_pages_need_a_session_and_state_changes_need_the_csrf_token(web: Server) -> None:
    for path in ("/", "/streamers", "/streams/1", "/clips/abc"):
        answer = httpx.get(web.url + path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=")
    # A real login gives a session cookie...
    client = httpx.Client(base_url=web.url)
    form = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    client.post("/login", data={"username": "editor", "password": "correct horse",
                                "csrf": token.group(1)})
    assert client.get("/", follow_redirects=False).status_code == 200
    # ...but a forged request riding it, without the CSRF token, is refused.
    forged = client.post("/api/streamers", json={"name": "forged"})
    assert forged.status_code == 403 and forged.json()["code"] == "forbidden"
    assert not db(web, "SELECT id FROM streamers WHERE name = 'forged'")
    assert client.post("/logout", data={}).status_code == 422  # no token field at all
    assert client.post("/logout", data={"csrf": "wrong"}).status_code == 403
    # A login form posted without its CSRF cookie is refused too.
    bare = httpx.post(web.url + "/login", data={"username": "editor",
                                                 "password": "correct horse", "csrf": "x"})
    assert bare.status_code == 403
