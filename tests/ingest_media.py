"""Test media for ingest: a generated stream as a 480p and a 720p MP4, and as HLS with a
master playlist of both renditions (2-second segments), made once and cached."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import CACHE
from tools import synth

MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2"
low/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2600000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
high/index.m3u8
"""


@dataclass(frozen=True)
class IngestMedia:
    root: Path  # what the server serves
    duration: float

    def segments(self, rendition: str) -> list[str]:
        return sorted(p.name for p in (self.root / "hls" / rendition).glob("*.ts"))


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
                   check=True)


def _hls(src: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _ffmpeg("-i", str(src), "-c", "copy", "-f", "hls", "-hls_time", "2",
            "-hls_playlist_type", "vod", "-hls_segment_filename", str(folder / "seg%03d.ts"),
            str(folder / "index.m3u8"))


def ingest_media() -> IngestMedia:
    spec = synth.cached_stream(CACHE / "streams", duration=90.0, seed=3)
    root = CACHE / f"ingest-{spec.video.stem}"
    if not (root / "hls" / "master.m3u8").exists():
        # A folder of this process's own: two pytest workers may make it at once.
        tmp = root.with_name(f"{root.name}.part-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shutil.copy(spec.video, tmp / "high.mp4")  # 1280x720, a keyframe every 2 s
        _ffmpeg("-i", str(spec.video), "-vf", "scale=-2:480", "-c:v", "libx264",
                "-preset", "veryfast", "-crf", "30", "-g", "60", "-keyint_min", "60",
                "-sc_threshold", "0", "-c:a", "aac", "-b:a", "64k", str(tmp / "low.mp4"))
        _hls(tmp / "low.mp4", tmp / "hls" / "low")
        _hls(tmp / "high.mp4", tmp / "hls" / "high")
        (tmp / "hls" / "master.m3u8").write_text(MASTER)
        # A stream still live: its playlist has no end yet (no #EXT-X-ENDLIST).
        vod = (tmp / "hls" / "high" / "index.m3u8").read_text()
        live = [line for line in vod.splitlines()[:12]
                if "ENDLIST" not in line and "PLAYLIST-TYPE" not in line]
        (tmp / "hls" / "high" / "live.m3u8").write_text("\n".join(live) + "\n")
        (tmp / "page.html").write_text("<html><body>no video here</body></html>")
        if (root / "hls" / "master.m3u8").exists():  # another worker finished first
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            shutil.rmtree(root, ignore_errors=True)
            try:
                tmp.rename(root)
            except OSError:  # ... just now
                shutil.rmtree(tmp, ignore_errors=True)
    return IngestMedia(root=root, duration=spec.duration)
