"""A live HLS stream simulated from segments already made: the playlist gains one segment
every `interval` seconds (so a test needs no real-time encoder), ends with ENDLIST when
all are out, and can misbehave on cue: `freeze` (a stalled stream: the playlist stops
growing), `drop` (the next N requests get their connection closed without an answer),
`statuses` (answer a path with an error status), `playlist_errors` (the next playlist
requests' statuses). Every request is logged."""

from __future__ import annotations

import math
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from clipforge.sources import hls


class LiveSimulator:
    def __init__(self, folder: Path, playlist: str = "index.m3u8", interval: float = 0.5
                 ) -> None:
        parsed = hls.parse((folder / playlist).read_text(), "http://x/")
        assert isinstance(parsed, hls.MediaPlaylist)
        self.folder = folder
        self.segments = [(Path(s.url).name, s.duration) for s in parsed.segments]
        self.interval = interval
        self.revealed = 1
        self.frozen = False
        self.drop = 0
        self.statuses: dict[str, int] = {}
        self.playlist_errors: list[int] = []  # statuses for the next playlist requests
        self.log: list[tuple[str, int]] = []  # (path, status; 0: dropped)
        self.lock = threading.Lock()
        self._done = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True

    def start(self) -> LiveSimulator:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        threading.Thread(target=self._tick, daemon=True).start()
        return self

    def stop(self) -> None:
        self._done.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str = "live.m3u8") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{path}"

    def fetched(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, status in self.log if p == path and status == 200)

    def _tick(self) -> None:
        while not self._done.wait(self.interval):
            with self.lock:
                if not self.frozen and self.revealed < len(self.segments):
                    self.revealed += 1

    def playlist(self) -> str:
        with self.lock:
            shown = self.segments[:self.revealed]
            ended = self.revealed == len(self.segments)
        target = math.ceil(max(d for _, d in self.segments))
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}",
                 "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:EVENT"]
        for name, duration in shown:
            lines += [f"#EXTINF:{duration:.6f},", name]
        return "\n".join(lines + (["#EXT-X-ENDLIST"] if ended else [])) + "\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with sim.lock:
                    dropped = sim.drop > 0
                    sim.drop -= 1 if dropped else 0
                    status = 0 if dropped else sim.statuses.get(path, 200)
                    if path == "/live.m3u8" and sim.playlist_errors and not dropped:
                        status = sim.playlist_errors.pop(0)
                if path != "/live.m3u8" and status == 200 and \
                        not (sim.folder / path.lstrip("/")).is_file():
                    status = 404
                with sim.lock:
                    sim.log.append((path, status))
                if dropped:  # a cut: the connection closes with no answer at all
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if status != 200:
                    self.send_error(status)
                    return
                body = sim.playlist().encode() if path == "/live.m3u8" else \
                    (sim.folder / path.lstrip("/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
