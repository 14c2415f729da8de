"""`clipforge process` end to end on a generated 3-minute 720p stream."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.conftest import process

CLIP_KEYS = {"id", "rank", "start", "end", "score", "reasons", "title", "layout", "file",
             "captions", "thumbnail"}


def probe(path: Path) -> dict[str, Any]:
    raw = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                          "-show_streams", str(path)], capture_output=True, check=True).stdout
    return json.loads(raw)


def test_report_has_exactly_the_documented_shape(processed: Any, stream_3min: Any) -> None:
    _, report, _ = processed
    assert set(report) == {"stream", "clips", "transcript", "timings"}
    assert set(report["stream"]) == {"source", "duration", "language"}
    assert report["stream"]["language"] == "en"  # the default: English, not detected
    assert abs(report["stream"]["duration"] - stream_3min.duration) < 0.5
    assert 1 <= len(report["clips"]) <= 5
    for clip in report["clips"]:
        assert set(clip) == CLIP_KEYS
        assert abs(sum(clip["reasons"].values()) - clip["score"]) < 0.01
    assert [c["rank"] for c in report["clips"]] == list(range(1, len(report["clips"]) + 1))
    for seg in report["transcript"]:
        assert set(seg) == {"start", "end", "text", "words"}
        for word in seg["words"]:
            assert set(word) == {"start", "end", "word", "probability"}
    stages = {"ingest", "chunk", "transcribe", "analyze", "score", "enrol", "plan", "render",
              "total"}
    assert set(report["timings"]) == stages


def test_clips_are_vertical_with_audio_and_the_right_length(processed: Any) -> None:
    out, report, _ = processed
    for clip in report["clips"]:
        info = probe(out / clip["file"])
        video = [s for s in info["streams"] if s["codec_type"] == "video"]
        audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
        assert (video[0]["width"], video[0]["height"]) == (1080, 1920)
        assert video[0]["codec_name"] == "h264" and audio and audio[0]["codec_name"] == "aac"
        assert abs(float(info["format"]["duration"]) - (clip["end"] - clip["start"])) <= 0.5
        assert (out / clip["thumbnail"]).read_bytes()[:2] == b"\xff\xd8"
        assert "Dialogue:" in (out / clip["captions"]).read_text()
        assert 15 <= clip["end"] - clip["start"] <= 61


def test_clips_do_not_overlap_and_catch_planted_highlights(processed: Any,
                                                          stream_3min: Any) -> None:
    _, report, _ = processed
    spans = sorted((c["start"], c["end"]) for c in report["clips"])
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    caught = [h for h in stream_3min.highlights if any(s <= h <= e for s, e in spans)]
    assert len(caught) >= min(2, len(stream_3min.highlights)), (spans, stream_3min.highlights)


def test_the_face_is_followed(processed: Any) -> None:
    _, report, _ = processed
    assert any(c["layout"] == "crop" for c in report["clips"])


def frame_at(video: Path, t: float) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_MSEC, t * 1000)
    ok, frame = cap.read()
    cap.release()
    assert ok, video
    return frame.astype(np.int16)


def copy_state(data: Path, to: Path) -> None:
    """A copy of a data dir whose database names the copy's files: the database keeps
    absolute paths (artifacts, face images), which a plain copy would share with `data`."""
    shutil.copytree(data, to)
    with sqlite3.connect(to / "clipforge.db") as db:
        tables = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for _, column, kind, *_ in db.execute(f'PRAGMA table_info("{table}")'):
                if kind.upper() in ("TEXT", "JSON") or kind.upper().startswith("VARCHAR"):
                    db.execute(f'UPDATE "{table}" SET "{column}" = replace("{column}", ?, ?)',
                               (str(data), str(to)))


def test_captions_are_burned_in(processed: Any, stream_3min: Any, tmp_path: Path) -> None:
    out, report, shared = processed
    bare_out, data = tmp_path / "bare", tmp_path / "data"
    # On a copy of the shared state: a re-run in it would leave the stream's clips in this
    # test's folder, rendered without captions, for every test after this one.
    copy_state(shared, data)
    # The best clip again without captions: every stage but render is reused, and one
    # clip is enough to compare.
    proc = process(stream_3min.video, stream_3min.chat, bare_out, data, "--no-captions",
                   "--top", "1")
    assert proc.returncode == 0, proc.stderr
    bare = json.loads((bare_out / "report.json").read_text())["clips"][0]
    best = report["clips"][0]
    assert (bare["start"], bare["end"]) == (best["start"], best["end"])
    words = [w for s in report["transcript"] for w in s["words"]
             if best["start"] + 0.5 < w["start"] and w["end"] < best["end"] - 0.5]
    assert words, "the best clip should hold speech"
    band_diffs, top_diffs = [], []
    for word in words[:: max(1, len(words) // 5)]:
        t = (word["start"] + word["end"]) / 2 - best["start"]
        with_caps = frame_at(out / best["file"], t)
        without = frame_at(bare_out / bare["file"], t)
        diff = np.abs(with_caps - without).mean(axis=2)
        band_diffs.append(diff[1920 - 430 - 260: 1920 - 430].mean())
        top_diffs.append(diff[:900].mean())
    assert np.mean(band_diffs) > 8 * max(np.mean(top_diffs), 0.5), (band_diffs, top_diffs)
