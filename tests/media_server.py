"""A local media server for ingest tests: serves files with HTTP Range support, can be
throttled, can answer chosen paths with an error status or a redirect, and logs every request (path,
Range header, status, bytes sent so far), so tests can check what yt-dlp fetched."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TYPES = {".mp4": "video/mp4", ".m3u8": "application/vnd.apple.mpegurl",
         ".ts": "video/mp2t", ".json": "application/json", ".html": "text/html"}
BLOCK = 64 * 1024


@dataclass
class Request:
    path: str
    range: str | None
    status: int
    sent: int = 0  # body bytes written so far
    first: int = 0  # first byte offset served
    via: str | None = None  # the Via header: "1.1 clipforge" when ClipForge's proxy sent it


class MediaServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.log: list[Request] = []
        self.statuses: dict[str, int] = {}  # path -> status to answer with
        self.redirects: dict[str, str] = {}  # path -> URL to send the client to (302)
        self.rate: float | None = None  # bytes per second, None: as fast as possible
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> MediaServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{path.lstrip('/')}"

    def requests(self, prefix: str = "") -> list[Request]:
        with self.lock:
            return [r for r in self.log if r.path.startswith(prefix)]

    def sent(self, prefix: str = "") -> int:
        return sum(r.sent for r in self.requests(prefix))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                path = self.path.split("?")[0]
                entry = Request(path, self.headers.get("Range"), 200,
                                via=self.headers.get("Via"))
                with server.lock:
                    server.log.append(entry)
                if path in server.redirects:
                    entry.status = 302
                    self.send_response(302)
                    self.send_header("Location", server.redirects[path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                forced = server.statuses.get(path)
                file = (server.root / path.lstrip("/")).resolve()
                if forced or not file.is_file() or server.root.resolve() not in file.parents:
                    entry.status = forced or 404
                    self.send_error(entry.status)
                    return
                size = file.stat().st_size
                first, last = 0, size - 1
                match = re.fullmatch(r"bytes=(\d*)-(\d*)", entry.range or "")
                if match and (match[1] or match[2]):
                    if match[1]:
                        first = int(match[1])
                        last = min(int(match[2]), size - 1) if match[2] else size - 1
                    else:
                        first = max(0, size - int(match[2]))
                    if first >= size:
                        entry.status = 416
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.end_headers()
                        return
                    entry.status = 206
                entry.first = first
                self.send_response(entry.status)
                self.send_header("Content-Type", TYPES.get(file.suffix, "application/octet-stream"))
                self.send_header("Content-Length", str(last - first + 1))
                self.send_header("Accept-Ranges", "bytes")
                if entry.status == 206:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
                self.end_headers()
                if body:
                    self._body(file, first, last, entry)

            def _body(self, file: Path, first: int, last: int, entry: Request) -> None:
                with file.open("rb") as f:
                    f.seek(first)
                    left = last - first + 1
                    while left > 0:
                        block = f.read(min(BLOCK, left))
                        try:
                            self.wfile.write(block)
                        except (BrokenPipeError, ConnectionResetError):
                            return
                        entry.sent += len(block)
                        left -= len(block)
                        if server.rate:
                            time.sleep(len(block) / server.rate)

        return Handler
