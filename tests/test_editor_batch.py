"""Issue 17, batches, history and feedback, in a real browser against one `clipforge serve`
and one processed stream (with chat) shared by the module's tests: the bulk bar, Download
all, each clip's score and reason, undo and versions, render progress and the browser
notification, transcript search and hand-made clips, the waveform under the trim handles.
"""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clipforge.services.bundle import unique
from tests.a11y import violations
from tests.conftest import ROOT
from tests.servers import Server
from tests.test_api import SERVER_SETTINGS
from tests.test_editor import PASSWORD, Processed, wait_done
from tests.test_web import CHROMIUM, Watch, log_in, set_range
from tools import synth

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
SHOTS = ROOT / "artifacts"
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module's tests (each opens its own page)."""
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory,
          stream_90s: synth.StreamSpec) -> Iterator[Processed]:
    """A server with one processed stream of three clips, with its chat."""
    root = tmp_path_factory.mktemp("batch")
    server = Server(root / "data", f"sqlite:///{root / 'batch.db'}",
                    **SERVER_SETTINGS)
    try:
        server.start()
        token = server.cli("user", "create", "editor", "--password", PASSWORD).strip()
        api = server.client(token)
        created = api.post("/api/streams", json={
            "path": str(stream_90s.video), "chat": str(stream_90s.chat), "top": 3,
            "min_len": 15, "max_len": 25})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        wait_done(api, sid)
        clips = api.get(f"/api/streams/{sid}/clips").json()["items"]
        assert len(clips) >= 2, "the bulk tests need two clips at least"
        yield Processed(server, api, sid, clips[0]["id"])
    finally:
        server.stop()


def clips_of(batch: Processed) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = batch.api.get(
        f"/api/streams/{batch.stream_id}/clips").json()["items"]
    return items


def stream_page(page: Any, batch: Processed) -> None:
    log_in(page, batch.server, f"/streams/{batch.stream_id}")
    page.wait_for_selector("#clips .clip .pick")


def test_the_bulk_bar_approves_and_rejects_the_selected_clips(batch: Processed,
                                                              browser: Any) -> None:
    clips = clips_of(batch)
    watch = Watch()
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    watch.attach(page)
    stream_page(page, batch)
    assert page.locator("#bulk-approve").is_disabled()
    first, second = clips[0], clips[1]
    page.get_by_label(f"Select clip {first['rank']}:").check()
    page.get_by_label(f"Select clip {second['rank']}:").check()
    assert page.locator("#selected-count").inner_text() == "2 selected"
    page.get_by_role("button", name="Approve selected").click()
    page.wait_for_selector("#flash.ok:has-text('Approved 2 clips.')")
    states = {c["id"]: c["status"] for c in clips_of(batch)}
    assert states[first["id"]] == states[second["id"]] == "approved"
    assert all(s == "rendered" for cid, s in states.items()
               if cid not in (first["id"], second["id"]))
    # Select all, then reject: every clip, in one request.
    page.wait_for_selector(f"#clips li[data-clip-id='{first['id']}'] .badge[data-status=approved]")
    page.get_by_label("Select all").check()
    assert page.locator("#selected-count").inner_text() == f"{len(clips)} selected"
    with page.expect_request(lambda r: r.url.endswith("/clips/review")) as sent:
        page.get_by_role("button", name="Reject selected").click()
    assert json.loads(sent.value.post_data)["ids"] == [c["id"] for c in clips]
    page.wait_for_selector(f"#flash.ok:has-text('Rejected {len(clips)} clips.')")
    assert {c["status"] for c in clips_of(batch)} == {"rejected"}
    # Each decision is a version of its clip.
    actions = [v["action"] for v in batch.api.get(
        f"/api/clips/{first['id']}/versions").json()]
    assert actions == ["reject", "approve", "picked"]
    assert watch.problems == []
    back = batch.api.post(f"/api/streams/{batch.stream_id}/clips/review",
                          json={"ids": [c["id"] for c in clips], "decision": "approve"})
    assert back.status_code == 200 and {r["status"] for r in back.json()} == {"approved"}


def test_bulk_review_is_scoped_to_the_workspace_the_role_and_the_stream(
        batch: Processed) -> None:
    clip_ids = [c["id"] for c in clips_of(batch)]
    path = f"/api/streams/{batch.stream_id}/clips/review"
    viewer = batch.server.client(batch.server.cli("user", "create", "watcher", "--role",
                                                  "viewer").strip())
    refused = viewer.post(path, json={"ids": clip_ids, "decision": "reject"})
    assert refused.status_code == 403, refused.text
    batch.server.cli("workspace", "create", "elsewhere")
    outsider = batch.server.client(batch.server.cli(
        "user", "create", "outsider", "--workspace", "elsewhere").strip())
    assert outsider.post(path, json={"ids": clip_ids, "decision": "reject"}).status_code == 404
    before = {c["id"]: c["status"] for c in clips_of(batch)}
    decision = "reject" if before[clip_ids[0]] != "rejected" else "approve"
    unknown = batch.api.post(path, json={"ids": [clip_ids[0], "0123456789"],
                                         "decision": decision})
    assert unknown.status_code == 404, unknown.text
    assert {c["id"]: c["status"] for c in clips_of(batch)} == before  # all or nothing
    assert batch.api.post(path, json={"ids": [], "decision": "reject"}).status_code == 422


