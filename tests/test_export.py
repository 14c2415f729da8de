"""Export to editors (issue 22): timelines re-read with OpenTimelineIO give back every
clip's range to the frame (29.97, 60, 25 and 15 fps and an audio-only recording), the EDL
and FCPXML hold to the formats' published structure (CMX 3600 columns; FCPXML 1.8's DTD),
and the exported SRT gives back the words burned into the clips; then the real
`clipforge export` on a processed stream, and the API route with its ownership rule."""

from __future__ import annotations

import io
import json
import re
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import opentimelineio as otio
import pysubs2
import pytest

from clipforge.analysis.subtitles import Cue
from clipforge.services import interchange
from clipforge.services.interchange import ExportClip, Recording
from tests.conftest import ROOT, cli_env, clipforge_cmd
from tests.procs import run_in_group
from tests.servers import Server

lxml_etree = pytest.importorskip("lxml.etree")
DTD = ROOT / "tests" / "data" / "fcpxml-1.8-subset.dtd"

# CMX 3600 event line: edit number (3 digits), two spaces, reel (8 columns), channel,
# edit type C, then source in/out and record in/out timecodes (";" before the frames
# in drop-frame).
TC = r"\d\d:\d\d:\d\d[:;]\d\d"
EVENT = re.compile(rf"^(\d{{3}})  (.{{8}}) (V|A|A2|B|AA|AA/V)\s+C\s+({TC}) ({TC}) ({TC}) ({TC})$")

RATES = {  # probed fps: (source frame rate, timeline frames per source frame)
    30000 / 1001: (Fraction(30000, 1001), 1),
    60.0: (Fraction(60), 1),
    25.0: (Fraction(25), 1),
    15.0: (Fraction(15), 2),  # no timecode at 15 fps: counted at 30
    0.0: (Fraction(30), 1),  # audio only
}


def first_frame_at_or_after(seconds: float, rate: Fraction) -> int:
    """The spec, exactly: the first source frame whose time is not before SECONDS (a
    bound within a microsecond of a frame's time is that frame)."""
    k = 0
    while Fraction(k) / rate < Fraction(seconds) - Fraction(1, 1_000_000):
        k += 1
    return k


def sample_clips(rate: Fraction) -> list[ExportClip]:
    """Bounds on a frame's exact float time, a third of a frame past one, and just
    before one; out of time order and ranks, with captions."""
    def at(frames: float) -> float:
        return float(Fraction(frames) / rate)

    return [
        ExportClip("c1", 2, "Second best — ünïcode", at(1800), at(2411) + at(1) / 3, at(2000),
                   6.5, {"loudness": 2.4, "chat_rate": 2.0, "faces": 0.0},
                   (Cue(0.0, 1.2, "LET'S GO"), Cue(1.2, 2.5, "no\nway"))),
        ExportClip("c2", 1, "Best", at(301) - at(1) / 3, at(737), at(500), 9.1,
                   {"laughter": 3.0}, (Cue(0.5, 1.0, "haha"),)),
        ExportClip("c3", 3, "Short", at(7), at(8), at(7), 1.0, {}, ()),
    ]


def expected_frames(clip: ExportClip, source: Fraction, per: int) -> tuple[int, int]:
    first = first_frame_at_or_after(clip.start, source)
    return first * per, max(first_frame_at_or_after(clip.end, source), first + 1) * per


def build(fps: float) -> tuple[Recording, list[ExportClip], Any, Fraction, int]:
    source, per = RATES[fps]
    recording = Recording("My stream ✨", "file:///media/my%20stream.mp4", "my stream.mp4",
                          300.0, fps, 1280 if fps else 0, 720 if fps else 0)
    clips = sample_clips(source)
    return recording, clips, interchange.timeline(recording, clips), source, per


def ranges(timeline: Any) -> dict[str, tuple[int, int]]:
    return {c.name: (round(c.source_range.start_time.value),
                     round(c.source_range.end_time_exclusive().value))
            for c in timeline.find_clips()}


