"""tools/synth.py: the generated streams really are what the other tests assume."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tools import synth

ROOT = Path(__file__).resolve().parent.parent

DURATION = 60.0


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> synth.StreamSpec:
    out = tmp_path_factory.mktemp("synth") / "s60.mp4"
    return synth.make_stream(out, duration=DURATION, width=640, height=360, seed=1)


def ffprobe(path: Path) -> dict[str, Any]:
    proc = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                           "-show_streams", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def read_chat(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_stream_has_one_video_one_audio_and_the_right_length(stream: synth.StreamSpec) -> None:
    info = ffprobe(stream.video)
    kinds = sorted(s["codec_type"] for s in info["streams"])
    assert kinds == ["audio", "video"]
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (640, 360)
    assert abs(float(info["format"]["duration"]) - DURATION) <= 0.5
    assert stream.duration == DURATION


def test_chat_parses_and_bursts_after_each_highlight(stream: synth.StreamSpec) -> None:
    messages = read_chat(stream.chat)
    assert all(set(m) == {"t", "user", "text"} for m in messages)
    assert all(0 <= m["t"] < DURATION for m in messages)
    assert stream.highlights, "a 60 s stream has one planted highlight"
    times = [m["t"] for m in messages]
    base = len(times) / DURATION
    for h in stream.highlights:
        after = sum(1 for t in times if h <= t < h + 10) / 10
        assert after > 3 * base, (h, after, base)


def test_no_chat_burst_after_music_decoys(stream: synth.StreamSpec) -> None:
    times = [m["t"] for m in read_chat(stream.chat)]
    base = len(times) / DURATION
    assert stream.decoys
    for d in stream.decoys:
        assert min(abs(d - h) for h in stream.highlights) > 10
        after = sum(1 for t in times if d <= t < d + 10) / 10
        assert after < 2 * base, (d, after, base)


def test_sentences_do_not_overlap_and_lie_inside(stream: synth.StreamSpec) -> None:
    spans = sorted(stream.sentences)
    assert len(spans) >= 10
    assert all(0 <= s < e <= DURATION for s, e, _ in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    starts = {s for s, _, _ in spans}
    assert all(h in starts for h in stream.highlights), "each highlight is an exclamation"


def test_spec_is_saved_beside_the_video_and_reloads(stream: synth.StreamSpec) -> None:
    assert synth.spec_path(stream.video).is_file()
    assert synth.load_spec(stream.video) == stream


def audio_md5(video: Path) -> str:
    proc = subprocess.run(["ffmpeg", "-v", "error", "-i", str(video), "-map", "0:a", "-f", "md5",
                           "-"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_same_seed_same_stream(tmp_path: Path) -> None:
    options = {"duration": 40.0, "width": 320, "height": 180, "seed": 2}
    a = synth.make_stream(tmp_path / "a" / "s.mp4", **options)
    b = synth.make_stream(tmp_path / "b" / "s.mp4", **options)
    c = synth.make_stream(tmp_path / "c" / "s.mp4", **{**options, "seed": 3})
    assert replace(a, video=b.video, chat=b.chat) == b
    assert a.chat.read_bytes() == b.chat.read_bytes()
    assert audio_md5(a.video) == audio_md5(b.video)
    assert c.sentences != a.sentences and c.chat.read_bytes() != a.chat.read_bytes()


def test_cached_stream_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"duration": 40.0, "width": 320, "height": 180, "seed": 2}
    first = synth.cached_stream(tmp_path, **options)
    monkeypatch.setattr(synth, "make_stream", lambda *a, **k: pytest.fail("regenerated"))
    again = synth.cached_stream(tmp_path, **options)
    assert again == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp files left"


def test_interrupted_generation_is_not_reused(tmp_path: Path) -> None:
    options = {"duration": 40.0, "width": 320, "height": 180, "seed": 2}
    spec = synth.cached_stream(tmp_path, **options)
    synth.spec_path(spec.video).unlink()  # as if killed before the spec was written
    assert synth.reusable(spec.video, synth.stream_params(**options)) is None


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return synth.make_bad_inputs(tmp_path_factory.mktemp("bad"))


def probe_ok(path: Path) -> dict[str, Any] | None:
    proc = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format",
                           "-show_streams", str(path)], capture_output=True, text=True)
    info = json.loads(proc.stdout or "{}")
    return info if proc.returncode == 0 and "format" in info else None


def test_bad_inputs_are_bad_in_the_promised_way(bad: dict[str, Path]) -> None:
    assert not bad["missing"].exists()
    assert bad["empty"].stat().st_size == 0
    assert probe_ok(bad["not_media"]) is None
    no_audio = probe_ok(bad["no_audio"])
    assert no_audio is not None
    assert [s["codec_type"] for s in no_audio["streams"]] == ["video"]
    # The index (moov atom) was at the end and is gone: ffprobe gets nothing usable.
    proc = subprocess.run(["ffprobe", "-v", "error", str(bad["truncated"])],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "moov atom not found" in proc.stderr
    assert bad["truncated"].read_bytes()[4:8] == b"ftyp"
    with pytest.raises(json.JSONDecodeError):
        read_chat(bad["bad_chat"])


def test_cut_short_probes_whole_but_decodes_half(bad: dict[str, Path]) -> None:
    info = probe_ok(bad["cut_short"])
    assert info is not None and abs(float(info["format"]["duration"]) - 10) < 0.5
    pcm = subprocess.run(["ffmpeg", "-v", "quiet", "-i", str(bad["cut_short"]), "-map", "0:a",
                          "-ac", "1", "-ar", "8000", "-f", "s16le", "-"],
                         capture_output=True).stdout
    assert len(pcm) / 2 / 8000 < 7.0


def test_audio_only_is_a_good_20_second_input(bad: dict[str, Path]) -> None:
    info = probe_ok(bad["audio_only"])
    assert info is not None
    assert [s["codec_type"] for s in info["streams"]] == ["audio"]
    assert abs(float(info["format"]["duration"]) - 20) < 0.5
