"""A local WebSocket server that speaks Twitch chat's IRC the way
wss://irc-ws.chat.twitch.tv does for an anonymous client: it ACKs `CAP REQ`, welcomes
`NICK` (001), echoes `JOIN`, records every line each connection sends, and lets a test
send PRIVMSG/PING/RECONNECT lines, cut connections abruptly (no closing handshake) and
refuse the next handshakes (503), as a server restart would."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

HOST = ":tmi.twitch.tv"


class FakeTwitchIrc:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []  # (connection number, line it sent)
        self.attempts: list[float] = []  # monotonic time of each handshake attempt
        self.refuse = 0  # answer the next N handshakes with 503
        self._live: dict[int, ServerConnection] = {}
        self._joined: set[int] = set()
        self._count = 0
        self._lock = threading.Lock()
        self._server = serve(self._handle, "127.0.0.1", 0, process_request=self._admit,
                             compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"

    def start(self) -> FakeTwitchIrc:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.cut()
        self._server.shutdown()
        self._thread.join(10)

    # --- what a test does ---------------------------------------------------------------
    def send(self, line: str) -> None:
        """To every connection that has joined its channel."""
        for conn in self._joined_conns():
            with contextlib.suppress(ConnectionClosed):
                conn.send(line + "\r\n")

    def reconnect(self) -> None:
        """Twitch's restart notice; the old connection is closed a little later."""
        conns = self._joined_conns()
        for conn in conns:
            with contextlib.suppress(ConnectionClosed):
                conn.send(f"{HOST} RECONNECT\r\n")
        threading.Timer(0.5, lambda: [c.close() for c in conns]).start()

    def cut(self) -> None:
        """Drop every connection without a closing handshake, as a network cut does."""
        with self._lock:
            conns = list(self._live.values())
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.socket.shutdown(socket.SHUT_RDWR)

    def joined(self) -> list[int]:
        with self._lock:
            return sorted(self._joined)

    def received(self, number: int | None = None) -> list[str]:
        with self._lock:
            return [text for n, text in self.lines if number is None or n == number]

    def wait_for(self, what: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert time.monotonic() < deadline, "timed out waiting"
            time.sleep(0.02)

    # --- the server's side --------------------------------------------------------------
    def _joined_conns(self) -> list[ServerConnection]:
        with self._lock:
            return [c for n, c in self._live.items() if n in self._joined]

    def _admit(self, conn: ServerConnection, request: Request) -> Response | None:
        with self._lock:
            self.attempts.append(time.monotonic())
            if self.refuse > 0:
                self.refuse -= 1
                return Response(503, "Service Unavailable", Headers(), b"restarting\n")
        return None

    def _handle(self, conn: ServerConnection) -> None:
        with self._lock:
            self._count += 1
            number = self._count
            self._live[number] = conn
        try:
            for data in conn:
                for line in filter(None, str(data).split("\r\n")):
                    self._answer(conn, number, line)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._live.pop(number, None)
                self._joined.discard(number)

    def _answer(self, conn: ServerConnection, number: int, line: str) -> None:
        with self._lock:
            self.lines.append((number, line))
        command, _, rest = line.partition(" ")
        if command == "CAP":
            conn.send(f"{HOST} CAP * ACK :{rest.split(':', 1)[-1]}\r\n")
        elif command == "NICK":
            conn.send(f"{HOST} 001 {rest} :Welcome, GLHF!\r\n")
        elif command == "JOIN":
            conn.send(f":justinfan12345!justinfan12345@justinfan12345.tmi.twitch.tv JOIN "
                      f"{rest}\r\n")
            with self._lock:
                self._joined.add(number)