@pytest.mark.parametrize("fps", list(RATES))
def test_otio_and_edl_reread_give_every_clip_its_frames(fps: float) -> None:
    recording, clips, timeline, source, per = build(fps)
    want = {c.title: expected_frames(c, source, per) for c in clips}
    rate = float(source * per)

    back = otio.adapters.read_from_string(interchange.otio_json(timeline), "otio_json")
    assert ranges(back) == want
    assert {c.source_range.start_time.rate for c in back.find_clips()} == {rate}
    order = [c.name for c in back.find_clips()]
    assert order == ["Short", "Best", "Second best — ünïcode"]  # as they happened
    for item in back.find_clips():
        clip = next(c for c in clips if c.title == item.name)
        assert item.media_reference.target_url == recording.url
        (peak,) = item.markers
        assert round(peak.marked_range.start_time.value) == max(
            min(first_frame_at_or_after(clip.peak, source) * per, want[clip.title][1] - 1),
            want[clip.title][0])
        assert peak.name.startswith(f"Peak #{clip.rank} score {clip.score:.2f}")
        assert item.metadata["clipforge"]["reasons"] == clip.reasons

    edl = interchange.edl(timeline)
    lines = edl.splitlines()
    assert lines[0] == "TITLE: My stream"  # 7-bit text
    assert lines[1] == ("FCM: DROP FRAME" if source.denominator == 1001
                        else "FCM: NON-DROP FRAME")
    events = [EVENT.match(line) for line in lines if line[:3].isdigit()]
    assert len(events) == 3 and all(events), edl
    assert [e.group(1) for e in events if e] == ["001", "002", "003"]
    assert {e.group(3) for e in events if e} == {"V" if fps else "A"}
    assert edl.count("* FROM CLIP NAME:  my stream.mp4") == 3
    assert edl.count("* LOC: ") == 3
    back = otio.adapters.read_from_string(edl, "cmx_3600", rate=rate)
    assert [(round(c.source_range.start_time.value),
             round(c.source_range.end_time_exclusive().value)) for c in back.find_clips()] \
        == sorted(want.values())
    # Record side: one after the other from zero, each as long as its source range.
    record = [(e.group(6), e.group(7)) for e in events if e]
    assert record[0][0].replace(";", ":") == "00:00:00:00"
    assert all(a[1] == b[0] for a, b in zip(record, record[1:], strict=False))


def rational(text: str) -> Fraction:
    assert re.fullmatch(r"\d+(/\d+)?s", text), text
    return Fraction(text[:-1])


@pytest.mark.parametrize("fps", list(RATES))
def test_fcpxml_is_valid_and_every_time_is_a_whole_frame(fps: float) -> None:
    recording, clips, timeline, source, per = build(fps)
    text = interchange.fcpxml(timeline, recording)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n')
    document = lxml_etree.fromstring(text.encode())
    dtd = lxml_etree.DTD(str(DTD))
    assert dtd.validate(document), dtd.error_log.filter_from_errors()

    root = ElementTree.fromstring(text)
    (fmt,) = root.iterfind("resources/format")
    frame = rational(fmt.get("frameDuration", ""))
    assert frame == 1 / (source * per)
    (asset,) = root.iterfind("resources/asset")
    assert asset.get("src") == recording.url and asset.get("hasAudio") == "1"
    assert asset.get("hasVideo") == ("1" if fps else "0")
    spine = root.find("library/event/project/sequence/spine")
    assert spine is not None
    want = {c.title: expected_frames(c, source, per) for c in clips}
    offset = Fraction(0)
    for element in spine:
        assert element.tag == "asset-clip" and element.get("ref") == asset.get("id")
        times = {k: rational(element.get(k, "")) / frame for k in ("offset", "start",
                                                                    "duration")}
        assert all(t.denominator == 1 for t in times.values()), times  # whole frames
        assert times["offset"] == offset
        name = element.get("name", "")
        assert (times["start"], times["start"] + times["duration"]) == want[name]
        offset += times["duration"]
        (marker,) = element.iterfind("marker")
        assert (rational(marker.get("start", "")) / frame).denominator == 1
        assert marker.get("value", "").startswith("Peak #")

    # OpenTimelineIO's FCP X reader counts a format's rate as a whole number
    # (int(30000/1001) = 29), so it reads NTSC files wrongly; at whole rates it gives
    # every clip's range back to the frame.
    if source.denominator == 1:
        back = otio.adapters.read_from_string(text, "fcpx_xml")
        assert ranges(back) == want


