"""TikTok through the Content Posting API (developers.tiktok.com).

1. POST /v2/post/publish/creator_info/query/: the privacy levels the creator may post
   with and the longest video they may post; checked, with the caption and the size,
   before anything is uploaded.
2. POST /v2/post/publish/video/init/ (direct post: post_info + source_info) or
   /v2/post/publish/inbox/video/init/ (a draft in the creator's inbox), source
   FILE_UPLOAD with video_size, chunk_size and total_chunk_count → publish_id and
   upload_url. Both are saved BEFORE any byte is sent.
3. PUT each chunk to upload_url in order, `Content-Range: bytes a-b/SIZE`: 206 until the
   last, 201 then. Chunks are 5-64 MB; total_chunk_count is SIZE // chunk_size, so the
   last chunk takes the trailing bytes (up to 128 MB); a file under 5 MB is one chunk.
4. POST /v2/post/publish/status/fetch/ {publish_id} until PUBLISH_COMPLETE (direct),
   SEND_TO_USER_INBOX (draft) or FAILED (with fail_reason).

Exactly once: a restart asks status/fetch about the saved publish_id first. Done: that
is our post. Still uploading: go on from the bytes TikTok says it holds, on the same
upload_url. Failed before every byte was sent: that attempt made no post, start again.
TikTok has no scheduled posts in this API: a scheduled clip is posted at once.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from clipforge import errors
from clipforge.config import Settings
from clipforge.publish.base import Checkpoint, Published, Video, call, posted_at_once
from clipforge.publish.oauth import Credentials

MiB = 1024 * 1024
MIN_CHUNK, MAX_CHUNK, MAX_CHUNKS = 5 * MiB, 64 * MiB, 1000
MAX_SIZE = 4 * 1024 * MiB  # TikTok takes videos up to 4 GB
CAPTION_MAX = 2200
UPLOAD_URL_LIFETIME = 3600.0  # seconds an upload_url stays valid
DONE = ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX")
PROCESSING_LIMIT = 600.0  # seconds of status polling before giving up (retried later)


def chunking(size: int, wanted: int) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) by TikTok's rules for a file of `size` bytes."""
    if size < MIN_CHUNK:
        return size, 1
    chunk = min(max(wanted, MIN_CHUNK), MAX_CHUNK)
    if size // chunk > MAX_CHUNKS:
        chunk = -(-size // MAX_CHUNKS)
    count = size // chunk
    if count <= 1:  # one chunk, unless the file is over 64 MB
        return (size // 2, 2) if size > MAX_CHUNK else (size, 1)
    return chunk, count


class TikTok:
    platform = "tiktok"

    def __init__(self, client: httpx.Client, auth: Credentials, settings: Settings,
                 username: str) -> None:
        self.client, self.auth, self.username = client, auth, username
        self.api = settings.tiktok_api_url.rstrip("/")
        self.chunk = settings.tiktok_chunk_bytes
        self.poll = max(0.0, settings.publish_poll_seconds)

    def publish(self, video: Video, checkpoint: Checkpoint) -> Published:
        state = checkpoint.load()
        if state.get("post_id"):
            return posted_at_once(self._published(state), video, "TikTok")
        status = self._status(state["publish_id"]) if state.get("publish_id") else None
        if status is None or self._dead(status, state, video.size):
            self._check(video)
            self._init(video, checkpoint)
            state, status = checkpoint.load(), None
        if not state.get("uploaded"):
            held = int(status.get("uploaded_bytes") or 0) if status else 0
            if status and status.get("status") in DONE:
                held = video.size
            self._send(video, checkpoint, state, held)
        return posted_at_once(self._wait(checkpoint), video, "TikTok")

    # Before the upload ---------------------------------------------------------------
    def _check(self, video: Video) -> None:
        """The creator's and TikTok's limits, in words, before a byte is sent."""
        info = creator_info(self.client, self.auth, self.api)
        name = f"TikTok account @{info.get('creator_username') or self.username}"
        longest = int(info.get("max_video_post_duration_sec") or 0)
        if longest and video.duration > longest:
            raise errors.PublishFailed(
                f"{name}: the clip is {video.duration:.0f} s long; this creator may post "
                f"videos of at most {longest} s. Trim the clip, then publish again")
        if video.size > MAX_SIZE:
            raise errors.PublishFailed(f"{name}: the clip is {video.size / MiB:.0f} MB; "
                                       "TikTok takes at most 4 GB")
        if len(video.text) > CAPTION_MAX:
            raise errors.PublishFailed(f"{name}: the caption has {len(video.text)} "
                                       f"characters; TikTok takes at most {CAPTION_MAX}")
        allowed = info.get("privacy_level_options") or []
        privacy = video.options.get("privacy", "SELF_ONLY")
        if video.options.get("mode") != "draft" and privacy not in allowed:
            raise errors.PublishFailed(
                f"{name}: privacy {privacy} is not one this creator may post with "
                f"({', '.join(allowed) or 'none'}); change the streamer's TikTok privacy")

    def _init(self, video: Video, checkpoint: Checkpoint) -> None:
        size = video.size
        chunk, count = chunking(size, self.chunk)
        source = {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk,
                  "total_chunk_count": count}
        if video.options.get("mode") == "draft":
            path, body = "post/publish/inbox/video/init/", {"source_info": source}
        else:
            path, body = "post/publish/video/init/", {"source_info": source, "post_info": {
                "title": video.text, "privacy_level": video.options.get("privacy"),
                "disable_comment": False, "disable_duet": False, "disable_stitch": False,
                "video_cover_timestamp_ms": int(video.cover_at * 1000)}}
        data = _data(call(self.client, self.auth, "POST", f"{self.api}/{path}",
                          "TikTok: starting the upload", json=body,
                          headers={"Content-Type": "application/json; charset=UTF-8"}),
                     "TikTok: starting the upload")
        checkpoint.save(publish_id=data["publish_id"], upload_url=data["upload_url"],
                        upload_expires_at=time.time() + UPLOAD_URL_LIFETIME,
                        chunk_size=chunk, chunks=count, chunks_sent=0, uploaded=False)

    # The upload ----------------------------------------------------------------------
    def _send(self, video: Video, checkpoint: Checkpoint, state: dict[str, Any],
              held: int) -> None:
        size, chunk, count = video.size, int(state["chunk_size"]), int(state["chunks"])
        with video.file.open("rb") as f:
            for index in range(min(held // chunk, count), count):
                start = index * chunk
                end = size if index == count - 1 else start + chunk
                f.seek(start)
                call(self.client, None, "PUT", state["upload_url"],
                     f"TikTok: uploading chunk {index + 1} of {count} (bytes {start}-"
                     f"{end - 1} of {size})", ok=(200, 201, 206), content=f.read(end - start),
                     headers={"Content-Type": "video/mp4",
                              "Content-Range": f"bytes {start}-{end - 1}/{size}"})
                checkpoint.save(chunks_sent=index + 1)
        checkpoint.save(uploaded=True)

    def _dead(self, status: dict[str, Any], state: dict[str, Any], size: int) -> bool:
        """The saved attempt made no post and never will: it FAILED (say TikTok refused
        the video, and the clip was fixed since), or its upload_url ran out before TikTok
        held every byte. Start a new one."""
        if status.get("status") == "FAILED":
            return True
        held = int(status.get("uploaded_bytes") or 0)
        if state.get("uploaded") or held >= size or status.get("status") in DONE:
            return False
        return float(state.get("upload_expires_at", 0)) < time.time() + 60

    # After it ---------------------------------------------------------------------------
    def _status(self, publish_id: str) -> dict[str, Any]:
        return _data(call(self.client, self.auth, "POST",
                          f"{self.api}/post/publish/status/fetch/",
                          f"TikTok: checking post {publish_id}", json={
                              "publish_id": publish_id},
                          headers={"Content-Type": "application/json; charset=UTF-8"}),
                     "TikTok: checking the post")

    def _wait(self, checkpoint: Checkpoint) -> Published:
        publish_id = str(checkpoint.load()["publish_id"])
        waited = 0.0
        while True:
            status = self._status(publish_id)
            state = status.get("status")
            if state == "FAILED":
                reason = status.get("fail_reason") or "no reason given"
                raise errors.PublishFailed(
                    f"TikTok: the video was refused ({reason}); check it against TikTok's "
                    "video rules, then publish again")
            if state in DONE:
                ids = status.get("publicaly_available_post_id") or []  # TikTok's spelling
                checkpoint.save(post_id=str(ids[0]) if ids else publish_id,
                                post_state=state)
                return self._published(checkpoint.load())
            if waited >= PROCESSING_LIMIT:
                raise errors.PlatformUnavailable(f"TikTok: post {publish_id} is still "
                                                 f"{state} after {waited:.0f} s")
            time.sleep(self.poll)
            waited += max(self.poll, 0.01)

    def _published(self, state: dict[str, Any]) -> Published:
        post_id, profile = str(state["post_id"]), f"https://www.tiktok.com/@{self.username}"
        if state.get("post_state") == "SEND_TO_USER_INBOX":
            return Published(post_id, profile, {"tiktok": "sent to the creator's TikTok "
                                                "inbox as a draft: they finish the post"})
        if post_id == state.get("publish_id"):  # public ids come after TikTok's moderation
            return Published(post_id, profile, {"tiktok": "posted; TikTok names the post "
                                                "once its moderation is done"})
        return Published(post_id, f"{profile}/video/{post_id}")


def _data(response: httpx.Response, what: str) -> dict[str, Any]:
    body = response.json()
    error = body.get("error") or {}
    if error.get("code", "ok") != "ok":
        raise errors.PublishFailed(f"{what}: TikTok refused it ({error.get('code')}: "
                                   f"{error.get('message', '')})")
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def creator_info(client: httpx.Client, auth: Credentials, api: str) -> dict[str, Any]:
    return _data(call(client, auth, "POST", f"{api}/post/publish/creator_info/query/",
                      "TikTok: reading the creator's settings", json={},
                      headers={"Content-Type": "application/json; charset=UTF-8"}),
                 "TikTok: reading the creator's settings")


def whoami(client: httpx.Client, auth: Credentials, settings: Settings) -> tuple[str, str]:
    """(user name, user name) of the account: creator_info names the creator."""
    info = creator_info(client, auth, settings.tiktok_api_url.rstrip("/"))
    name = str(info.get("creator_username") or "")
    if not name:
        raise errors.PublishFailed("TikTok: the account has no creator name; is it allowed "
                                   "to post through apps?")
    return name, name
