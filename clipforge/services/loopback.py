"""The CLI's OAuth sign-in: the authorization address is printed, and the platform's
redirect comes back to a one-shot HTTP server on 127.0.0.1 (the loopback redirect that
Google, X and TikTok's desktop Login Kit allow; Facebook allows localhost redirects for
apps in development), which checks `state` and hands over the code."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from clipforge import errors
from clipforge.config import Settings
from clipforge.publish import oauth

PAGE = ("<!doctype html><meta charset=utf-8><title>ClipForge</title><p>{}</p>"
        "<p>You can close this tab.</p>")


def authorize_on_loopback(settings: Settings, platform: str, port: int, timeout: float,
                          show: Callable[[str], object]) -> tuple[str, str, str]:
    """(code, redirect URI, PKCE verifier) once the person allowed access."""
    found = oauth.provider(settings, platform)
    answer: dict[str, str] = {}
    arrived = threading.Event()

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            parts = urlsplit(self.path)
            if parts.path != "/callback":
                self.send_error(404)
                return
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            ok = query.get("state") == pending.state and "code" in query
            if ok or "error" in query:
                answer.update(query if ok else {"error": query.get("error", "denied")})
                arrived.set()
            text = "Connected." if ok else f"Not connected: {query.get('error', 'bad state')}"
            body = PAGE.format(text).encode()
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    try:
        server = HTTPServer(("127.0.0.1", port), Callback)
    except OSError as exc:
        raise errors.BadOption(f"--port {port}: cannot listen on it ({exc}); pick "
                               "another") from exc
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    pending = oauth.start(found, redirect_uri)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        show(pending.url)
        if not arrived.wait(timeout):
            raise errors.BadOption(f"{found.label}: no sign-in came back within "
                                   f"{timeout:.0f} s; run the command again")
    finally:
        server.shutdown()
        server.server_close()
    if "error" in answer:
        raise errors.PublishFailed(f"{found.label}: access was not granted "
                                   f"({answer['error']}); run the command again to retry")
    return answer["code"], redirect_uri, pending.verifier
