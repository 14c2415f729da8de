"""What the publisher tests share: a small generated clip (a real MP4 and its JPEG
thumbnail), a state database holding it as an approved clip of a streamer, and accounts
connected through the fake platforms' OAuth (PKCE checked there)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from clipforge.config import Settings
from clipforge.domain import Options
from clipforge.publish import oauth
from clipforge.services import accounts
from clipforge.storage.models import ClipRow, StreamerRow, StreamRow
from clipforge.storage.repository import Repository
from tests.fake_platforms import FakePlatforms

SECRET = "publisher-tests-secret-key-0123456789"
CHUNK = 512 * 1024  # small chunks: a 1-2 MB clip is several of them
TIKTOK_CHUNK = 5 * 1024 * 1024  # TikTok's smallest chunk: a 13 MB clip is two of them
INSTAGRAM_CHUNK = 4 * 1024 * 1024  # bytes per rupload POST: a 13 MB clip is four


def make_clip(folder: Path, seconds: int = 2, bitrate: str = "6M", buffer: str = "3M") -> Path:
    """A 2-second 540x960 clip of noise (about 1.5 MB: three 512 KiB chunks), and its
    thumbnail beside it, as render leaves them. Longer or denser on demand (TikTok's
    chunks are 5 MB at least, Instagram's Reels 3 s at least)."""
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / "clip.mp4"
    if not video.exists():  # made under names of this process's own: workers share it
        mine, thumb = folder / f"clip.{os.getpid()}.mp4", folder / f"clip.{os.getpid()}.jpg"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=s=540x960:r=30,noise=alls=80:allf=t", "-t", str(seconds),
                        "-c:v", "libx264", "-preset", "ultrafast", "-b:v", bitrate,
                        "-maxrate", bitrate, "-bufsize", buffer,
                        "-pix_fmt", "yuv420p", str(mine)], check=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(mine), "-frames:v", "1",
                        str(thumb)], check=True)
        os.replace(thumb, video.with_suffix(".jpg"))
        os.replace(mine, video)
    return video


def settings_for(fake: FakePlatforms, data: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        **fake.settings(), "data_dir": data, "secret_key": SECRET, "workers": 2,
        "youtube_chunk_bytes": CHUNK, "x_chunk_bytes": CHUNK,
        "tiktok_chunk_bytes": TIKTOK_CHUNK, "instagram_chunk_bytes": INSTAGRAM_CHUNK,
        "publish_poll_seconds": 0.02, "publish_backoff_seconds": 0.05, **extra}
    return Settings(**values)  # type: ignore[arg-type]


def env_for(fake: FakePlatforms, data: Path, database_url: str) -> dict[str, str]:
    """The same settings for a `clipforge` subprocess."""
    values = {**fake.settings(), "data_dir": str(data), "database_url": database_url,
              "secret_key": SECRET, "workers": "2", "youtube_chunk_bytes": str(CHUNK),
              "x_chunk_bytes": str(CHUNK), "tiktok_chunk_bytes": str(TIKTOK_CHUNK),
              "instagram_chunk_bytes": str(INSTAGRAM_CHUNK), "publish_poll_seconds": "0.02",
              "publish_backoff_seconds": "0.05"}
    return {f"CLIPFORGE_{k.upper()}": v for k, v in values.items()}


@dataclass
class Approved:
    clip_id: str
    file: Path
    streamer: str = "alice"


def approved_clip(repo: Repository, file: Path, prefs: dict[str, object] | None = None,
                  clip_id: str = "c1ip0000000000000000000000000001",
                  seconds: float = 2.0) -> Approved:
    with repo.session() as s:
        streamer = StreamerRow(name="alice", settings=prefs or {})
        s.add(streamer)
        s.flush()
        stream = StreamRow(key="publishtest", source=str(file), duration=seconds,
                           name="Friday speedrun", status="done", streamer_id=streamer.id,
                           info={"path": str(file), "duration": seconds, "has_video": True,
                                 "has_audio": False},
                           options=Options(out_dir=file.parent).to_json(), run=1)
        s.add(stream)
        s.flush()
        s.add(ClipRow(id=clip_id, stream_id=stream.id, rank=1, start=0.0, end=seconds,
                      peak=seconds / 2, score=5.0, reasons={}, title="No way he made that jump",
                      layout="auto", status="approved", file=str(file)))
    return Approved(clip_id, file)


def authorization_code(settings: Settings, platform: str, redirect_uri: str
                       ) -> tuple[str, str]:
    """Sign in at the fake: (code, PKCE verifier), as a browser would bring them back."""
    started = oauth.start(oauth.provider(settings, platform), redirect_uri)
    answer = httpx.get(started.url)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == [started.state]
    return query["code"][0], started.verifier


def connect_both(repo: Repository, settings: Settings, streamer: str = "alice",
                 platforms: tuple[str, ...] = ("youtube", "x")) -> None:
    redirect = "http://127.0.0.1:9/callback"
    for platform in platforms:
        code, verifier = authorization_code(settings, platform, redirect)
        accounts.connect(repo, settings, platform, streamer, code, redirect, verifier)
