"""The review editor (issue 17) in a real browser, against one `clipforge serve` and one
processed stream shared by the module's tests: caption edits with a trim, handles that
reach beyond the clip. Each test is one of the issue's defects."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.servers import Server
from tests.test_api import SERVER_SETTINGS, stream_90s  # noqa: F401 - a fixture
from tests.test_web import CHROMIUM, Watch, browser, db, log_in, set_range  # noqa: F401
from tools import synth

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
PASSWORD = "correct horse"


@dataclass
class Processed:
    server: Server
    api: httpx.Client
    stream_id: int
    clip_id: str


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory,
           stream_90s: synth.StreamSpec) -> Iterator[Processed]:  # noqa: F811
    """A server with one processed stream of one clip."""
    root = tmp_path_factory.mktemp("editor")
    server = Server(root / "data", f"sqlite:///{root / 'editor.db'}",
                    **SERVER_SETTINGS, x264_preset="ultrafast")
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


def wait_done(api: httpx.Client, stream_id: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while (status := api.get(f"/api/streams/{stream_id}").json()["status"]) == "processing":
        assert time.monotonic() < deadline, "the stream never finished"
        time.sleep(0.5)
    assert status == "done"


def srt_cues(text: str) -> list[tuple[float, float, list[str]]]:
    """(start, end, words) of each cue of an SRT file."""
    stamp = r"(\d\d):(\d\d):(\d\d),(\d\d\d)"
    found = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        times = re.fullmatch(f"{stamp} --> {stamp}", lines[1])
        assert times, block
        v = [int(g) for g in times.groups()]
        found.append((v[0] * 3600 + v[1] * 60 + v[2] + v[3] / 1000,
                      v[4] * 3600 + v[5] * 60 + v[6] + v[7] / 1000, " ".join(lines[2:]).split()))
    return found


def open_clip(page: Any, editor: Processed) -> None:
    log_in(page, editor.server, f"/clips/{editor.clip_id}")
    page.wait_for_selector("#words input:not([hidden])")


def test_trim_and_word_edit_in_one_save_burn_each_word_at_its_time(
        editor: Processed, browser: Any) -> None:  # noqa: F811
    """The issue's High defect: trimmed words still shown, every word spread evenly, the
    editor showing the old word after a reload."""
    before = editor.api.get(f"/api/clips/{editor.clip_id}").json()
    heard = before["words"]
    assert len(heard) >= 8, "the clip needs words to trim and edit"
    cut = heard[3]["start"]  # trim the first three words away
    target = heard[5]  # and edit a word after them, in the same save
    watch = Watch()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    watch.attach(page)
    open_clip(page, editor)
    set_range(page, "#trim-start", cut)
    assert float(page.locator("#trim-start").input_value()) == pytest.approx(cut, abs=0.01)
    word = page.locator(f"#words input[data-start='{target['start']}']")
    word.fill("ClipForge")
    page.get_by_role("button", name="Save and re-render").click()
    page.wait_for_selector("#render-status:has-text('Rendered.')", timeout=300_000)

    after = editor.api.get(f"/api/clips/{editor.clip_id}").json()
    assert after["start"] == pytest.approx(cut, abs=0.001) and after["revision"] == 1
    srt = editor.api.get(f"/api/clips/{editor.clip_id}/captions.srt")
    assert srt.status_code == 200, srt.text
    cues = srt_cues(srt.text)
    length = after["end"] - after["start"]
    assert all(0 <= start < end <= length + 0.001 for start, end, _ in cues)
    said = [w for cue in cues for w in cue[2]]
    assert "ClipForge" in said
    kept = {w["word"].lower() for w in after["words"]}
    trimmed = [w["word"] for w in heard[:3] if w["word"].lower() not in kept]
    assert trimmed and not set(trimmed) & set(said)
    # Each cue spans its words' own times (the words as edited, in the clip).
    shown = [w for w in after["words"] for _ in w["word"].split()]
    i = 0
    for start, end, cue_words in cues:
        first, last = shown[i], shown[i + len(cue_words) - 1]
        assert [w["word"] for w in shown[i:i + len(cue_words)]] == cue_words
        assert abs(start - (first["start"] - after["start"])) < 0.3
        assert abs(end - (last["end"] - after["start"])) < 0.3
        i += len(cue_words)
    assert i == len(shown)
    edited = next(c for c in cues if "ClipForge" in c[2])
    assert edited[0] - 0.3 <= target["start"] - after["start"] <= edited[1] + 0.3

    # After a reload the editor shows the edited word, and hides the trimmed ones.
    page.reload()
    page.wait_for_selector("#words input:not([hidden])")
    assert page.locator(f"#words input[data-start='{target['start']}']").input_value() \
        == "ClipForge"
    assert page.locator(f"#words input[data-start='{heard[0]['start']}']").is_hidden()
    assert watch.problems == []


def test_a_trimmed_clip_can_be_lengthened_again(editor: Processed, browser: Any  # noqa: F811
                                                ) -> None:
    """Dragging Start earlier than the clip snaps to a word there, not back inside."""
    clip = editor.api.get(f"/api/clips/{editor.clip_id}").json()
    outside = [w for w in clip["nearby"] if w["end"] <= clip["start"] - 2]
    assert outside, "no words before the clip to reach"
    aim = outside[-1]["start"] + 0.1
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    open_clip(page, editor)
    low = float(page.locator("#trim-start").get_attribute("min") or "nan")
    assert low <= max(0.0, clip["start"] - 30) + 0.01
    set_range(page, "#trim-start", aim)
    value = float(page.locator("#trim-start").input_value())
    assert value < clip["start"] - 1  # lengthened, not snapped later
    assert value == pytest.approx(outside[-1]["start"], abs=0.01)  # onto the word's start
    # The handles say where they are and where the range ends, as times.
    assert page.locator("#start-at").inner_text() == clock(value)
    assert re.fullmatch(r"\d+:\d\d\.\d", page.locator("#trim-min").inner_text())
    assert page.locator(f"#words input[data-start='{outside[-1]['start']}']").is_visible()


def clock(seconds: float) -> str:
    """The web UI's m:ss.s."""
    m = int(seconds // 60)
    return f"{m}:{seconds - 60 * m:04.1f}"


def test_publish_errors_sit_by_the_control_and_name_every_platform(
        editor: Processed, browser: Any) -> None:  # noqa: F811
    """No account is connected: nothing is ticked; asked anyway, the refusal appears
    next to Publish, names YouTube and X in plain words, not a command line."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    watch = Watch()
    watch.attach(page)
    open_clip(page, editor)
    page.wait_for_selector("#pub-youtube-note:visible")
    assert not page.locator("#pub-youtube").is_checked()
    assert not page.locator("#pub-x").is_checked()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_selector("#clip-status[data-status=approved]")
    page.locator("#pub-youtube").check()
    page.locator("#pub-x").check()
    page.get_by_role("button", name="Publish", exact=True).click()
    error = page.locator(".publish #publish-error")
    error.wait_for(state="visible")
    text = error.inner_text()
    assert "YouTube" in text and " X " in text, text
    assert "clipforge" not in text and "--" not in text
    assert "account" not in page.locator("#flash").inner_text()  # not up at the top
    box, button = error.bounding_box(), page.locator("#publish").bounding_box()
    assert box and button and 0 <= box["y"] - button["y"] < 200  # right below the button
    assert watch.problems == []
    # The API names every platform too, for programs.
    refused = editor.api.post(f"/api/clips/{editor.clip_id}/publish",
                              json={"platforms": ["youtube", "x"]})
    assert refused.status_code == 409
    assert refused.json()["platforms"] == ["youtube", "x"]
    assert "no YouTube or X account" in refused.json()["message"]
