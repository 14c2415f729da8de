"""The X half of the fake platforms: the v2 media upload and posts (see
fake_platforms.py for the server, its controls and the shared plumbing)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Media:
    size: int
    segments: dict[int, bytes] = field(default_factory=dict)
    data: bytes | None = None
    status_checks: int = 0


class XRoutes:
    """Mixed into the request handler: `self.fake`, `_send`, `_body`, `_fault` are its."""

    def _media_init(self) -> None:
        if self._fault("x.init"):
            return
        body = json.loads(self._body())
        assert body["media_type"] == "video/mp4" and body["media_category"] == "tweet_video"
        media_id = str(secrets.randbelow(10**18) + 10**18)
        self.fake.media[media_id] = Media(int(body["total_bytes"]))
        self.fake._pause("x.init")
        self._send(200, {"data": {"id": media_id, "media_key": f"7_{media_id}",
                                  "expires_after_secs": 86400}})

    def _append(self, media_id: str) -> None:
        if self._fault("x.append"):
            return
        media = self.fake.media.get(media_id)
        fields = _multipart(self.headers["Content-Type"], self._body())
        if media is None:
            return self._send(400, {"errors": [{"message": "invalid media id"}]})
        index = int(fields["segment_index"])
        media.segments[index] = fields["media"]
        if index == 0:
            self.fake._pause("x.append")
        self._send(200, {"data": {"expires_at": 0}})

    def _finalize(self, media_id: str) -> None:
        if self._fault("x.finalize"):
            return
        self._body()
        media = self.fake.media[media_id]
        media.data = b"".join(media.segments[i] for i in sorted(media.segments))
        if len(media.data) != media.size:
            return self._send(400, {"errors": [{"message": "size mismatch"}]})
        self._send(200, {"data": {"id": media_id, "media_key": f"7_{media_id}",
                                  "size": media.size, "processing_info": {
                                      "state": "pending", "check_after_secs": 0}}})

    def _media_status(self, query: dict[str, str]) -> None:
        assert query["command"] == "STATUS"
        media = self.fake.media[query["media_id"]]
        media.status_checks += 1
        state = "in_progress" if media.status_checks < 2 else "succeeded"
        self._send(200, {"data": {"id": query["media_id"], "processing_info": {
            "state": state, "check_after_secs": 0, "progress_percent": 50}}})

    def _tweet(self) -> None:
        if self._fault("x.tweet"):
            return
        body = json.loads(self._body())
        media_ids = body.get("media", {}).get("media_ids", [])
        for media_id in media_ids:
            media = self.fake.media.get(media_id)
            if media is None or media.data is None or media.status_checks < 2:
                return self._send(400, {"errors": [{"message": "media not ready"}]})
        post = {"id": str(secrets.randbelow(10**18) + 10**18), "text": body["text"],
                "attachments": {"media_keys": [f"7_{m}" for m in media_ids]}}
        self.fake.posts.append(post)
        self.fake._pause("x.tweet")
        self._send(201, {"data": {"id": post["id"], "text": post["text"]}})

    def _timeline(self, query: dict[str, str]) -> None:
        with_media = "attachments.media_keys" in query.get("expansions", "")
        posts = [dict(p) if with_media else {"id": p["id"], "text": p["text"]}
                 for p in reversed(self.fake.posts)]
        keys = [k for p in posts for k in p.get("attachments", {}).get("media_keys", [])]
        self._send(200, {"data": posts, "includes": {"media": [
            {"media_key": k, "type": "video"} for k in keys]},
            "meta": {"result_count": len(posts)}})



def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """multipart/form-data fields: text as str, the `media` file as bytes."""
    boundary = content_type.split("boundary=")[1].strip('"').encode()
    fields: dict[str, Any] = {}
    for part in body.split(b"--" + boundary)[1:-1]:
        head, _, content = part[2:].partition(b"\r\n\r\n")
        name = head.decode().split('name="')[1].split('"')[0]
        value = content[:-2]  # the CRLF before the next boundary
        fields[name] = value if name == "media" else value.decode()
    return fields
