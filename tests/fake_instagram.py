"""The Instagram half of the fake platforms: Facebook Login's token endpoint (code, then
the long-lived token trade) and the Graph API's Reels publishing with resumable upload
(see fake_platforms.py for the server, its controls and the shared plumbing).

It holds the publisher to the documented protocol: the container made with
media_type=REELS and upload_type=resumable; the bytes POSTed to the container's rupload
uri with `Authorization: OAuth <token>`, `offset` and `file_size` headers (a piece may
start at or before what the server holds, never after it); media_publish only once the
container is FINISHED. A cut piece keeps the bytes that arrived.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

GRAPH = "/graph/v21.0"
RUPLOAD = "/rupload/ig-api-upload/v21.0/"
IG_USER = "17841400000000001"
USERNAME = "fakeig"


@dataclass
class Container:
    id: str
    params: dict[str, str]
    size: int | None = None
    data: bytearray = field(default_factory=bytearray)
    status_code: str = "IN_PROGRESS"
    status: str = ""
    checks: int = 0
    media_id: str | None = None


def graph_error(message: str, code: int, subcode: int | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code,
                      **({"error_subcode": subcode} if subcode else {}),
                      "fbtrace_id": "fake"}}


class InstagramRoutes:
    """Mixed into the request handler: `self.fake`, `_send`, `_body`, `_fault` are its."""

    def _instagram(self, method: str, path: str, query: dict[str, str]) -> None:
        if path == "/facebook/auth":
            return self._authorize("instagram", query)
        if path == "/facebook/token":
            return self._facebook_token(query)
        if not self._authorized("instagram"):
            return None
        if path.startswith(RUPLOAD) and method == "POST":
            return self._ig_upload(path.removeprefix(RUPLOAD))
        if method == "POST":
            query = {**query, **{k: v[0] for k, v in parse_qs(self._body().decode()).items()}}
        parts = path.removeprefix(GRAPH + "/").split("/")
        if parts == ["me", "accounts"]:
            return self._send(200, {"data": [{"id": "1020", "name": "Fake Page",
                                              "instagram_business_account": {
                                                  "id": IG_USER, "username": USERNAME}}]})
        if parts == [IG_USER, "media"]:
            return self._ig_container(query) if method == "POST" else self._ig_list()
        if parts == [IG_USER, "media_publish"] and method == "POST":
            return self._ig_publish(query)
        if len(parts) == 1 and parts[0] in self.fake.ig_containers:
            return self._ig_status(self.fake.ig_containers[parts[0]])
        media = {m["id"]: m for m in self.fake.ig_media}
        if len(parts) == 1 and parts[0] in media:
            return self._send(200, {"id": parts[0], "permalink": media[parts[0]]["permalink"]})
        self._send(400, graph_error(f"Unsupported request {method} {path}", 100))

    def _facebook_token(self, query: dict[str, str]) -> None:
        form = {**query, **{k: v[0] for k, v in parse_qs(self._body().decode()).items()}}
        app_id, secret = self.fake.clients["instagram"]
        if form.get("client_id") != app_id or form.get("client_secret") != secret:
            return self._send(400, graph_error("Error validating client secret.", 1))
        with self.fake.lock:
            if form.get("grant_type") == "authorization_code":
                if not self._code_ok("instagram", form):
                    return self._send(400, graph_error("Invalid verification code format.",
                                                       100))
                return self._send(200, self._fb_token(3600))
            given = form.get("fb_exchange_token", "")
            if form.get("grant_type") != "fb_exchange_token" or "instagram" in \
                    self.fake.revoked or self.fake.access.get(given) != "instagram":
                return self._send(400, graph_error("Error validating access token: the "
                                                   "session is invalid", 190, 460))
            self.fake.refreshes += 1
            self.fake.access.pop(given)  # the old one is replaced
            self._send(200, self._fb_token(60 * 24 * 3600))

    def _fb_token(self, lifetime: int) -> dict[str, Any]:
        token = secrets.token_urlsafe(16)
        self.fake.access[token] = "instagram"
        return {"access_token": token, "token_type": "bearer", "expires_in": lifetime}

    def _ig_container(self, query: dict[str, str]) -> None:
        if self._fault("ig.container"):
            return
        if query.get("media_type") != "REELS" or query.get("upload_type") != "resumable":
            return self._send(400, graph_error("media_type=REELS and upload_type=resumable "
                                               "are expected here", 100))
        container = Container(str(secrets.randbelow(10**17) + 18 * 10**15), query)
        self.fake.ig_containers[container.id] = container
        self.fake._pause("ig.container")
        self._send(200, {"id": container.id, "uri": f"{self.fake.url}{RUPLOAD}{container.id}"})

    def _ig_upload(self, container_id: str) -> None:
        container = self.fake.ig_containers.get(container_id)
        if container is None:
            self._body()
            return self._send(400, graph_error("no such container", 100))
        if not (self.headers.get("Authorization") or "").startswith("OAuth "):
            self._body()
            return self._send(400, graph_error("Authorization: OAuth <token> is required", 190))
        offset, size = self.headers.get("offset"), self.headers.get("file_size")
        if offset is None or size is None or (container.size not in (None, int(size))):
            self._body()
            return self._send(400, {"debug_info": {"retriable": False, "type":
                                                   "ProcessingFailedError", "message":
                                                   "offset and file_size headers are needed"}})
        start = int(offset)
        container.size = int(size)

        def keep(half: bytes) -> None:  # what arrived before a cut stays
            if start <= len(container.data):
                container.data[start:start + len(half)] = half
        with self.fake.lock:
            for fault in self.fake.faults.get("ig.upload", [])[:1]:
                fault["keep"] = keep
        self.fake.log.append({"step": "ig.piece", "offset": start})
        if self._fault("ig.upload"):
            return None
        data = self._body()
        if start > len(container.data):
            return self._send(400, {"debug_info": {"retriable": False, "type":
                                                   "ProcessingFailedError", "message":
                                                   f"offset {start} is past the bytes held "
                                                   f"({len(container.data)})"}})
        container.data[start:start + len(data)] = data
        if len(container.data) >= container.size:
            container.status_code = "ERROR" if self.fake.ig_reject else "IN_PROGRESS"
            container.status = "Error: 2207026: the video format is not supported" \
                if self.fake.ig_reject else ""
        elif start == 0:
            self.fake._pause("ig.upload")
        self._send(200, {"success": True, "message": "Upload successful."})

    def _ig_status(self, container: Container) -> None:
        if self._fault("ig.status"):
            return
        complete = container.size is not None and len(container.data) >= container.size
        if complete and container.status_code == "IN_PROGRESS":
            container.checks += 1  # processing is seen once before it is done
            if container.checks >= 2:
                container.status_code = "FINISHED"
        self._send(200, {"id": container.id, "status_code": container.status_code,
                         "status": container.status or container.status_code})

    def _ig_publish(self, query: dict[str, str]) -> None:
        if self._fault("ig.publish"):
            return
        container = self.fake.ig_containers.get(query.get("creation_id", ""))
        if container is None or container.status_code != "FINISHED":
            return self._send(400, graph_error("The media is not ready for publishing, "
                                               "please wait for a moment", 9007, 2207027))
        media_id = str(secrets.randbelow(10**17) + 17 * 10**15)
        container.status_code, container.media_id = "PUBLISHED", media_id
        self.fake.ig_media.append({
            "id": media_id, "container": container.id, "caption": container.params.get(
                "caption", ""), "media_product_type": "REELS",
            "share_to_feed": container.params.get("share_to_feed"),
            "thumb_offset": container.params.get("thumb_offset"),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime()),
            "permalink": f"https://www.instagram.com/reel/{secrets.token_urlsafe(8)}/",
            "bytes": bytes(container.data)})
        self.fake._pause("ig.publish")
        self._send(200, {"id": media_id})

    def _ig_list(self) -> None:
        fields = ("id", "caption", "media_product_type", "timestamp", "permalink")
        self._send(200, {"data": [{k: m[k] for k in fields}
                                  for m in reversed(self.fake.ig_media)]})
