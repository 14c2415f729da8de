"""X: the v2 chunked media upload, then a post carrying the media.

Media (docs.x.com, X API v2 media upload):
  POST /2/media/upload/initialize  {media_type, total_bytes, media_category} → data.id
  POST /2/media/upload/{id}/append multipart: segment_index, media (≤ 5 MB a segment)
  POST /2/media/upload/{id}/finalize → data.processing_info
  GET  /2/media/upload?command=STATUS&media_id={id} until processing_info.state succeeded
Post: POST /2/tweets {"text", "media": {"media_ids": [id]}} → data.id

Exactly once: the media id is saved before the first APPEND and each appended segment
after it is acknowledged, so a restart resumes at the next segment. `posting` is saved
before POST /2/tweets; a restart that finds it looks through the account's recent posts
(GET /2/users/{id}/tweets with the attachments.media_keys expansion) for one carrying our
media before it posts, so a post whose answer was lost is found, not made again.
"""

from __future__ import annotations

import math
import time
from typing import Any

import httpx

from clipforge import errors
from clipforge.config import Settings
from clipforge.publish.base import Checkpoint, Published, Video, call
from clipforge.publish.oauth import Credentials

MAX_SEGMENT = 5 * 1024 * 1024
PROCESSING_LIMIT = 600.0  # seconds of STATUS polling before giving up (retried later)


class X:
    platform = "x"

    def __init__(self, client: httpx.Client, auth: Credentials, settings: Settings,
                 user_id: str, username: str) -> None:
        self.client, self.auth = client, auth
        self.api = settings.x_api_url.rstrip("/")
        self.segment = max(1, min(settings.x_chunk_bytes, MAX_SEGMENT))
        self.user_id, self.username = user_id, username

    def publish(self, video: Video, checkpoint: Checkpoint) -> Published:
        state = checkpoint.load()
        post_id = state.get("post_id")
        if not post_id:
            media_id = self._media(video, checkpoint, state)
            post_id = self._post(video, media_id, checkpoint, state)
        return Published(str(post_id), f"https://x.com/{self.username}/status/{post_id}")

    # The media ------------------------------------------------------------------------
    def _media(self, video: Video, checkpoint: Checkpoint, state: dict[str, Any]) -> str:
        media_id = state.get("media_id")
        if media_id and state.get("media_ready"):
            return str(media_id)
        if not media_id or float(state.get("media_expires_at", 0)) < time.time() + 60:
            media_id = self._initialize(video, checkpoint)
            state = checkpoint.load()
        size = video.size
        with video.file.open("rb") as f:
            for index in range(int(state.get("segments", 0)), math.ceil(size / self.segment)):
                f.seek(index * self.segment)
                self._append(media_id, index, f.read(self.segment))
                checkpoint.save(segments=index + 1)
        self._finalize(media_id)
        checkpoint.save(media_ready=True)
        return media_id

    def _initialize(self, video: Video, checkpoint: Checkpoint) -> str:
        response = call(self.client, self.auth, "POST",
                        f"{self.api}/media/upload/initialize", "X: starting the media upload",
                        json={"media_type": "video/mp4", "total_bytes": video.size,
                              "media_category": "tweet_video"})
        data = response.json()["data"]
        media_id = str(data["id"])
        expires = time.time() + float(data.get("expires_after_secs", 3600))
        checkpoint.save(media_id=media_id, media_key=data.get("media_key"), segments=0,
                        media_ready=False, media_expires_at=expires, posting=False)
        return media_id

    def _append(self, media_id: str, index: int, data: bytes) -> None:
        call(self.client, self.auth, "POST", f"{self.api}/media/upload/{media_id}/append",
             f"X: uploading segment {index} of media {media_id}", ok=(200, 201, 202, 204),
             data={"segment_index": str(index)},
             files={"media": ("segment", data, "application/octet-stream")})

    def _finalize(self, media_id: str) -> None:
        response = call(self.client, self.auth, "POST",
                        f"{self.api}/media/upload/{media_id}/finalize",
                        f"X: finishing media {media_id}")
        info = response.json().get("data", {}).get("processing_info")
        waited = 0.0
        while info and info.get("state") in ("pending", "in_progress"):
            pause = float(info.get("check_after_secs", 1))
            if waited + pause > PROCESSING_LIMIT:
                raise errors.PlatformUnavailable(f"X: media {media_id} is still processing "
                                                 f"after {waited:.0f} s")
            time.sleep(pause)
            waited += pause
            info = call(self.client, self.auth, "GET", f"{self.api}/media/upload",
                        f"X: checking media {media_id}",
                        params={"command": "STATUS", "media_id": media_id}
                        ).json().get("data", {}).get("processing_info")
        if info and info.get("state") == "failed":
            problem = info.get("error", {}).get("message", "processing failed")
            raise errors.PublishFailed(f"X: the video was refused: {problem}")

    # The post -------------------------------------------------------------------------
    def _post(self, video: Video, media_id: str, checkpoint: Checkpoint,
              state: dict[str, Any]) -> str:
        if state.get("posting"):
            found = self._find_post(media_id)
            if found:
                checkpoint.save(post_id=found)
                return found
        checkpoint.save(posting=True)
        response = call(self.client, self.auth, "POST", f"{self.api}/tweets",
                        "X: posting", json={"text": video.text,
                                            "media": {"media_ids": [media_id]}})
        post_id = str(response.json()["data"]["id"])
        checkpoint.save(post_id=post_id)
        return post_id

    def _find_post(self, media_id: str) -> str | None:
        """A post of ours carrying this media: made before a crash lost its answer."""
        response = call(self.client, self.auth, "GET",
                        f"{self.api}/users/{self.user_id}/tweets", "X: looking for the post",
                        params={"max_results": "20", "expansions": "attachments.media_keys",
                                "tweet.fields": "attachments,created_at"})
        for post in response.json().get("data", []):
            keys = post.get("attachments", {}).get("media_keys", [])
            if any(key.rpartition("_")[2] == media_id for key in keys):
                return str(post["id"])
        return None


def whoami(client: httpx.Client, auth: Credentials, settings: Settings) -> tuple[str, str]:
    """(user id, user name) of the account."""
    data = call(client, auth, "GET", f"{settings.x_api_url.rstrip('/')}/users/me",
                "X: reading the account").json()["data"]
    return str(data["id"]), str(data["username"])
