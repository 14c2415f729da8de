"""A local server speaking the YouTube Data API's live chat reads, as documented:
`GET /videos?part=liveStreamingDetails&id=VIDEO&key=KEY` (a live video's
`activeLiveChatId`) and `GET /liveChat/messages?liveChatId=ID&part=snippet,authorDetails
&pageToken=TOKEN&key=KEY` (`items`, `nextPageToken`, `pollingIntervalMillis`, and
`offlineAt` once the stream is over). Errors come in the API's shape
(`{"error": {"code", "message", "errors": [{"reason"}]}}`).

Controls: `say` a message (its `publishedAt` is given), `fail` the next requests with
statuses and reasons, `end` the chat (`liveChatEnded`), `offline` (the next page says
`offlineAt`). Every request is logged as (path, query)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

KEY = "test-api-key"
VIDEO = "dQw4w9WgXcQ"
CHAT = "Cg0KC2RRdzR3OVdnWGNR"


class FakeYouTubeChat:
    def __init__(self, poll_ms: int = 50) -> None:
        self.poll_ms = poll_ms
        self.items: list[dict[str, Any]] = []
        self.failures: list[tuple[int, str]] = []  # (status, reason) for the next requests
        self.ended = False
        self.went_offline = False
        self.log: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/youtube/v3"

    def start(self) -> FakeYouTubeChat:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def say(self, unix: float, user: str, text: str) -> None:
        published = datetime.fromtimestamp(unix, UTC).isoformat().replace("+00:00", "Z")
        with self.lock:
            self.items.append({
                "kind": "youtube#liveChatMessage", "id": f"m{len(self.items)}",
                "snippet": {"type": "textMessageEvent", "liveChatId": CHAT,
                            "publishedAt": published, "hasDisplayContent": True,
                            "displayMessage": text,
                            "textMessageDetails": {"messageText": text}},
                "authorDetails": {"displayName": user, "channelId": f"UC{user}"}})

    def fail(self, *failures: tuple[int, str]) -> None:
        with self.lock:
            self.failures.extend(failures)

    def requests(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [q for p, q in self.log if p == path]

    def _answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.log.append((path, query))
            if self.failures:
                return _error(*self.failures.pop(0))
            if query.get("key") != KEY:
                return _error(400, "keyInvalid")
            if path == "/youtube/v3/videos":
                live = {"activeLiveChatId": CHAT} if query.get("id") == VIDEO else {}
                return 200, {"kind": "youtube#videoListResponse", "items": [
                    {"id": query.get("id"), "liveStreamingDetails": live}]}
            if path != "/youtube/v3/liveChat/messages":
                return _error(404, "notFound")
            if query.get("liveChatId") != CHAT:
                return _error(404, "liveChatNotFound")
            if self.ended:
                return _error(403, "liveChatEnded")
            start = int(query.get("pageToken") or 0)
            page = {"kind": "youtube#liveChatMessageListResponse", "items": self.items[start:],
                    "nextPageToken": str(len(self.items)),
                    "pollingIntervalMillis": self.poll_ms}
            if self.went_offline:
                page["offlineAt"] = datetime.now(UTC).isoformat()
            return 200, page

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                status, body = fake._answer(parts.path, query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


def _error(status: int, reason: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": status, "message": reason,
                              "errors": [{"reason": reason, "domain": "youtube.liveChat"}]}}
