"""A local stand-in for YouTube and X that speaks their documented protocols, for tests.

One threaded HTTP server on 127.0.0.1 serves:
- Google OAuth (`/google/auth`, `/google/token`) and X OAuth 2.0 (`/x/auth`, `/x/token`):
  authorization codes bound to the PKCE challenge, refresh tokens, `invalid_grant` once
  revoked.
- YouTube Data API: `GET /youtube/v3/channels?mine=true`, the resumable upload
  (`POST /upload/youtube/v3/videos?uploadType=resumable` → Location; `PUT` chunks with
  `Content-Range`, 308 + `Range`, status query `bytes */SIZE`), `thumbnails/set`.
- X API v2: `/2/users/me`, `/2/media/upload/initialize|{id}/append|{id}/finalize`,
  `GET /2/media/upload?command=STATUS`, `POST /2/tweets`, `GET /2/users/{id}/tweets`.
- TikTok (fake_tiktok.py): Login Kit (`/tiktok/auth`, `/tiktok/token`) and the Content
  Posting API under `/tiktok/v2` (creator_info, video init and inbox init, chunked PUT to
  the upload_url, status/fetch).
- Instagram (fake_instagram.py): Facebook Login (`/facebook/auth`, `/facebook/token`) and
  the Graph API under `/graph/v21.0` (Reels container, media_publish, status_code,
  recent media), with the resumable upload host under `/rupload/ig-api-upload/v21.0`.

What arrives is kept (`videos`, `posts`, their bytes) for the tests to compare. Faults are
queued per step (`fail(step, kind)`: 503, 429 with Retry-After, 401, or `cut`: read half
the body and drop the connection); `hold(step)` stops the answer at a step until
`release`, so a test can kill the publisher at exactly that moment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fake_instagram import Container, InstagramRoutes
from tests.fake_tiktok import TikTokRoutes, Upload
from tests.fake_x import Media, XRoutes
from tests.fake_youtube import Session, YouTubeRoutes

CLIENTS = {"youtube": ("yt-client", "yt-secret"), "x": ("x-client", "x-secret"),
           "tiktok": ("tt-client-key", "tt-secret"), "instagram": ("ig-app-id", "ig-secret")}
SOCIAL = ("/tiktok", "/facebook", "/graph", "/rupload")  # served by the two mixins below


class FakePlatforms:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.codes: dict[str, dict[str, str]] = {}
        self.access: dict[str, str] = {}  # token -> platform
        self.refresh_tokens: dict[str, str] = {}
        self.revoked: set[str] = set()  # platforms whose refresh tokens no longer work
        self.refreshes = 0
        self.sessions: dict[str, Session] = {}
        self.videos: list[dict[str, Any]] = []
        self.video_bytes: dict[str, bytes] = {}
        self.thumbnails: dict[str, bytes] = {}
        self.media: dict[str, Media] = {}
        self.posts: list[dict[str, Any]] = []
        self.clients = CLIENTS
        self.tiktok_creator: dict[str, Any] = {
            "creator_username": "faketok", "creator_nickname": "Fake Tok",
            "creator_avatar_url": "", "privacy_level_options": [
                "PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
            "comment_disabled": False, "duet_disabled": False, "stitch_disabled": False,
            "max_video_post_duration_sec": 600}
        self.tiktok_uploads: dict[str, Upload] = {}
        self.tiktok_posts: list[dict[str, Any]] = []  # posts and drafts TikTok made
        self.tiktok_reject = False  # every upload ends FAILED (a video TikTok refuses)
        self.ig_containers: dict[str, Container] = {}
        self.ig_media: list[dict[str, Any]] = []  # published Reels
        self.ig_reject = False  # every container ends ERROR (a video Instagram refuses)
        self.log: list[dict[str, Any]] = []  # every request: step, headers that matter
        self.faults: dict[str, list[dict[str, Any]]] = {}
        self.holds: dict[str, tuple[threading.Event, threading.Event]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # Test controls -------------------------------------------------------------------
    def start(self) -> FakePlatforms:
        self._thread.start()
        return self

    def stop(self) -> None:
        for _, release in self.holds.values():
            release.set()
        self.server.shutdown()
        self.server.server_close()

    def settings(self) -> dict[str, str]:
        """CLIPFORGE_* settings that point ClipForge here."""
        u = self.url
        return {
            "youtube_client_id": CLIENTS["youtube"][0],
            "youtube_client_secret": CLIENTS["youtube"][1],
            "x_client_id": CLIENTS["x"][0], "x_client_secret": CLIENTS["x"][1],
            "google_auth_url": f"{u}/google/auth", "google_token_url": f"{u}/google/token",
            "youtube_api_url": f"{u}/youtube/v3",
            "youtube_upload_url": f"{u}/upload/youtube/v3",
            "x_auth_url": f"{u}/x/auth", "x_token_url": f"{u}/x/token",
            "x_api_url": f"{u}/2",
            "tiktok_client_key": CLIENTS["tiktok"][0],
            "tiktok_client_secret": CLIENTS["tiktok"][1],
            "tiktok_auth_url": f"{u}/tiktok/auth", "tiktok_token_url": f"{u}/tiktok/token",
            "tiktok_api_url": f"{u}/tiktok/v2",
            "instagram_client_id": CLIENTS["instagram"][0],
            "instagram_client_secret": CLIENTS["instagram"][1],
            "instagram_auth_url": f"{u}/facebook/auth",
            "instagram_token_url": f"{u}/facebook/token",
            "instagram_api_url": f"{u}/graph/v21.0",
        }

    def fail(self, step: str, kind: str, times: int = 1, **extra: Any) -> None:
        with self.lock:
            self.faults.setdefault(step, []).extend({"kind": kind, **extra}
                                                    for _ in range(times))

    def hold(self, step: str) -> threading.Event:
        """Hold the answer at `step` (once); returns the event set when it is reached."""
        reached, release = threading.Event(), threading.Event()
        self.holds[step] = (reached, release)
        return reached

    def release(self) -> None:
        for _, release in self.holds.values():
            release.set()

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (as after their hour)."""
        with self.lock:
            self.access.clear()

    def steps(self, name: str) -> list[dict[str, Any]]:
        return [entry for entry in self.log if entry["step"] == name]

    # Behaviour shared by the handlers ----------------------------------------------------
    def _pause(self, step: str) -> None:
        held = self.holds.get(step)
        if held and not held[0].is_set():
            held[0].set()
            held[1].wait(60)

    def _issue(self, platform: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access[access] = platform
        self.refresh_tokens[refresh] = platform
        return {"access_token": access, "refresh_token": refresh, "expires_in": 3600,
                "token_type": "bearer", "scope": "granted"}


def _handler(fake: FakePlatforms) -> type[BaseHTTPRequestHandler]:
    class Handler(_Routes):
        platforms = fake

    return Handler


class _Routes(YouTubeRoutes, XRoutes, TikTokRoutes, InstagramRoutes, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    platforms: FakePlatforms

    def log_message(self, *_args: object) -> None:
        pass

    # Plumbing ------------------------------------------------------------------------
    @property
    def fake(self) -> FakePlatforms:
        return self.platforms

    def _parts(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: object = None,
              headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the publisher was killed while we held the answer
            self.close_connection = True

    def _fault(self, step: str) -> bool:
        """Apply the next fault queued for this step; True if the request was answered."""
        self.fake.log.append({"step": step, "range": self.headers.get("Content-Range"),
                              "offset": self.headers.get("offset"),
                              "auth": self.headers.get("Authorization")})
        with self.fake.lock:
            queued = self.fake.faults.get(step) or []
            fault = queued.pop(0) if queued else None
        if fault is None or fault["kind"] == "pass":  # "pass": let this one through
            return False
        kind = fault["kind"]
        if kind == "cut":  # half the body arrives, then the connection drops
            size = int(self.headers.get("Content-Length") or 0)
            half = self.rfile.read(size // 2)
            fault.get("keep", lambda _data: None)(half)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        self._body()
        if kind == "429":
            self._send(429, {"title": "Too Many Requests", "detail": "slow down"},
                       {"Retry-After": str(fault.get("retry_after", 1))})
        elif kind == "graph_limit":  # the Graph API's "slow down": 400, code 4
            self._send(400, {"error": {"message": "Application request limit reached",
                                       "type": "OAuthException", "code": 4,
                                       "is_transient": True}})
        elif kind == "401":
            self._send(401, {"error": {"code": 401, "message": "Invalid Credentials"}})
        else:
            self._send(int(kind), fault.get("body") or {"error": {
                "code": int(kind), "message": "backend error"}})
        return True

    def _authorized(self, platform: str) -> bool:
        token = (self.headers.get("Authorization") or "").partition(" ")[2]
        if self.fake.access.get(token) == platform:
            return True
        self._body()
        if platform == "instagram":  # the Graph API: 400, OAuthException code 190
            self._send(400, {"error": {"message": "Error validating access token: Session "
                                       "has expired", "type": "OAuthException", "code": 190,
                                       "error_subcode": 463}})
        elif platform == "tiktok":
            self._send(401, {"error": {"code": "access_token_invalid", "message": "The "
                                       "access token is invalid or not found in the request.",
                                       "log_id": "fake-log"}})
        else:
            self._send(401, {"error": {"code": 401, "message": "Invalid Credentials"}})
        return False

    def _social(self, method: str, path: str, query: dict[str, str]) -> None:
        if path.startswith("/tiktok"):
            return self._tiktok(method, path, query)
        return self._instagram(method, path, query)

    # Routing -----------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        path, query = self._parts()
        if path.startswith(SOCIAL):
            return self._social("GET", path, query)
        if path in ("/google/auth", "/x/auth"):
            return self._authorize("youtube" if path.startswith("/google") else "x", query)
        if not self._authorized("youtube" if path.startswith("/youtube") else "x"):
            return None
        if path == "/youtube/v3/channels":
            return self._send(200, {"items": [{"id": "UC-fake", "snippet": {
                "title": "Fake Channel"}}]})
        if path == "/2/users/me":
            return self._send(200, {"data": {"id": "1001", "name": "Fake",
                                             "username": "fakeuser"}})
        if path == "/2/media/upload":
            return self._media_status(query)
        if path.startswith("/2/users/") and path.endswith("/tweets"):
            return self._timeline(query)
        self._send(404, {"error": {"message": f"no route {path}"}})

    def do_POST(self) -> None:  # noqa: N802
        path, query = self._parts()
        if path.startswith(SOCIAL):
            return self._social("POST", path, query)
        if path in ("/google/token", "/x/token"):
            return self._token("youtube" if path.startswith("/google") else "x")
        if not self._authorized("youtube" if path.startswith("/upload") else "x"):
            return None
        if path == "/upload/youtube/v3/videos":
            return self._start_upload(query)
        if path == "/upload/youtube/v3/thumbnails/set":
            if not self._fault("yt.thumbnail"):
                self.fake.thumbnails[query["videoId"]] = self._body()
                self._send(200, {"items": [{"default": {"url": "https://i.ytimg/x.jpg"}}]})
            return None
        if path == "/2/media/upload/initialize":
            return self._media_init()
        if path.startswith("/2/media/upload/") and path.endswith("/append"):
            return self._append(path.split("/")[4])
        if path.startswith("/2/media/upload/") and path.endswith("/finalize"):
            return self._finalize(path.split("/")[4])
        if path == "/2/tweets":
            return self._tweet()
        self._body()
        self._send(404, {"error": {"message": f"no route {path}"}})

    def do_PUT(self) -> None:  # noqa: N802
        path, query = self._parts()
        if path.startswith(SOCIAL):
            return self._social("PUT", path, query)
        if path == "/upload/youtube/v3/videos" and "upload_id" in query:
            return self._put_chunk(query["upload_id"])
        self._send(404, {"error": {"message": f"no route {path}"}})

    # OAuth -----------------------------------------------------------------------------
    def _authorize(self, platform: str, query: dict[str, str]) -> None:
        """The person allows access at once: back to the app with a code."""
        assert (query.get("client_id") or query.get("client_key")) == CLIENTS[platform][0]
        assert query["code_challenge_method"] == "S256" and query["response_type"] == "code"
        code = secrets.token_urlsafe(12)
        self.fake.codes[code] = {"platform": platform, "redirect_uri": query["redirect_uri"],
                                 "challenge": query["code_challenge"], "scope": query["scope"]}
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        self._send(302, None, {"Location": target})

    def _token(self, platform: str) -> None:
        form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
        client_id, secret = CLIENTS[platform]
        basic = self.headers.get("Authorization", "")
        given = base64.b64decode(basic[6:]).decode() if basic.startswith("Basic ") else \
            f"{form.get('client_id')}:{form.get('client_secret')}"
        if given != f"{client_id}:{secret}":
            return self._send(401, {"error": "invalid_client"})
        with self.fake.lock:
            if form.get("grant_type") == "authorization_code":
                if not self._code_ok(platform, form):
                    return self._send(400, {"error": "invalid_grant"})
                return self._send(200, self.fake._issue(platform))
            refresh = form.get("refresh_token", "")
            if platform in self.fake.revoked or self.fake.refresh_tokens.get(refresh) != \
                    platform:
                return self._send(400, {"error": "invalid_grant",
                                        "error_description": "Token has been expired or "
                                        "revoked."})
            self.fake.refreshes += 1
            issued = self.fake._issue(platform)
            if platform == "youtube":  # Google keeps the refresh token; X rotates it
                del self.fake.refresh_tokens[issued.pop("refresh_token")]
            else:
                del self.fake.refresh_tokens[refresh]
            return self._send(200, issued)


    def _code_ok(self, platform: str, form: dict[str, str]) -> bool:
        """The code was issued for this platform and redirect, to this PKCE verifier."""
        code = self.fake.codes.pop(form.get("code", ""), None)
        digest = hashlib.sha256(form.get("code_verifier", "").encode())
        challenge = digest.hexdigest() if platform == "tiktok" else \
            base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")  # TikTok: hex
        return code is not None and code["platform"] == platform and \
            code["challenge"] == challenge and code["redirect_uri"] == form.get("redirect_uri")


@contextmanager
def fake_platforms() -> Iterator[FakePlatforms]:
    fake = FakePlatforms().start()
    try:
        yield fake
    finally:
        fake.stop()
