"""A forward proxy on 127.0.0.1 that ffmpeg is made to go through, so every connection
ffmpeg opens (a playlist's segments, each redirect it follows) is checked where it is
made: the proxy resolves the host itself, asks CHECK whether the addresses may be
reached, and connects to the address it checked. ffmpeg never resolves a name, so a
name that answers differently the second time (DNS rebinding) gains nothing.

Both ways ffmpeg uses a proxy are served: `GET http://host/path` (plain http, one
request per connection: the proxy asks the server to close after its answer) and
`CONNECT host:443` (https: a tunnel to the checked address, TLS end to end).
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from clipforge import errors

# (host, port, url) -> the address to connect to; raises a ClipForgeError to refuse.
Check = Callable[[str, int, str], str]

MAX_HEAD = 64 * 1024  # a request line and headers; more is refused
BLOCK = 64 * 1024
TIMEOUT = 30.0  # seconds a connection may stay silent before it is dropped
DROPPED = ("proxy-connection", "proxy-authorization", "connection", "keep-alive")


class CheckingProxy:
    """Start it for the duration of a download (`with CheckingProxy(check) as proxy:`)
    and point ffmpeg at `proxy.url`. `refused` holds the refusals, in order, so the
    caller can report the first one instead of ffmpeg's "403 Forbidden"."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.refused: list[errors.ClipForgeError] = []
        self.forwarded: list[str] = []  # the URLs (or https://host:port/) let through
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="clipforge-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> CheckingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop listening, end every connection still open and wait for their threads."""
        self._server.shutdown()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()  # joins the connection threads
        self._thread.join()

    def _track(self, sock: socket.socket, on: bool) -> None:
        with self._lock:
            (self._open.add if on else self._open.discard)(sock)

    def _handler(self) -> type[socketserver.BaseRequestHandler]:
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                client: socket.socket = self.request
                client.settimeout(TIMEOUT)
                proxy._track(client, True)
                try:
                    proxy._serve(client)
                except OSError:
                    pass  # a side went away: nothing to tell anyone
                finally:
                    proxy._track(client, False)

        return Handler

    def _serve(self, client: socket.socket) -> None:
        head, rest = _read_head(client)
        if head is None:
            return _answer(client, 400, "Bad Request", "no complete request head")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = (lines[0].split(" ") + ["", ""])[:3]
        tunnel = method.upper() == "CONNECT"
        parts = urlsplit(f"//{target}" if tunnel else target)
        try:
            port = parts.port or (443 if tunnel else 80)
        except ValueError:  # not a number
            port = 0
        if not parts.hostname or not port or (not tunnel and parts.scheme != "http"):
            return _answer(client, 400, "Bad Request", f"not a proxy request: {lines[0]}")
        host = parts.hostname
        url = f"https://{parts.netloc}/" if tunnel else target
        try:
            address = self.check(host, port, url)
        except errors.ClipForgeError as exc:
            with self._lock:
                self.refused.append(exc)
            return _answer(client, 403, "Forbidden", exc.message)
        except OSError as exc:  # the name does not resolve
            return _answer(client, 502, "Bad Gateway", str(exc))
        try:
            upstream = socket.create_connection((address, port), timeout=TIMEOUT)
        except OSError as exc:
            return _answer(client, 502, "Bad Gateway", f"{url}: {exc}")
        self._track(upstream, True)
        with self._lock:
            self.forwarded.append(url)
        try:
            if tunnel:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                path = parts.path or "/"
                path += f"?{parts.query}" if parts.query else ""
                headers = [line for line in lines[1:] if line and
                           line.split(":")[0].strip().lower() not in DROPPED]
                request = [f"{method} {path} {version}", *headers,
                           "Connection: close", "Via: 1.1 clipforge", "", ""]
                upstream.sendall("\r\n".join(request).encode("latin-1"))
            if rest:
                upstream.sendall(rest)
            _relay(client, upstream)
        finally:
            self._track(upstream, False)
            upstream.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = False
    block_on_close = True  # server_close() waits for the connection threads
    allow_reuse_address = True


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    """The request head (without its blank line) and whatever came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            return None, b""
        chunk = sock.recv(BLOCK)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head, rest


def _answer(sock: socket.socket, status: int, reason: str, text: str) -> None:
    body = f"{text}\n".encode()
    sock.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                 + body)


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until a side closes (or both stay silent for TIMEOUT)."""
    other = {a: b, b: a}
    while True:
        ready, _, _ = select.select([a, b], [], [], TIMEOUT)
        if not ready:
            return
        for sock in ready:
            data = sock.recv(BLOCK)
            if not data:
                return
            other[sock].sendall(data)
