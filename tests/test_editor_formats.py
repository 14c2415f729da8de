"""The editor's formats (issue 17) in a real browser, against one `clipforge serve` and one
processed stream shared by the module's tests: "Auto" says what it chose, the preview
draws the caption preset and layout over the player, an aspect ratio renders at its
size, and the region picker's boxes are what the re-render uses. axe-core on the changed
pages; screenshots to artifacts/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from clipforge.media import ffmpeg
from tests.a11y import violations
from tests.conftest import ROOT
from tests.servers import Server
from tests.test_api import SERVER_SETTINGS
from tests.test_editor import PASSWORD, Processed, wait_done
from tests.test_web import CHROMIUM, Watch, log_in
from tools import synth

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
SHOTS = ROOT / "artifacts"
DESKTOP, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory,
           stream_90s: synth.StreamSpec) -> Iterator[Processed]:
    """A server with one processed stream of one clip (auto layout, 9:16)."""
    root = tmp_path_factory.mktemp("formats")
    server = Server(root / "data", f"sqlite:///{root / 'formats.db'}",
                    **SERVER_SETTINGS)
    try:
        server.start()
        token = server.cli("user", "create", "editor", "--password", PASSWORD).strip()
        api = server.client(token)
        created = api.post("/api/streams", json={"path": str(stream_90s.video), "top": 1,
                                                 "min_len": 15, "max_len": 25})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        wait_done(api, sid)
        (clip,) = api.get(f"/api/streams/{sid}/clips").json()["items"]
        yield Processed(server, api, sid, clip["id"])
    finally:
        server.stop()


def until(page: Any, expression: str, timeout: float = 30.0) -> None:
    """Wait until a JavaScript expression is true on the page. Polled with evaluate:
    the pages' Content-Security-Policy refuses the eval that wait_for_function uses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        page.wait_for_timeout(50)


def open_clip(page: Any, editor: Processed) -> None:
    log_in(page, editor.server, f"/clips/{editor.clip_id}")
    page.wait_for_selector("#words input:not([hidden])")
    until(page, "document.querySelector('#box-facecam').style.width !== ''")


def save_and_wait(page: Any, editor: Processed, button: str) -> dict[str, Any]:
    page.get_by_role("button", name=button).click()
    page.wait_for_selector("#render-status:has-text('Rendered.')", timeout=300_000)
    wait_done(editor.api, editor.stream_id)
    clip: dict[str, Any] = editor.api.get(f"/api/clips/{editor.clip_id}").json()
    return clip


def rendered(editor: Processed, tmp: Path) -> Path:
    got = editor.api.get(f"/api/clips/{editor.clip_id}/video")
    assert got.status_code == 200
    path = tmp / "clip.mp4"
    path.write_bytes(got.content)
    return path


def test_auto_says_what_it_chose(editor: Processed, browser: Any) -> None:
    clip = editor.api.get(f"/api/clips/{editor.clip_id}").json()
    assert clip["layout"] == "auto" and clip["rendered_layout"] in ("crop", "blur", "stacked")
    page = browser.new_page(viewport=DESKTOP)
    log_in(page, editor.server, f"/clips/{editor.clip_id}")
    page.wait_for_selector("#words input:not([hidden])")
    option = "document.querySelector('#layout option[value=auto]').textContent"
    until(page, f"{option}.startsWith('Auto ({clip['rendered_layout']}')", timeout=10)
    label = page.evaluate(option)
    assert re.fullmatch(r"Auto \((crop|blur|stacked): [a-z0-9 %,:]+\)", label), label
    assert label == f"Auto ({clip['rendered_layout']}: {clip['regions']['why']})"


def caption_pixels(page: Any, rgb: tuple[int, int, int]) -> tuple[int, int]:
    """(pixels near `rgb` inside the preview's caption band, outside it) on the canvas."""
    return tuple(page.evaluate("""([r, g, b]) => {
        const c = document.querySelector('#format-preview');
        const [top, bottom] = c.dataset.captionBand.split(',').map((v) => +v * 0.5);
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let inside = 0, outside = 0;
        for (let i = 0; i < data.length; i += 4) {
            const off = Math.abs(data[i] - r) + Math.abs(data[i + 1] - g)
                + Math.abs(data[i + 2] - b);
            if (off >= 60) continue;
            const y = Math.floor(i / 4 / c.width);
            if (y >= top - 4 && y <= bottom + 4) inside++; else outside++;
        }
        return [inside, outside];
    }""", list(rgb)))


