"""A TCP relay in front of a server that a test can hold: while held, what a client sends
waits in the relay, so its requests hang as on a link that stopped answering; released,
they go through. A worker whose store is behind a held gate cannot finish a job that
reads from the store, however long the test takes to act on it."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit


class Gate:
    """Relays 127.0.0.1:<port> to `upstream` (an http://host:port URL)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.held = threading.Event()  # set once a client's bytes waited at the gate
        self._open = threading.Event()
        self._open.set()
        self._stopped = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> Gate:
        threading.Thread(target=self._accept, daemon=True, name="gate-accept").start()
        return self

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def stop(self) -> None:
        """Let everything go and close every connection."""
        self._stopped = True
        self._open.set()
        self.server.close()
        with self._lock:
            for sock in self._sockets:
                _hang_up(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
                server = socket.create_connection(self.upstream)
            except OSError:
                return  # stopped (or the upstream is gone: the client sees a closed link)
            with self._lock:
                self._sockets += [client, server]
            for source, target, gated in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(source, target, gated),
                                 daemon=True, name="gate-pump").start()

    def _pump(self, source: socket.socket, target: socket.socket, gated: bool) -> None:
        try:
            while data := source.recv(1 << 16):
                if gated and not self._open.is_set():
                    self.held.set()
                    self._open.wait()
                if self._stopped:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            _hang_up(source)
            _hang_up(target)


def _hang_up(sock: socket.socket) -> None:
    """Close a socket; shutting it down first wakes a thread blocked reading it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
