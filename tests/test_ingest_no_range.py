"""URL ingest from a server without HTTP Range support (`python3 -m http.server`): a clip's
section cannot be fetched on its own, so the whole file is downloaded once, the clips are
cut from it, and a notice says so."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from clipforge.media import ffmpeg
from clipforge.sources import ingest
from tests.conftest import cli_env, clipforge_cmd
from tests.plain_http import gets, plain_http_server

ALLOW = ingest.Limits(allow_private=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40 s 320x240 stream: a quiet tone with a loud burst at 20-24 s (one highlight)."""
    folder = tmp_path_factory.mktemp("plain")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=320x240:r=25:d=40",
         "-f", "lavfi", "-i", "sine=frequency=300:duration=40,volume=0.05",
         "-f", "lavfi", "-i", "anoisesrc=d=4:a=0.9",
         "-filter_complex", "[2]adelay=20000|20000[b];[1][b]amix=inputs=2:normalize=0[a]",
         "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
         "-c:a", "aac", "-t", "40", str(folder / "vod.mp4")], check=True, timeout=120)
    return folder


def test_a_section_comes_from_the_whole_file_downloaded_once(served: Path,
                                                             tmp_path: Path) -> None:
    log = tmp_path / "http.log"
    with plain_http_server(served, log) as base:
        url = f"{base}/vod.mp4"
        first = ingest.download_section(url, tmp_path / "sections", (10.0, 20.0),
                                        ingest.RENDER_FORMAT, ALLOW)
        assert "no HTTP Range support" in first.notice and url in first.notice
        assert first.offset == 0.0
        assert abs(ffmpeg.probe(first.path).duration - 40.0) < 0.5
        fetched = gets(log, "vod.mp4")
        second = ingest.download_section(url, tmp_path / "sections", (25.0, 35.0),
                                         ingest.RENDER_FORMAT, ALLOW)
        assert (second.path, second.offset, second.notice) == (first.path, 0.0, "")
        assert gets(log, "vod.mp4") == fetched  # once for the whole stream, not per clip


def test_a_url_on_a_server_without_range_support_renders_its_clips(served: Path,
                                                                   tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data")
    env.update(CLIPFORGE_ALLOW_PRIVATE_URLS="true")
    out = tmp_path / "out"
    with plain_http_server(served, tmp_path / "http.log") as base:
        proc = subprocess.run(
            clipforge_cmd("process", f"{base}/vod.mp4", "--out", str(out), "--top", "1",
                          "--min-len", "5", "--max-len", "10", "--no-captions", "-q"),
            capture_output=True, text=True, env=env, timeout=540)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    clips = json.loads((out / "report.json").read_text())["clips"]
    assert clips
    for clip in clips:
        rendered = ffmpeg.probe(out / clip["file"])
        assert rendered.has_video and abs(rendered.duration - (clip["end"] - clip["start"])) < 1
