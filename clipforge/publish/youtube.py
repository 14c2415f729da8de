"""YouTube Shorts through the YouTube Data API's resumable upload protocol.

1. POST {upload}/videos?uploadType=resumable&part=snippet,status with the video resource;
   the session URI comes back in `Location`. It is saved BEFORE any byte is sent.
2. PUT the bytes in chunks (multiples of 256 KiB) with `Content-Range: bytes a-b/SIZE`;
   308 + `Range: bytes=0-N` says what the server holds; 200/201 carries the new video.
3. After a failure or a crash: PUT `Content-Range: bytes */SIZE` (no body) asks the session
   where it stands: 308 (resume from its offset) or 200/201 (it was complete: the video
   exists, take its id). So a session makes one video at most, and we use one session.
4. thumbnails.set with the clip's JPEG, where the channel is allowed custom thumbnails.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from clipforge import errors
from clipforge.config import Settings
from clipforge.publish.base import Checkpoint, Published, Video, call
from clipforge.publish.oauth import Credentials

QUANTUM = 256 * 1024  # chunk sizes must be multiples of this (the last chunk excepted)
GONE = (404, 410)  # the session expired: start a new one (its bytes made no video)


class YouTube:
    platform = "youtube"

    def __init__(self, client: httpx.Client, auth: Credentials, settings: Settings) -> None:
        self.client, self.auth = client, auth
        self.upload_url = settings.youtube_upload_url.rstrip("/")
        self.chunk = max(QUANTUM, settings.youtube_chunk_bytes // QUANTUM * QUANTUM)

    def publish(self, video: Video, checkpoint: Checkpoint) -> Published:
        state = checkpoint.load()
        video_id = state.get("video_id")
        if not video_id:
            resource = self._upload(video, checkpoint, state.get("upload_uri"))
            video_id = str(resource["id"])
            checkpoint.save(video_id=video_id)
        notes = self._thumbnail(video, video_id, checkpoint)
        return Published(video_id, f"https://www.youtube.com/shorts/{video_id}", notes)

    # The upload -------------------------------------------------------------------------
    def _upload(self, video: Video, checkpoint: Checkpoint, uri: str | None
                ) -> dict[str, Any]:
        size = video.size
        if uri:
            done, offset = self._where(uri, size)
            if done is not None:
                return done  # complete before the crash: that upload is our video
            if offset is None:
                uri = None
        if not uri:
            uri = self._start(video, size)
            checkpoint.save(upload_uri=uri, offset=0)
            offset = 0
        return self._send(uri, video, size, offset or 0, checkpoint)

    def _start(self, video: Video, size: int) -> str:
        status: dict[str, Any] = {"privacyStatus": video.privacy, "selfDeclaredMadeForKids": False}
        if video.publish_at:  # YouTube publishes a scheduled video only from private
            status = {**status, "privacyStatus": "private", "publishAt": video.publish_at}
        body = {"snippet": {"title": video.title, "description": video.description,
                            "tags": video.tags, "categoryId": "20"},  # 20: Gaming
                "status": status}
        response = call(
            self.client, self.auth, "POST",
            f"{self.upload_url}/videos?uploadType=resumable&part=snippet,status",
            "YouTube: starting the upload", content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json; charset=UTF-8",
                     "X-Upload-Content-Length": str(size),
                     "X-Upload-Content-Type": "video/mp4"})
        location = response.headers.get("location")
        if not location:
            raise errors.PublishFailed("YouTube: the upload session has no Location header")
        return location

    def _where(self, uri: str, size: int) -> tuple[dict[str, Any] | None, int | None]:
        """(the video if the upload completed, else None; the offset to resume from, or
        None when the session is gone)."""
        response = call(self.client, self.auth, "PUT", uri, "YouTube: asking the upload "
                        "session where it stands", ok=(200, 201, 308, *GONE),
                        headers={"Content-Range": f"bytes */{size}", "Content-Length": "0"})
        if response.status_code in GONE:
            return None, None
        if response.status_code in (200, 201):
            return response.json(), size
        return None, received(response)

    def _send(self, uri: str, video: Video, size: int, offset: int,
              checkpoint: Checkpoint) -> dict[str, Any]:
        with video.file.open("rb") as f:
            while True:
                if offset >= size:  # all bytes held yet no video: ask the session again
                    raise errors.PlatformUnavailable("YouTube: the upload holds every byte "
                                                     "but has not finished", 1.0)
                f.seek(offset)
                data = f.read(min(self.chunk, size - offset))
                end = offset + len(data) - 1
                response = call(
                    self.client, self.auth, "PUT", uri,
                    f"YouTube: uploading bytes {offset}-{end} of {size}",
                    ok=(200, 201, 308, *GONE), content=data,
                    headers={"Content-Type": "video/mp4",
                             "Content-Range": f"bytes {offset}-{end}/{size}"})
                if response.status_code in (200, 201):
                    return response.json()
                if response.status_code in GONE:  # expired mid-way: no video was made
                    checkpoint.save(upload_uri=None, offset=0)
                    raise errors.PlatformUnavailable("YouTube: the upload session expired; "
                                                     "starting a new one", 0.0)
                offset = received(response)  # what the server holds, not what we sent
                checkpoint.save(offset=offset)

    # The thumbnail ------------------------------------------------------------------
    def _thumbnail(self, video: Video, video_id: str, checkpoint: Checkpoint
                   ) -> dict[str, Any]:
        state = checkpoint.load()
        if not video.thumbnail or not video.thumbnail.exists():
            return {}
        if state.get("thumbnail"):
            return {"thumbnail": state["thumbnail"]}
        try:
            call(self.client, self.auth, "POST",
                 f"{self.upload_url}/thumbnails/set?videoId={video_id}&uploadType=media",
                 "YouTube: setting the thumbnail", content=video.thumbnail.read_bytes(),
                 headers={"Content-Type": "image/jpeg"})
            outcome = "set"
        except errors.PlatformUnavailable:
            raise
        except errors.PublishFailed as exc:
            # Channels without custom-thumbnail rights get 403: the video stands anyway.
            outcome = f"not set: {exc.message}"
        checkpoint.save(thumbnail=outcome)
        return {"thumbnail": outcome}


def received(response: httpx.Response) -> int:
    """The offset after the bytes the server holds (`Range: bytes=0-N`); none yet: 0."""
    match = re.fullmatch(r"bytes=0-(\d+)", response.headers.get("range", "").strip())
    return int(match.group(1)) + 1 if match else 0


def whoami(client: httpx.Client, auth: Credentials, settings: Settings) -> tuple[str, str]:
    """(channel id, channel title) of the account."""
    response = call(client, auth, "GET", f"{settings.youtube_api_url.rstrip('/')}/channels",
                    "YouTube: reading the channel", params={"part": "snippet", "mine": "true"})
    items = response.json().get("items") or []
    if not items:
        raise errors.PublishFailed("YouTube: this Google account has no YouTube channel; "
                                   "create one, then connect again")
    return str(items[0]["id"]), str(items[0]["snippet"]["title"])