def test_a_recording_rate_without_timecode_is_refused_for_edl_only() -> None:
    recording = Recording("s", "file:///s.mp4", "s.mp4", 60.0, 7.0)
    clips = [ExportClip("a", 1, "A", 1.0, 3.0, 2.0, 1.0)]
    timeline = interchange.timeline(recording, clips)
    assert ranges(timeline) == {"A": (7, 21)}
    with pytest.raises(Exception, match="no timecode, which an EDL needs"):
        interchange.edl(timeline)
    assert "<asset-clip" in interchange.fcpxml(timeline, recording)


def test_the_captions_sit_on_the_exported_sequence() -> None:
    _, clips, timeline, source, per = build(30000 / 1001)
    subs = pysubs2.SSAFile.from_string(interchange.captions(timeline, clips, "srt"),
                                       format_="srt")
    placed = {c.name: c.trimmed_range_in_parent() for c in timeline.find_clips()}
    got = [(e.start / 1000, e.end / 1000, e.text.replace("\\N", "\n")) for e in subs]
    want = []
    for clip in sorted(clips, key=lambda c: c.start):
        rec = placed[clip.title]
        src_in = Fraction(expected_frames(clip, source, per)[0]) / (source * per)
        for cue in clip.cues:
            start = rec.start_time.to_seconds() + clip.start - float(src_in) + cue.start
            end = min(start + cue.end - cue.start, rec.end_time_exclusive().to_seconds())
            want.append((start, end, cue.text))
    assert [t for *_, t in got] == ["haha", "LET'S GO", "no\nway"]
    for (gs, ge, _), (ws, we, _) in zip(got, want, strict=True):
        assert abs(gs - ws) <= 0.001 and abs(ge - we) <= 0.001
    vtt = interchange.captions(timeline, clips, "vtt")
    assert vtt.startswith("WEBVTT\n\n") and "LET'S GO" in vtt


# --- the real command and route, on the stream processed once per test run ----------

def burned_words(ass: Path) -> list[str]:
    """The words of the captions libass burned in: each page's text once (a page is
    drawn again for each word it highlights)."""
    pages: list[str] = []
    for event in pysubs2.load(str(ass)).events:
        text = " ".join(event.plaintext.split())
        if not pages or pages[-1] != text:
            pages.append(text)
    return " ".join(pages).split()