def show_word(page: Any, clip: dict[str, Any]) -> None:
    """Seek the source to the middle of a word in the clip; wait for the preview."""
    word = clip["words"][len(clip["words"]) // 2]
    page.locator("#preview").evaluate("(v, t) => { v.currentTime = t; }",
                                      (word["start"] + word["end"]) / 2)
    until(page, "!document.querySelector('#preview').seeking && "
                           "document.querySelector('#preview').readyState >= 2")
    page.evaluate("ClipFormats.draw()")


def test_preview_draws_the_caption_preset_and_layout_over_the_player(
        editor: Processed, browser: Any) -> None:
    clip = editor.api.get(f"/api/clips/{editor.clip_id}").json()
    watch = Watch()
    page = browser.new_page(viewport=DESKTOP)
    watch.attach(page)
    open_clip(page, editor)
    assert page.locator("#format-preview").is_hidden()
    page.select_option("#caption-style", "oneword")  # one big yellow word, mid-frame
    canvas = page.locator("#format-preview")
    assert canvas.is_visible()  # over the player, without a render
    assert page.locator("#preview-toggle").get_attribute("aria-pressed") == "true"
    show_word(page, clip)
    assert canvas.get_attribute("data-preset") == "oneword"
    assert canvas.get_attribute("data-font") == "Roboto Black"
    assert canvas.get_attribute("data-layout") == clip["rendered_layout"]
    box = canvas.bounding_box()
    assert box and box["height"] / box["width"] == pytest.approx(16 / 9, abs=0.02)
    yellow_in, _ = caption_pixels(page, (255, 230, 0))
    assert yellow_in > 300, "the One-word preset's yellow word is not drawn"
    # Classic: white words and a gold one, at the bottom (below the face, if it is there).
    page.select_option("#caption-style", "classic")
    show_word(page, clip)
    assert canvas.get_attribute("data-position") in ("bottom", "top")
    gold_in, _ = caption_pixels(page, (255, 215, 0))
    white_in, _ = caption_pixels(page, (255, 255, 255))
    assert gold_in > 100 and white_in > 100
    # The layout drawn is the one chosen: stacked shows the facecam pane on top.
    page.select_option("#layout", "stacked")
    page.evaluate("ClipFormats.draw()")
    assert canvas.get_attribute("data-layout") == "stacked"
    page.get_by_role("button", name="Preview edits").click()
    assert canvas.is_hidden() and page.locator("#clip-video").is_visible()
    assert watch.problems == []


def test_editor_and_streamers_pages_pass_axe_with_screenshots(editor: Processed,
                                                               browser: Any) -> None:
    """axe-core, 0 serious or critical, on the pages this part changed, at desktop and
    phone size; screenshots of the editor with its preview and of the region picker."""
    clip = editor.api.get(f"/api/clips/{editor.clip_id}").json()
    page = browser.new_page(viewport=DESKTOP)
    open_clip(page, editor)
    page.select_option("#caption-style", "bold")
    show_word(page, clip)
    until(page, "document.querySelector('#region-frame').naturalWidth > 0")
    SHOTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        show_word(page, clip)
        found[f"editor ({label})"] = violations(page)
        page.screenshot(path=str(SHOTS / f"editor-preview-{label}.png"), full_page=label == "phone")
        page.locator(".regions").scroll_into_view_if_needed()
        page.locator("#box-facecam").focus()
        page.locator(".regions").screenshot(path=str(SHOTS / f"region-picker-{label}.png"))
    page.goto(editor.server.url + "/streamers")
    page.wait_for_selector(".streamer")
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        found[f"streamers ({label})"] = violations(page)
    assert {k: v for k, v in found.items() if v} == {}


def test_an_aspect_change_renders_at_its_size(editor: Processed, browser: Any,
                                              tmp_path: Path) -> None:
    page = browser.new_page(viewport=DESKTOP)
    open_clip(page, editor)
    page.select_option("#aspect", "1:1")
    canvas = page.locator("#format-preview")
    assert canvas.get_attribute("data-aspect") == "1:1"
    assert canvas.evaluate("c => c.width === c.height")  # the preview is square too
    clip = save_and_wait(page, editor, "Save and re-render")
    assert clip["aspect"] == "1:1"
    info = ffmpeg.probe(rendered(editor, tmp_path))
    assert (info.width, info.height) == (1080, 1080)
    srt = editor.api.get(f"/api/clips/{editor.clip_id}/captions.srt")
    assert srt.status_code == 200 and srt.text.strip()
    # Back to the stream's 9:16 for the tests after this one.
    page.select_option("#aspect", "9:16")
    clip = save_and_wait(page, editor, "Save and re-render")
    assert (ffmpeg.probe(rendered(editor, tmp_path)).width, clip["aspect"]) == (1080, "9:16")


def box_of(page: Any, name: str) -> list[int]:
    label = page.locator(f"#box-{name}").get_attribute("aria-label") or ""
    x, y, w, h = (int(v) for v in re.findall(r"\d+", label))
    return [x, y, w, h]


def test_the_region_picker_saves_and_the_rerender_uses_it(
        editor: Processed, browser: Any, tmp_path: Path,
        stream_90s: synth.StreamSpec) -> None:
    clip0 = editor.api.get(f"/api/clips/{editor.clip_id}").json()
    page = browser.new_page(viewport=DESKTOP)
    open_clip(page, editor)
    until(page, "document.querySelector('#region-frame').naturalWidth > 0")
    # Mouse: drag the gameplay box's corner to make it narrower.
    before = box_of(page, "gameplay")
    page.locator("#region-picker").scroll_into_view_if_needed()
    handle = page.locator("#box-gameplay .handle").bounding_box()
    assert handle
    page.mouse.move(handle["x"] + 5, handle["y"] + 5)
    page.mouse.down()
    page.mouse.move(handle["x"] - 120, handle["y"] - 40, steps=5)
    page.mouse.up()
    game = box_of(page, "gameplay")
    width, height = clip0["source_width"], clip0["source_height"]
    assert game[2] < before[2] - 50 and game[:2] == before[:2]
    # Keyboard: move the facecam box right and up, make it larger.
    facecam = page.locator("#box-facecam")
    facecam.focus()
    start = box_of(page, "facecam")
    for key in ["Control+ArrowRight", "ArrowRight", "ArrowUp", "Shift+ArrowRight",
                "Shift+ArrowDown"]:
        facecam.press(key)
    cam = box_of(page, "facecam")
    assert cam != start
    clip = save_and_wait(page, editor, "Use for this clip and re-render")
    regions = clip["regions"]
    assert clip["rendered_layout"] == "stacked" and regions["edited"]

    def inside(pane: list[float], picked: list[int]) -> bool:
        x, y, w, h = pane
        return x >= picked[0] - 1 and y >= picked[1] - 1 and \
            x + w <= picked[0] + picked[2] + 1 and y + h <= picked[1] + picked[3] + 1
    assert inside(regions["facecam"], cam), (regions["facecam"], cam)
    assert inside(regions["gameplay"], game), (regions["gameplay"], game)
    # The rendered top pane is that part of the source (pixels, not only the numbers).
    video = rendered(editor, tmp_path)
    at = 2.0
    _, out = next(iter(ffmpeg.decode_frames(video, at, 1.0, 1, 1080, 1920)))
    _, src = next(iter(ffmpeg.decode_frames(stream_90s.video, clip["start"] + at, 1.0, 1,
                                            width, height)))
    top = regions["top_height"]

    def pane_of(region: list[float]) -> np.ndarray:
        x, y, w, h = (int(round(v)) for v in region)
        return cv2.resize(src[y:y + h, x:x + w], (1080, top)).astype(np.float32)
    shown = out[:top].astype(np.float32)
    used = float(np.abs(shown - pane_of(regions["facecam"])).mean())
    other = float(np.abs(shown - pane_of(regions["gameplay"])).mean())
    assert used < 14 and used < other / 2, (used, other)

    # And as the streamer's default: the boxes as the picker now shows them (the panes
    # rendered from the picked ones), as fractions of the frame.
    x, y, w, h = (int(v) for v in regions["facecam"])
    until(page, "document.querySelector('#box-facecam').getAttribute('aria-label')"
          f".endsWith('x {x}, y {y}, {w} by {h} pixels')")
    now = box_of(page, "facecam")
    assert inside(now, cam)
    page.get_by_role("button", name="Save as the streamer's default").click()
    page.wait_for_selector("#flash.ok")
    streamer = editor.api.get(f"/api/streamers/{clip['streamer_id']}").json()
    fractions = [float(v) for v in streamer["settings"]["facecam"].split(",")]
    assert fractions == pytest.approx([now[0] / width, now[1] / height, now[2] / width,
                                       now[3] / height], abs=1e-3)
    assert streamer["settings"]["gameplay"]
