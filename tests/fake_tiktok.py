"""The TikTok half of the fake platforms: Login Kit's token endpoint and the Content
Posting API (see fake_platforms.py for the server, its controls and the shared plumbing).

It holds the publisher to the documented rules: init's source_info (FILE_UPLOAD,
video_size, chunk_size, total_chunk_count = video_size // chunk_size; chunks of 5-64 MB,
the last one up to 128 MB with the trailing bytes; a file under 5 MB in one chunk; at
most 1000 chunks), the chunks PUT in order to upload_url with a Content-Range naming
exactly that chunk (206, then 201 for the last), post_info's privacy among the creator's
options. A cut chunk keeps nothing: it must be sent again whole.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

MiB = 1024 * 1024
API = "/tiktok/v2"


@dataclass
class Upload:
    publish_id: str
    token: str
    size: int
    chunk: int
    count: int
    mode: str  # direct or draft
    post_info: dict[str, Any]
    data: bytearray = field(default_factory=bytearray)
    status: str = "PROCESSING_UPLOAD"
    fail_reason: str = ""
    post_id: str | None = None
    checks_after: int = 0  # status checks since the last byte arrived


def ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"data": data, "error": {"code": "ok", "message": "", "log_id": "fake-log"}}


def error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "log_id": "fake-log"}}


class TikTokRoutes:
    """Mixed into the request handler: `self.fake`, `_send`, `_body`, `_fault` are its."""

    def _tiktok(self, method: str, path: str, query: dict[str, str]) -> None:
        if path == "/tiktok/auth":
            return self._authorize("tiktok", query)
        if path == "/tiktok/token":
            return self._tiktok_token()
        if path == "/tiktok/upload/" and method == "PUT":
            return self._tiktok_chunk(query)
        if not self._authorized("tiktok"):
            return None
        if path == f"{API}/post/publish/creator_info/query/":
            if not self._fault("tt.creator"):
                self._body()
                self._send(200, ok(dict(self.fake.tiktok_creator)))
            return None
        if path in (f"{API}/post/publish/video/init/", f"{API}/post/publish/inbox/video/init/"):
            return self._tiktok_init("inbox" not in path)
        if path == f"{API}/post/publish/status/fetch/":
            return self._tiktok_status()
        self._body()
        self._send(404, error("not_found", f"no route {path}"))

    def _tiktok_token(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
        key, secret = self.fake.clients["tiktok"]
        if form.get("client_key") != key or form.get("client_secret") != secret:
            return self._send(401, {"error": "invalid_client",
                                    "error_description": "client_key or secret is wrong"})
        with self.fake.lock:
            if form.get("grant_type") == "authorization_code":
                if not self._code_ok("tiktok", form):
                    return self._send(400, {"error": "invalid_grant",
                                            "error_description": "bad code or verifier"})
            elif "tiktok" in self.fake.revoked or \
                    self.fake.refresh_tokens.pop(form.get("refresh_token", ""), None) != \
                    "tiktok":
                return self._send(400, {"error": "invalid_grant", "error_description":
                                        "The refresh token is invalid or expired."})
            else:
                self.fake.refreshes += 1
            issued = self.fake._issue("tiktok")  # refresh tokens rotate
            issued.update(expires_in=86400, open_id="fake-open-id", refresh_expires_in=31536000)
            self._send(200, issued)

    def _tiktok_init(self, direct: bool) -> None:
        if self._fault("tt.init"):
            return
        body = json.loads(self._body())
        source = body.get("source_info") or {}
        problem = _chunk_rules(source)
        if problem:
            return self._send(400, error("invalid_params", problem))
        post_info = body.get("post_info") or {}
        if direct:
            options = self.fake.tiktok_creator["privacy_level_options"]
            if post_info.get("privacy_level") not in options:
                return self._send(400, error("privacy_level_option_mismatch",
                                             "privacy_level is not among the creator's "
                                             "privacy_level_options"))
            if len(post_info.get("title", "")) > 2200:
                return self._send(400, error("invalid_params", "title is too long"))
        upload = Upload(f"v_pub_file~v2-1.{secrets.token_hex(8)}", secrets.token_hex(8),
                        source["video_size"], source["chunk_size"],
                        source["total_chunk_count"], "direct" if direct else "draft",
                        post_info)
        self.fake.tiktok_uploads[upload.publish_id] = upload
        self.fake._pause("tt.init")
        url = f"{self.fake.url}/tiktok/upload/?upload_id={upload.publish_id}&" \
              f"upload_token={upload.token}"
        self._send(200, ok({"publish_id": upload.publish_id, "upload_url": url}))

    def _tiktok_chunk(self, query: dict[str, str]) -> None:
        upload = self.fake.tiktok_uploads.get(query.get("upload_id", ""))
        if upload is None or query.get("upload_token") != upload.token:
            self._body()
            return self._send(404, error("not_found", "no such upload"))
        if self.headers.get("Authorization"):  # the upload_url carries its own token
            self._body()
            return self._send(400, error("invalid_params", "no Authorization on upload_url"))
        if self._fault("tt.chunk"):
            return None
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", self.headers.get("Content-Range", ""))
        data = self._body()
        if not match or not self.headers.get("Content-Type", "").startswith("video/"):
            return self._send(400, error("invalid_params", "Content-Range and a video "
                                         "Content-Type are required"))
        first, last, total = (int(g) for g in match.groups())
        index = first // upload.chunk
        end = upload.size if index == upload.count - 1 else first + upload.chunk
        if total != upload.size or first != len(upload.data) or first != index * upload.chunk \
                or last != end - 1 or len(data) != end - first or upload.status != \
                "PROCESSING_UPLOAD":
            return self._send(400, error("invalid_params", f"expected bytes {len(upload.data)}-"
                                         f"{end - 1}/{upload.size} in order"))
        upload.data.extend(data)
        upload.checks_after = 0
        if len(upload.data) < upload.size:
            if index == 0:
                self.fake._pause("tt.chunk")
            return self._send(206, None)
        self._tiktok_complete(upload)
        self.fake._pause("tt.complete")
        self._send(201, None)

    def _tiktok_complete(self, upload: Upload) -> None:
        """Every byte arrived: TikTok makes the post (or the draft) from them."""
        if self.fake.tiktok_reject:
            upload.status, upload.fail_reason = "FAILED", "file_format_check_failed"
            return
        public = upload.post_info.get("privacy_level") == "PUBLIC_TO_EVERYONE"
        upload.post_id = str(secrets.randbelow(10**18) + 7 * 10**18) if public else None
        upload.status = "PUBLISH_COMPLETE" if upload.mode == "direct" else "SEND_TO_USER_INBOX"
        self.fake.tiktok_posts.append({"publish_id": upload.publish_id, "mode": upload.mode,
                                       "post_id": upload.post_id, **upload.post_info,
                                       "bytes": bytes(upload.data)})

    def _tiktok_status(self) -> None:
        if self._fault("tt.status"):
            return
        publish_id = json.loads(self._body()).get("publish_id", "")
        upload = self.fake.tiktok_uploads.get(publish_id)
        if upload is None:
            return self._send(400, error("invalid_publish_id", "publish_id does not exist"))
        status = upload.status
        if len(upload.data) == upload.size and status != "FAILED":
            upload.checks_after += 1  # processing is seen once before it is done
            status = "PROCESSING_UPLOAD" if upload.checks_after < 2 else status
        self._send(200, ok({"status": status, "fail_reason": upload.fail_reason,
                            "publicaly_available_post_id": [upload.post_id]
                            if upload.post_id and status == "PUBLISH_COMPLETE" else [],
                            "uploaded_bytes": len(upload.data)}))


def _chunk_rules(source: dict[str, Any]) -> str | None:
    """What breaks TikTok's documented chunk rules, or None."""
    if source.get("source") != "FILE_UPLOAD":
        return "source must be FILE_UPLOAD here"
    size, chunk, count = (source.get(k) for k in ("video_size", "chunk_size",
                                                  "total_chunk_count"))
    if not all(isinstance(v, int) and v > 0 for v in (size, chunk, count)):
        return "video_size, chunk_size and total_chunk_count are required"
    assert isinstance(size, int) and isinstance(chunk, int) and isinstance(count, int)
    if size < 5 * MiB:
        return None if (chunk, count) == (size, 1) else \
            "a video under 5 MB is uploaded whole: chunk_size = video_size, one chunk"
    if not 5 * MiB <= chunk <= 64 * MiB and not (count == 1 and chunk == size):
        return "chunk_size must be 5 MB to 64 MB"
    if count != size // chunk or not 1 <= count <= 1000:
        return "total_chunk_count must be video_size // chunk_size (1 to 1000)"
    if size > 64 * MiB and count < 2:
        return "a video over 64 MB is uploaded in chunks"
    if size - (count - 1) * chunk > 128 * MiB:
        return "the last chunk may be at most 128 MB"
    return None
