"""The YouTube half of the fake platforms: the resumable upload protocol (see
fake_platforms.py for the server, its controls and the shared plumbing)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

QUANTUM = 256 * 1024  # YouTube keeps a cut upload's bytes in whole 256 KiB units


@dataclass
class Session:
    size: int
    resource: dict[str, Any]
    data: bytearray = field(default_factory=bytearray)
    video_id: str | None = None


class YouTubeRoutes:
    """Mixed into the request handler: `self.fake`, `_send`, `_body`, `_fault` are its."""

    def _start_upload(self, query: dict[str, str]) -> None:
        if self._fault("yt.start"):
            return
        assert query.get("uploadType") == "resumable", query
        resource = json.loads(self._body())
        upload_id = secrets.token_hex(8)
        self.fake.sessions[upload_id] = Session(
            int(self.headers["X-Upload-Content-Length"]), resource)
        self.fake._pause("yt.start")
        location = f"{self.fake.url}/upload/youtube/v3/videos?uploadType=resumable&" \
                   f"upload_id={upload_id}"
        self._send(200, None, {"Location": location})

    def _put_chunk(self, upload_id: str) -> None:
        session = self.fake.sessions.get(upload_id)
        if session is None:
            self._body()
            return self._send(404, {"error": {"message": "no such upload"}})
        spec = self.headers.get("Content-Range", "")
        if spec.startswith("bytes */"):
            self.fake.log.append({"step": "yt.query", "range": spec})
            self._body()
            return self._upload_state(session)
        if self._fault_keeping(session):
            return
        start = int(spec.split(" ")[1].split("-")[0])
        data = self._body()
        if start != len(session.data):
            return self._send(400, {"error": {"message": f"expected byte {len(session.data)}"}})
        session.data.extend(data)
        if len(session.data) >= session.size:
            video_id = secrets.token_hex(5)
            session.video_id = video_id
            video = {"id": video_id, **session.resource}
            self.fake.videos.append(video)
            self.fake.video_bytes[video_id] = bytes(session.data)
            self.fake._pause("yt.complete")
        elif start == 0:
            self.fake._pause("yt.chunk")
        self._upload_state(session)

    def _fault_keeping(self, session: Session) -> bool:
        """A cut keeps the whole 256 KiB units that arrived, as Google's servers do."""
        with self.fake.lock:
            for fault in self.fake.faults.get("yt.chunk", [])[:1]:
                def keep(half: bytes) -> None:
                    whole = len(half) // QUANTUM * QUANTUM
                    session.data.extend(half[:whole])
                fault["keep"] = keep
        return self._fault("yt.chunk")

    def _upload_state(self, session: Session) -> None:
        if session.video_id is not None:
            video = next(v for v in self.fake.videos if v["id"] == session.video_id)
            return self._send(200, {"kind": "youtube#video", **video})
        held = {"Range": f"bytes=0-{len(session.data) - 1}"} if session.data else {}
        self._send(308, None, held)