def test_download_all_is_a_zip_of_the_clips_named_by_title_with_captions_and_report(
        batch: Processed, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    stream_page(page, batch)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all (zip)").click()
    data = Path(download.value.path()).read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    clips = [c for c in clips_of(batch) if c["status"] != "rejected"]
    report = json.loads(archive.read("report.json"))
    assert [c["id"] for c in report["clips"]] == [c["id"] for c in clips]
    assert report["transcript"] and "/" not in report["stream"]["source"]
    for clip, listed in zip(clips, report["clips"], strict=True):
        assert listed["file"].endswith(".mp4") and clip["id"] not in listed["file"]
        assert listed["file"][:-4] in clip["title"] or clip["title"].startswith(
            listed["file"][:-4][:20])
        for key in ("file", "srt", "vtt"):
            assert listed[key] in names
        mp4 = archive.read(listed["file"])
        assert mp4 == batch.api.get(f"/api/clips/{clip['id']}/video").content
        for suffix in ("srt", "vtt"):
            same = batch.api.get(f"/api/clips/{clip['id']}/captions.{suffix}").text
            assert archive.read(listed[suffix]).decode() == same
    assert sorted(names) == sorted(["report.json", *(c[k] for c in report["clips"]
                                                      for k in ("file", "srt", "vtt"))])
    assert archive.testzip() is None


def test_zip_names_are_unique_whatever_the_titles() -> None:
    taken: set[str] = set()
    assert [unique(n, taken) for n in ("Wow", "wow", "Wow", "Other")] == [
        "Wow", "wow (2)", "Wow (3)", "Other"]


def test_each_clip_shows_a_score_out_of_100_and_one_plain_reason(batch: Processed,
                                                                  browser: Any) -> None:
    clips = clips_of(batch)
    assert any("viewers)" in c["why"] for c in clips), [c["why"] for c in clips]
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    stream_page(page, batch)
    for clip in clips:
        card = page.locator(f"#clips li[data-clip-id='{clip['id']}']")
        assert card.locator(".score100").inner_text() == f"{clip['score_100']}/100"
        assert card.locator(".why-text").inner_text() == clip["why"]
        assert 0 <= clip["score_100"] <= 100
        raw = card.locator("details.raw")
        assert raw.locator(".reason").first.is_hidden()  # behind the disclosure
        raw.locator("summary").click()
        assert raw.locator(".reason").first.is_visible()


def test_undo_takes_back_a_review_and_an_edit_and_lists_the_versions(
        batch: Processed, browser: Any) -> None:
    clip = clips_of(batch)[-1]
    cid = clip["id"]
    watch = Watch()
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    watch.attach(page)
    log_in(page, batch.server, f"/clips/{cid}")
    page.wait_for_selector("#words input:not([hidden])")
    status = page.locator("#clip-status").get_attribute("data-status")
    page.keyboard.press("r")  # reject
    page.wait_for_selector("#clip-status[data-status=rejected]")
    page.wait_for_selector("#versions li:has-text('Rejected')")
    page.keyboard.press("Control+z")
    page.wait_for_selector(f"#clip-status[data-status={status}]")
    page.wait_for_selector("#versions li.undone:has-text('Rejected')")
    assert batch.api.get(f"/api/clips/{cid}").json()["status"] == status

    # An edit, then Undo (the button): the old title is back and rendered again.
    old_title = page.locator("#title").input_value()
    page.locator("#title").fill("A title to take back")
    page.get_by_role("button", name="Save and re-render").click()
    page.wait_for_selector("#render-status:has-text('Rendered.')", timeout=300_000)
    assert batch.api.get(f"/api/clips/{cid}").json()["title"] == "A title to take back"
    page.wait_for_selector("#undo-what:has-text('Edited title')")
    page.get_by_role("button", name="Undo").click()
    # "Rendered." of the save is still there until the undo's answer says "Rendering…".
    page.wait_for_selector("#flash.ok:has-text('rendered again as it was')")
    page.wait_for_selector("#render-status:has-text('Rendered.')", timeout=300_000)
    after = batch.api.get(f"/api/clips/{cid}").json()
    assert after["title"] == old_title and page.locator("#title").input_value() == old_title
    versions = batch.api.get(f"/api/clips/{cid}/versions").json()
    assert [(v["action"], v["undone"]) for v in versions[:2]] == [
        ("edit", True), ("reject", True)]
    assert not versions[2]["undone"] and versions[2]["status"] == status
    assert versions[-1]["action"] == "picked" and versions[-1]["number"] == 0
    assert versions[0]["by"] == "editor" and versions[0]["title"] == "A title to take back"
    assert page.locator("#versions li").count() == len(versions)
    assert watch.problems == []
    # Back to a state rendered earlier in this run: the stream still ends (it hung).
    wait_done(batch.api, batch.stream_id)


def test_an_edit_back_to_an_earlier_state_still_ends_the_stream(batch: Processed) -> None:
    """A title changed and changed back by hand (what Undo does): the second edit's plan
    and render were taken for work still to do, done already in this run, and the stream
    stayed `processing` for good."""
    wait_done(batch.api, batch.stream_id)
    clip = clips_of(batch)[1]
    for title in ("A passing title", clip["title"]):
        edited = batch.api.patch(f"/api/clips/{clip['id']}", json={"title": title})
        assert edited.status_code == 200, edited.text
        wait_done(batch.api, batch.stream_id, timeout=300)
    assert batch.api.get(f"/api/clips/{clip['id']}").json()["title"] == clip["title"]


NOTES = """() => {
  window.notes = [];
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) { super(title, options); window.notes.push([title, options.body]); }
  };
}"""


def test_render_progress_per_clip_with_eta_and_a_notification_when_done(
        batch: Processed, browser: Any) -> None:
    wait_done(batch.api, batch.stream_id)  # an earlier test's render may still end
    clip = clips_of(batch)[0]
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.grant_permissions(["notifications"], origin=batch.server.url)
    context.add_init_script(f"({NOTES})()")  # records what the page shows, lets it through
    page = context.new_page()
    stream_page(page, batch)
    assert page.locator("#notify").is_hidden()  # done: nothing to wait for
    since = max(e["id"] for e in batch.api.get(
        "/api/events", params={"stream_id": batch.stream_id, "limit": 500}).json())
    edited = batch.api.patch(f"/api/clips/{clip['id']}", json={"title": "Rendered again"})
    assert edited.status_code == 200, edited.text
    page.get_by_role("button", name="Notify me when it is done").click()
    card = page.locator(f"#clips li[data-clip-id='{clip['id']}'] .render-progress")
    card.locator(".eta").wait_for(state="visible", timeout=120_000)
    assert card.locator(".eta").inner_text().startswith("Rendering ")
    page.wait_for_function("() => window.notes.length > 0", timeout=300_000)
    (title, body), = page.evaluate("() => window.notes")
    assert title == "ClipForge: stream done" and "clips ready to review" in body
    ticks = [e["payload"] for e in batch.api.get("/api/events", params={
        "stream_id": batch.stream_id, "since": since, "limit": 500}).json()
        if e["name"] == "job.progress" and e["payload"].get("clip_id") == clip["id"]]
    fractions = [t["fraction"] for t in ticks]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) >= 2
    assert any(t["seconds"] is not None for t in ticks)
    card.wait_for(state="hidden")
    context.close()