def export(data: Path, tmp: Path, *args: str) -> Path:
    proc = run_in_group(clipforge_cmd("export", *args), timeout=120, env=cli_env(data),
                        cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp / proc.stdout.strip()


def test_clipforge_export_on_a_processed_stream(processed: tuple[Path, dict[str, Any], Path],
                                                tmp_path: Path) -> None:
    out, report, data = processed
    video = Path(report["stream"]["source"])
    clips = sorted(report["clips"], key=lambda c: c["start"])
    assert clips, "the processed stream has clips"
    rate = 30  # the generated stream's

    timeline = otio.adapters.read_from_file(str(export(data, tmp_path, str(video),
                                                       "--format", "otio")))
    assert [c.metadata["clipforge"]["id"] for c in timeline.find_clips()] == \
        [c["id"] for c in clips]
    for item, clip in zip(timeline.find_clips(), clips, strict=True):
        assert item.source_range.start_time.rate == rate
        assert item.media_reference.target_url == video.resolve().as_uri()
        first = first_frame_at_or_after(clip["start"], Fraction(rate))
        after = max(first_frame_at_or_after(clip["end"], Fraction(rate)), first + 1)
        assert (item.source_range.start_time.value,
                item.source_range.end_time_exclusive().value) == (first, after)

    edl = export(data, tmp_path, str(video), "-f", "edl", "--out", str(tmp_path / "cut.edl"))
    assert edl.name == "cut.edl"
    assert len([line for line in edl.read_text().splitlines() if EVENT.match(line)]) == \
        len(clips)
    fcpxml = export(data, tmp_path, str(video), "-f", "fcpxml")
    assert lxml_etree.DTD(str(DTD)).validate(lxml_etree.parse(str(fcpxml)))

    # The SRT gives back, clip by clip, the words burned into each rendered clip.
    subs = pysubs2.load(str(export(data, tmp_path, str(video), "-f", "srt")))
    placed = [c.trimmed_range_in_parent() for c in timeline.find_clips()]
    for clip, where in zip(clips, placed, strict=True):
        inside = [e for e in subs.events if where.start_time.to_seconds() * 1000 - 1 <=
                  e.start < where.end_time_exclusive().to_seconds() * 1000]
        words = " ".join(e.plaintext for e in inside).split()
        assert words == burned_words(out / clip["captions"]), clip["id"]
    vtt = export(data, tmp_path, str(video), "-f", "vtt").read_text()
    assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == len(subs.events)

    archive = zipfile.ZipFile(export(data, tmp_path, str(video), "-f", "zip"))
    listed = json.loads(archive.read("report.json"))["clips"]
    assert sorted(c["id"] for c in listed) == sorted(c["id"] for c in clips)
    assert all(c["file"] in archive.namelist() and c["srt"] in archive.namelist()
               for c in listed)

    wrong = run_in_group(clipforge_cmd("export", str(video), "-f", "mov"), timeout=60,
                         env=cli_env(data), cwd=tmp_path)
    assert wrong.returncode == 2 and "--format mov: say one of otio" in wrong.stderr
    missing = run_in_group(clipforge_cmd("export", "9999", "-f", "otio"), timeout=60,
                           env=cli_env(data), cwd=tmp_path)
    assert missing.returncode == 2 and "9999: no such stream" in missing.stderr


def test_the_api_exports_only_to_members_of_the_stream_workspace(
        processed: tuple[Path, dict[str, Any], Path]) -> None:
    _, report, data = processed
    server = Server(data, f"sqlite:///{data / 'clipforge.db'}", pool=False)
    try:
        server.start()
        token = server.cli("user", "create", "export-viewer", "--role", "viewer").strip()
        server.cli("workspace", "create", "export-elsewhere")
        other = server.cli("user", "create", "export-outsider", "--workspace",
                           "export-elsewhere").strip()
        api = server.client(token)
        sid = api.get("/api/streams").json()["items"][0]["id"]
        got = api.get(f"/api/streams/{sid}/export", params={"format": "fcpxml"})
        assert got.status_code == 200, got.text
        assert got.headers["content-disposition"].startswith("attachment; filename*=utf-8''")
        assert got.headers["content-disposition"].endswith(".fcpxml")
        root = ElementTree.fromstring(got.content)
        (asset,) = root.iterfind("resources/asset")
        assert "/" not in asset.get("src", "")  # the server's paths stay on the server
        edl = api.get(f"/api/streams/{sid}/export?format=edl")
        assert edl.status_code == 200 and edl.text.startswith("TITLE: ")
        zipped = api.get(f"/api/streams/{sid}/export?format=zip")
        assert zipfile.ZipFile(io.BytesIO(zipped.content)).testzip() is None
        assert api.get(f"/api/streams/{sid}/export?format=mov").status_code == 422
        assert server.client(other).get(f"/api/streams/{sid}/export").status_code == 404
        assert server.client("nope").get(f"/api/streams/{sid}/export").status_code == 401
    finally:
        server.stop()
    assert report["clips"]
