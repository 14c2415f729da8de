"""Instagram Reels through the Instagram Graph API (Facebook Login for Business).

1. POST /{ig-user-id}/media media_type=REELS, upload_type=resumable, caption,
   share_to_feed, thumb_offset (the cover frame, in ms) → the container's id and its
   upload `uri` (https://rupload.facebook.com/ig-api-upload/{version}/{container-id}).
   Both are saved BEFORE any byte is sent.
2. POST the bytes to that uri with `Authorization: OAuth <token>`, `offset` (where this
   piece starts) and `file_size` (the whole file's), piece by piece; each acknowledged
   piece's end is saved, and a retry sends again from there (a piece cut half way is
   sent again whole: the offset says where it goes).
3. GET /{container-id}?fields=status_code,status until FINISHED (ERROR: the video was
   refused, with the reason in `status`; EXPIRED: not published within 24 hours).
4. POST /{ig-user-id}/media_publish?creation_id={container-id} → the Reel's media id;
   GET /{media-id}?fields=permalink for its address.

Exactly once: `posting` is saved before media_publish. A restart that finds it asks the
container first: PUBLISHED means the Reel exists, and it is looked up among the
account's recent media (same caption, made since `posting`); anything else means
media_publish never took effect, and it is sent again. The Graph API has no scheduled
Reels: a scheduled clip is posted at once.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from clipforge import errors
from clipforge.config import Settings
from clipforge.publish.base import Checkpoint, Published, Video, call, posted_at_once
from clipforge.publish.oauth import Credentials

MiB = 1024 * 1024
MIN_SECONDS, MAX_SECONDS = 3.0, 900.0  # Reels through the API: 3 s to 15 min
MAX_SIZE = 300 * MiB
CAPTION_MAX, HASHTAGS_MAX = 2200, 30
CONTAINER_LIFETIME = 24 * 3600.0  # an unpublished container expires after a day
PROCESSING_LIMIT = 600.0  # seconds of status polling before giving up (retried later)


class Instagram:
    platform = "instagram"

    def __init__(self, client: httpx.Client, auth: Credentials, settings: Settings,
                 user_id: str, username: str) -> None:
        self.client, self.auth = client, auth
        self.api = settings.instagram_api_url.rstrip("/")
        self.piece = max(1, settings.instagram_chunk_bytes)
        self.poll = max(0.0, settings.publish_poll_seconds)
        self.user_id, self.username = user_id, username

    def publish(self, video: Video, checkpoint: Checkpoint) -> Published:
        state = checkpoint.load()
        if not state.get("media_id"):
            found = self._find_post(video, state) if state.get("posting") else None
            if found is None:
                self._container(video, checkpoint, state)
                self._upload(video, checkpoint)
                if self._wait(checkpoint) != "PUBLISHED":
                    found = self._publish(checkpoint)
                else:  # published already: by us, before a crash lost the answer
                    found = self._find_post(video, checkpoint.load())
                if found is None:
                    raise errors.PlatformUnavailable("Instagram: the Reel is published but "
                                                     "not listed yet", 5.0)
            checkpoint.save(media_id=found)
        return posted_at_once(self._published(checkpoint), video, "Instagram")

    # The container ----------------------------------------------------------------------
    def _container(self, video: Video, checkpoint: Checkpoint, state: dict[str, Any]) -> None:
        if state.get("container_id") and \
                float(state.get("container_expires_at", 0)) > time.time() + 3600:
            return
        check(video, self.username)
        response = call(self.client, self.auth, "POST", f"{self.api}/{self.user_id}/media",
                        "Instagram: making the Reel's container", params={
                            "media_type": "REELS", "upload_type": "resumable",
                            "caption": video.text,
                            "share_to_feed": str(video.options.get("share_to_feed", True))
                            .lower(), "thumb_offset": str(int(video.cover_at * 1000))})
        body = response.json()
        checkpoint.save(container_id=str(body["id"]), upload_uri=body["uri"],
                        container_expires_at=time.time() + CONTAINER_LIFETIME, offset=0,
                        uploaded=False, posting=False)

    def _upload(self, video: Video, checkpoint: Checkpoint) -> None:
        state = checkpoint.load()
        if state.get("uploaded"):
            return
        size, offset = video.size, int(state.get("offset", 0))
        with video.file.open("rb") as f:
            while offset < size:
                f.seek(offset)
                data = f.read(min(self.piece, size - offset))
                response = call(self.client, self.auth, "POST", state["upload_uri"],
                                f"Instagram: uploading bytes {offset}-"
                                f"{offset + len(data) - 1} of {size}", scheme="OAuth",
                                content=data, headers={"offset": str(offset),
                                                       "file_size": str(size)})
                if not response.json().get("success"):
                    raise errors.PlatformUnavailable(
                        f"Instagram: the upload at byte {offset} was not taken "
                        f"({response.text[:200]})")
                offset += len(data)
                checkpoint.save(offset=offset)
        checkpoint.save(uploaded=True)

    def _wait(self, checkpoint: Checkpoint) -> str:
        container = str(checkpoint.load()["container_id"])
        waited = 0.0
        while True:
            body = self._container_status(container)
            code = body.get("status_code")
            if code in ("FINISHED", "PUBLISHED"):
                return str(code)
            if code == "ERROR":  # this container can never be published: a new one next time
                checkpoint.save(container_id=None, uploaded=False, offset=0)
                reason = body.get("status") or "no reason given"
                raise errors.PublishFailed(
                    f"Instagram: the video was refused ({reason}); check it against the Reels "
                    "specifications, then publish again")
            if code == "EXPIRED":  # a new container next time; this one made no Reel
                checkpoint.save(container_id=None, uploaded=False, offset=0)
                raise errors.PlatformUnavailable("Instagram: the container expired before "
                                                 "it was published; starting again", 0.0)
            if waited >= PROCESSING_LIMIT:
                raise errors.PlatformUnavailable(f"Instagram: container {container} is still "
                                                 f"{code} after {waited:.0f} s")
            time.sleep(self.poll)
            waited += max(self.poll, 0.01)

    def _container_status(self, container: str) -> dict[str, Any]:
        response = call(self.client, self.auth, "GET", f"{self.api}/{container}",
                        f"Instagram: checking container {container}",
                        params={"fields": "status_code,status"})
        body = response.json()
        return body if isinstance(body, dict) else {}

    # The post --------------------------------------------------------------------------
    def _publish(self, checkpoint: Checkpoint) -> str:
        container = str(checkpoint.load()["container_id"])
        checkpoint.save(posting=True, posting_at=time.time())
        response = call(self.client, self.auth, "POST",
                        f"{self.api}/{self.user_id}/media_publish", "Instagram: publishing "
                        "the Reel", params={"creation_id": container})
        media_id = str(response.json()["id"])
        checkpoint.save(media_id=media_id)
        return media_id

    def _find_post(self, video: Video, state: dict[str, Any]) -> str | None:
        """Our Reel, if media_publish took effect before a crash lost its answer."""
        container = state.get("container_id")
        if not container or self._container_status(str(container)).get("status_code") \
                != "PUBLISHED":
            return None
        since = float(state.get("posting_at", 0)) - 300  # clocks differ a little
        response = call(self.client, self.auth, "GET", f"{self.api}/{self.user_id}/media",
                        "Instagram: looking for the Reel", params={
                            "fields": "id,caption,media_product_type,timestamp",
                            "limit": "25"})
        for media in response.json().get("data", []):
            made = _epoch(str(media.get("timestamp", "")))
            if media.get("caption", "") == video.text and made >= since:
                return str(media["id"])
        return None

    def _published(self, checkpoint: Checkpoint) -> Published:
        state = checkpoint.load()
        media_id = str(state["media_id"])
        link = state.get("permalink")
        if not link:
            link = call(self.client, self.auth, "GET", f"{self.api}/{media_id}",
                        "Instagram: reading the Reel's address",
                        params={"fields": "permalink"}).json().get("permalink") or \
                f"https://www.instagram.com/{self.username}/reels/"
            checkpoint.save(permalink=link)
        return Published(media_id, str(link))


def check(video: Video, username: str) -> None:
    """Instagram's limits for a Reel, in words, before a byte is sent."""
    name = f"Instagram account {username}"
    if not MIN_SECONDS <= video.duration <= MAX_SECONDS:
        raise errors.PublishFailed(
            f"{name}: the clip is {video.duration:.1f} s long; Reels made through the API "
            f"are {MIN_SECONDS:.0f} s to {MAX_SECONDS / 60:.0f} min. Change its bounds, "
            "then publish again")
    if video.size > MAX_SIZE:
        raise errors.PublishFailed(f"{name}: the clip is {video.size / MiB:.0f} MB; Reels "
                                   f"take at most {MAX_SIZE // MiB} MB")
    if len(video.text) > CAPTION_MAX:
        raise errors.PublishFailed(f"{name}: the caption has {len(video.text)} characters; "
                                   f"Instagram takes at most {CAPTION_MAX}")
    tags = video.text.count("#")
    if tags > HASHTAGS_MAX:
        raise errors.PublishFailed(f"{name}: the caption has {tags} hashtags; Instagram "
                                   f"takes at most {HASHTAGS_MAX}")


def _epoch(stamp: str) -> float:
    try:  # the Graph API writes 2026-11-30T12:00:00+0000
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return 0.0


def whoami(client: httpx.Client, auth: Credentials, settings: Settings) -> tuple[str, str]:
    """(Instagram user id, user name) of the professional account linked to the first of
    the person's Facebook Pages that has one."""
    response = call(client, auth, "GET", f"{settings.instagram_api_url.rstrip('/')}/me/"
                    "accounts", "Instagram: reading the account", params={
                        "fields": "name,instagram_business_account{id,username}"})
    for page in response.json().get("data", []):
        account = page.get("instagram_business_account")
        if account:
            return str(account["id"]), str(account.get("username") or account["id"])
    raise errors.PublishFailed("Instagram: none of this person's Facebook Pages is linked to "
                               "an Instagram professional account; link one in Instagram's "
                               "settings, then connect again")