def test_transcript_search_jumps_the_player_and_makes_a_clip_by_hand(
        batch: Processed, browser: Any) -> None:
    wait_done(batch.api, batch.stream_id)
    clip = batch.api.get(f"/api/clips/{clips_of(batch)[0]['id']}").json()
    target = next(w for w in clip["words"] if len(w["word"].strip(".,!?")) >= 4)
    query = target["word"].strip(".,!?")
    watch = Watch()
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    watch.attach(page)
    stream_page(page, batch)
    page.get_by_label("Words to find in the transcript").fill(query)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector("#hits li")
    found = batch.api.get(f"/api/streams/{batch.stream_id}/transcript",
                          params={"q": query}).json()["hits"]
    hit = next(h for h in found if h["start"] == target["start"])
    assert page.locator("#hits li").count() == len(found)
    row = page.locator("#hits li").nth(found.index(hit))
    row.get_by_role("button", name=f"Play from {clock(hit['start'])}").click()
    page.wait_for_function(f"() => Math.abs(document.querySelector('#stream-player')"
                           f".currentTime - {hit['start']}) < 0.3")
    words = hit["words"]
    first, last = words[0], words[-1]
    row.locator(f".word[data-start='{first['start']}']").click()
    row.locator(f".word[data-start='{last['start']}']").click()
    assert row.locator(".word[aria-pressed=true]").count() == len(words)
    page.get_by_role("button", name="Make clip").click()
    page.wait_for_selector("#flash.ok:has-text('Made clip')")
    made = [c for c in clips_of(batch) if c["start"] == first["start"] and not c["reasons"]]
    assert len(made) == 1 and made[0]["end"] == last["end"]
    wait_done(batch.api, batch.stream_id)  # the stream ends: its report lists the new clip
    made_clip = batch.api.get(f"/api/clips/{made[0]['id']}").json()
    assert made_clip["status"] == "rendered" and made_clip["video_url"]
    assert made_clip["why"] == "Made by hand" and made_clip["rank"] == max(
        c["rank"] for c in clips_of(batch))
    page.wait_for_selector(f"#clips li[data-clip-id='{made[0]['id']}'] img")
    assert watch.problems == []


def clock(seconds: float) -> str:
    m = int(seconds // 60)
    return f"{m}:{seconds - 60 * m:04.1f}"


def test_the_waveform_follows_the_audio_loud_then_silent(batch: Processed,
                                                          tmp_path: Path) -> None:
    """A recording of 8 s of tone (peak 0.5: lavfi's sine is 1/8, times 4) then 8 s of
    silence: the peaks say so."""
    video = tmp_path / "tone-then-quiet.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:d=16",
                    "-f", "lavfi", "-i", "sine=f=440:d=8:sample_rate=48000,volume=4,"
                    "apad=whole_dur=16", "-shortest", "-pix_fmt", "yuv420p", str(video)],
                   check=True)
    created = batch.api.post("/api/streams", json={"path": str(video), "top": 1,
                                                   "min_len": 15, "max_len": 16})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    wait_done(batch.api, sid)
    wave = batch.api.get(f"/api/streams/{sid}/waveform",
                         params={"start": 0, "end": 16, "points": 16}).json()
    peaks = wave["peaks"]
    assert len(peaks) == 16 and all(0 <= p <= 1 for p in peaks)
    assert min(peaks[1:7]) > 0.2 and max(peaks[9:]) < 0.01, peaks
    whole = batch.api.get(f"/api/streams/{sid}/waveform", params={"points": 8}).json()
    assert whole["start"] == 0 and abs(whole["end"] - 16) < 0.2 and len(whole["peaks"]) == 8
    after = batch.api.get(f"/api/streams/{sid}/waveform", params={"start": 20, "end": 30})
    assert after.status_code == 422 and "inside the stream" in after.json()["message"]


def test_the_waveform_strip_sits_under_the_trim_handles(batch: Processed,
                                                         browser: Any) -> None:
    clip = clips_of(batch)[1]
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    log_in(page, batch.server, f"/clips/{clip['id']}")
    page.wait_for_selector("#words input:not([hidden])")
    canvas = page.locator("#waveform")
    label = canvas.get_attribute("aria-label") or ""
    assert label.startswith("Waveform from ") and "the clip keeps" in label
    drawn = canvas.evaluate("""c => { const d = c.getContext('2d').getImageData(0, 0, c.width,
        c.height).data; let lit = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) lit++;
        return lit / (c.width * c.height); }""")
    assert drawn > 0.05  # bars and labels, not a blank strip
    box, handle = canvas.bounding_box(), page.locator("#trim-end").bounding_box()
    assert box and handle and 0 <= box["y"] - handle["y"] < 120  # right under the handles
    start = float(page.locator("#trim-start").input_value())
    set_range(page, "#trim-start", start + 2)
    assert canvas.get_attribute("aria-label") != label  # redrawn as the handle moves


def test_the_pages_changed_pass_axe_and_are_photographed(batch: Processed,
                                                         browser: Any) -> None:
    """axe-core: 0 serious or critical violations on the stream page (bulk bar, some
    clips selected, transcript hits) and the clip page (versions, waveform), desktop and
    phone; screenshots to artifacts/."""
    clips = clips_of(batch)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    stream_page(page, batch)
    page.get_by_label(f"Select clip {clips[0]['rank']}:").check()
    page.locator("details.raw summary").first.click()
    first_word = batch.api.get(f"/api/clips/{clips[0]['id']}").json()["words"][0]["word"]
    page.get_by_label("Words to find in the transcript").fill(first_word.strip(".,!?"))
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector("#hits li")
    found: dict[str, list[str]] = {}
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        found[f"stream ({label})"] = violations(page)
        page.locator("#bulk-bar").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"bulk-bar-{label}.png"))
        page.screenshot(path=str(SHOTS / f"stream-batch-{label}.png"), full_page=True)
    page.goto(f"{batch.server.url}/clips/{clips[0]['id']}")
    page.wait_for_selector("#words input:not([hidden])")
    for label, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        found[f"clip ({label})"] = violations(page)
        page.screenshot(path=str(SHOTS / f"clip-history-{label}.png"), full_page=True)
    assert {k: v for k, v in found.items() if v} == {}
