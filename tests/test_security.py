"""The hardened server (issue 15), probed as an attacker would, against a real
`clipforge serve` on SQLite and on PostgreSQL: files by path, uploads, body caps, sessions
and tokens, and the paths a response may show."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from websockets.sync.client import connect

from tests.conftest import clipforge_cmd
from tests.servers import Server, pg_database

SECRET = "TOPSECRET-3141"  # text in files the API must never hand out
PUBLIC_URL = "https://clips.example"  # browsers reach the server by HTTPS (a proxy)
LOGIN_ATTEMPTS = 4


def make_recording(path: Path, seconds: float = 3.0) -> Path:
    """A small real recording: 160x90 test pattern with a tone."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", f"testsrc=s=160x90:r=10:d={seconds}", "-f", "lavfi",
                    "-i", f"sine=f=440:d={seconds}", "-shortest", "-c:v", "libx264",
                    "-preset", "ultrafast", "-c:a", "aac", str(path)], check=True)
    return path


@dataclass
class Site:
    server: Server
    token: str
    roots: Path  # the one folder of CLIPFORGE_MEDIA_ROOTS
    outside: Path  # a folder that is not under it
    recording: Path  # under the root

    def api(self, token: str | None = None) -> httpx.Client:
        return self.server.client(token or self.token)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'security.db'}"
    else:
        with pg_database() as url:
            yield url


@pytest.fixture(scope="module")
def site(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("security")
    roots, outside = root / "media-root", root / "outside"
    roots.mkdir()
    outside.mkdir()
    recording = make_recording(roots / "vod.mp4")
    make_recording(outside / "private.mp4")
    (outside / "notes.txt").write_text(SECRET)
    (roots / "escape.mp4").symlink_to(outside / "private.mp4")
    server = Server(root / "data", database_url, pool=False, media_roots=str(roots),
                    public_url=PUBLIC_URL, youtube_client_id="clipforge-test-client",
                    private_hosts='["localhost"]',  # by name: the first hop below
                    login_attempts=str(LOGIN_ATTEMPTS),
                    login_attempts_per_address=str(3 * LOGIN_ATTEMPTS))
    try:
        server.start()
        token = server.cli("user", "create", "alice", "--password", "correct horse").strip()
        yield Site(server, token, roots, outside, recording)
    finally:
        server.stop()


def refusal(response: httpx.Response, given: str) -> tuple[int, str, str]:
    """What a refusal tells, minus the path the client gave itself (of which errors show
    the file name only)."""
    body = response.json()
    return response.status_code, body["code"], body["message"].replace(Path(given).name,
                                                                         "PATH")


# 1. Files by path ------------------------------------------------------------------------

def test_paths_outside_the_media_roots_are_refused_alike(site: Site) -> None:
    api = site.api()
    probes = [str(site.outside / "private.mp4"),  # exists, is media
              str(site.outside / "notes.txt"),  # exists, not media
              str(site.outside / "missing.mp4"),  # does not exist
              "/etc/shadow", "/etc/passwd",
              str(site.roots / "escape.mp4"),  # a symlink under the root leading out
              f"{site.roots}/../outside/private.mp4",  # `..` out of the root
              "vod.mp4"]  # relative: never resolved against the server's folder
    answers = {refusal(api.post("/api/streams", json={"path": p}), p) for p in probes}
    assert len(answers) == 1, answers  # the same answer whether the file exists or not
    status, code, message = answers.pop()
    assert (status, code) == (403, "forbidden")
    assert str(site.outside) not in message and SECRET not in message
    inside = api.post("/api/streams", json={"path": str(site.recording)})
    assert inside.status_code == 201, inside.text


def test_paths_are_off_without_media_roots(tmp_path: Path, database_url: str,
                                           site: Site) -> None:
    server = Server(tmp_path / "data", database_url, pool=False, media_roots="")
    try:
        server.start()
        refused = server.client(site.token).post("/api/streams",
                                                 json={"path": str(site.recording)})
        assert refused.status_code == 403, refused.text
        assert "CLIPFORGE_MEDIA_ROOTS" in refused.json()["message"]
    finally:
        server.stop()


def test_chat_over_the_api_is_an_upload_or_under_a_root(site: Site) -> None:
    api = site.api()
    outside_chat = site.outside / "chat.jsonl"
    outside_chat.write_text('{"t": 1, "user": "a", "text": "hi"}\n')
    refused = api.post("/api/streams", json={"path": str(site.recording),
                                             "chat": str(outside_chat)})
    assert refused.status_code == 403, refused.text
    leaky = site.roots / "leaky.jsonl"  # a value from the file in the error would leak it
    leaky.write_text(f'{{"t": "{SECRET}"}}\n')
    bad = api.post("/api/streams", json={"path": str(site.recording), "chat": str(leaky)})
    assert bad.status_code == 422 and bad.json()["code"] == "bad_chat_file", bad.text
    assert SECRET not in bad.text
    with site.recording.open("rb") as video:
        uploaded = api.post("/api/streams/upload", files={
            "file": ("my stream.mp4", video, "video/mp4"),
            "chat": ("my chat.jsonl", b'{"t": 1.5, "user": "a", "text": "KEKW"}\n')})
    assert uploaded.status_code == 201, uploaded.text
    assert str(site.server.data_dir) not in uploaded.text
    assert uploaded.json()["options"]["chat"].endswith(".jsonl")


def test_source_serves_only_media_clipforge_keeps(site: Site) -> None:
    api = site.api()
    with site.recording.open("rb") as video:
        uploaded = api.post("/api/streams/upload",
                            files={"file": ("upload.mp4", video, "video/mp4")})
    assert uploaded.status_code == 201, uploaded.text
    sid = uploaded.json()["id"]
    served = api.get(f"/api/streams/{sid}/source")
    assert served.status_code == 200 and served.content == site.recording.read_bytes()
    by_path = api.post("/api/streams", json={"path": str(site.recording)}).json()["id"]
    assert api.get(f"/api/streams/{by_path}/source").content == site.recording.read_bytes()

    # A stream row that names a file elsewhere (as `clipforge process` on any file makes
    # one) is no way to read that file.
    engine = sa.create_engine(site.server.database_url)
    secret = str(site.outside / "private.mp4")
    with engine.begin() as conn:
        info = conn.execute(sa.text("SELECT info FROM streams WHERE id = :i"),
                            {"i": sid}).scalar_one()
        info = info if isinstance(info, dict) else json.loads(info)
        conn.execute(sa.text("UPDATE streams SET source = :p, info = :info WHERE id = :i"),
                     {"p": secret, "info": json.dumps({**info, "path": secret}), "i": sid})
    engine.dispose()
    refused = api.get(f"/api/streams/{sid}/source")
    assert refused.status_code == 404, refused.text
    assert str(site.outside) not in refused.text
    assert str(site.outside) not in api.get(f"/api/streams/{sid}").text


@pytest.mark.parametrize("name, content", [
    ("list.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\n{target}\n#EXT-X-ENDLIST\n"),
    ("list.mp4", "ffconcat version 1.0\nfile '{target}'\n"),  # a concat list, renamed
])
def test_uploaded_playlists_are_refused(site: Site, name: str, content: str) -> None:
    target = site.outside / "private.mp4"
    refused = site.api().post("/api/streams/upload", files={
        "file": (name, content.format(target=target).encode(), "video/mp4")})
    assert refused.status_code == 422 and refused.json()["code"] == "not_media", refused.text
    message = refused.json()["message"]
    assert message.startswith(f"{name}:")  # the upload's own name, not where it was kept
    assert str(site.server.data_dir) not in message and str(target) not in message


def test_store_paths_never_leave_the_store(tmp_path: Path) -> None:
    from clipforge import errors
    from clipforge.storage import store

    here = Path.cwd()
    (tmp_path / "shared").mkdir()
    (tmp_path / "secret.txt").write_text(SECRET)
    try:
        store.enter(str(tmp_path / "shared"), tmp_path / "cache")
        for bad in ("store/../../secret.txt", "store/K/../../../secret.txt"):
            with pytest.raises(errors.UnsafePath):
                store.local(bad)
            with pytest.raises(errors.UnsafePath):
                store.key_of(bad)
        with pytest.raises(errors.UnsafePath):
            store.import_file(tmp_path / "secret.txt", "../secret.txt")
        assert store.key_of("store/K/chunks/0000.wav") == "K/chunks/0000.wav"
    finally:
        store.leave()
        os.chdir(here)


# 2. Bodies capped before parsing and before auth -------------------------------------------

def send_headers_only(site: Site, path: str, headers: dict[str, str]) -> str:
    """Send a request's head (declaring a body) and no body; return the answer's status
    line. The server must answer without waiting for the body: it never comes."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", site.server.port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)  # the timeout above: a server that waits fails here
            assert chunk, f"the connection closed without an answer: {answer!r}"
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


GIGABYTE = str(1 << 30)


@pytest.mark.parametrize("path, kind", [
    ("/api/streams/upload", "multipart/form-data; boundary=x"),
    ("/api/streams", "application/json"),
    ("/api/streamers/1/faces", "multipart/form-data; boundary=x"),
])
def test_an_anonymous_1gb_body_is_answered_before_it_is_sent(site: Site, path: str,
                                                              kind: str) -> None:
    status = send_headers_only(site, path, {"Content-Type": kind,
                                            "Content-Length": GIGABYTE})
    assert " 401 " in status, status
    forged = send_headers_only(site, path, {"Content-Type": kind, "Content-Length": GIGABYTE,
                                            "Authorization": "Bearer cf_forged",
                                            "Cookie": "clipforge_session=forged.sig"})
    assert " 401 " in forged, forged
    streamed = send_headers_only(site, path, {"Content-Type": kind,
                                              "Transfer-Encoding": "chunked"})
    assert " 401 " in streamed, streamed


def test_bodies_over_the_route_cap_are_refused(site: Site) -> None:
    declared = send_headers_only(site, "/api/streams", {
        "Content-Type": "application/json", "Content-Length": GIGABYTE,
        "Authorization": f"Bearer {site.token}"})
    assert " 413 " in declared, declared

    def streamed() -> Iterator[bytes]:  # chunked: no Content-Length to trust
        yield b'{"url": "'
        for _ in range(64):
            yield b"a" * 8192
        yield b'"}'

    refused = site.api().post("/api/streams", content=streamed(),
                              headers={"Content-Type": "application/json"})
    assert refused.status_code == 413, refused.text
    assert refused.json()["code"] == "too_large"
    small = site.api().post("/api/streams", json={"url": "x" * 100})
    assert small.status_code == 422  # under the cap: read, parsed, then judged


# 3. Sessions, tokens and logins --------------------------------------------------------------

def web_login(site: Site, user: str, password: str) -> tuple[str, str]:
    """Log in through the login form as a browser does; returns the session cookie's
    value and the session's CSRF token. Cookies are carried by hand: they are Secure
    (the public URL is https), which a client on plain http would not send back."""
    with httpx.Client(base_url=site.server.url) as web:
        form = web.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text
        form_cookie = _cookie(form, "clipforge_login_csrf")
        done = web.post("/login", data={"username": user, "password": password,
                                        "csrf": csrf.group(1)},
                        headers={"Cookie": f"clipforge_login_csrf={form_cookie}"})
        assert done.status_code == 303 and "failed" not in done.headers["location"], done
        set_cookie = done.headers["set-cookie"]
        assert "Secure" in set_cookie and "HttpOnly" in set_cookie, set_cookie
        session = _cookie(done, "clipforge_session")
        page = web.get("/", headers={"Cookie": f"clipforge_session={session}"})
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert token, page.text
    return session, token.group(1)


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie in {response.headers}")


def as_browser(site: Site, session: str) -> httpx.Client:
    return httpx.Client(base_url=site.server.url,
                        headers={"Cookie": f"clipforge_session={session}"})


def test_logout_ends_the_session_for_good(site: Site) -> None:
    site.server.cli("user", "create", "bob", "--password", "bob's password")
    session, csrf = web_login(site, "bob", "bob's password")
    with as_browser(site, session) as browser:
        assert browser.get("/api/me").json()["user"] == "bob"
        out = browser.post("/logout", data={"csrf": csrf})
        assert out.status_code == 303
        replayed = browser.get("/api/me")  # the old cookie, kept by an attacker
    assert replayed.status_code == 401, replayed.text


def test_a_new_password_ends_every_session(site: Site) -> None:
    site.server.cli("user", "create", "carol", "--password", "old password")
    session, _ = web_login(site, "carol", "old password")
    with as_browser(site, session) as browser:
        assert browser.get("/api/me").status_code == 200
        site.server.cli("user", "password", "carol", "--password", "new password")
        assert browser.get("/api/me").status_code == 401


def test_tokens_are_listed_without_their_secret_and_revoked(site: Site) -> None:
    token = site.server.cli("token", "create", "alice", "--label", "laptop").strip()
    assert site.api(token).get("/api/me").status_code == 200
    listing = site.server.cli("token", "list")
    assert token not in listing
    line = next(row for row in listing.splitlines() if "\tlaptop\t" in row)
    assert "\tactive\t" in line and "expires 20" in line
    site.server.cli("token", "revoke", line.split("\t")[0])
    assert site.api(token).get("/api/me").status_code == 401
    assert "\trevoked\t" in next(row for row in site.server.cli("token", "list").splitlines()
                                   if row.startswith(line.split("\t")[0] + "\t"))


def test_tokens_expire(site: Site) -> None:
    token = site.server.cli("token", "create", "alice", "--label", "short-lived").strip()
    assert site.api(token).get("/api/me").status_code == 200
    engine = sa.create_engine(site.server.database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE api_tokens SET expires_at = :past WHERE name = :n"),
                     {"past": "2020-01-01 00:00:00+00:00", "n": "short-lived"})
    engine.dispose()
    assert site.api(token).get("/api/me").status_code == 401


def test_websocket_takes_no_token_in_the_url_and_the_log_shows_none(site: Site) -> None:
    with site.recording.open("rb") as video:
        sid = site.api().post("/api/streams/upload", files={
            "file": ("ws.mp4", video, "video/mp4")}).json()["id"]
    base = site.server.url.replace("http", "ws")
    with connect(f"{base}/ws?since=0&stream_id={sid}&token={site.token}") as ws:
        ws.send("{}")  # no credentials but the URL's, which are ignored
        assert json.loads(ws.recv(timeout=30))["error"] == "unauthorized"
    with connect(f"{base}/ws?since=0&stream_id={sid}") as ws:
        ws.send(json.dumps({"token": site.token}))
        event = json.loads(ws.recv(timeout=30))
    assert event["name"] == "stream.submitted" and event["stream_id"] == sid
    log = site.server.log.read_text()
    assert "/ws" in log and site.token not in log and "token=" not in log


# 5. SSRF, secrets, files, images, OAuth, flashes ----------------------------------------------

class Listener:
    """A local HTTP server that logs every request it receives: the internal service an
    attacker wants the server to reach."""

    def __init__(self, redirect_to: str = "") -> None:
        seen = self.requests = []  # type: list[str]

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                seen.append(self.path)
                self.send_response(302 if redirect_to else 200)
                if redirect_to:
                    self.send_header("Location", redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_private_addresses_hidden_in_ipv6_forms_are_refused(site: Site) -> None:
    with Listener() as internal:
        forms = ["::ffff:127.0.0.1", "::ffff:7f00:1", "::7f00:1", "64:ff9b::7f00:1",
                 "64:ff9b:1::a00:1", "2002:7f00:1::1", "::1"]
        for form in forms:
            url = f"http://[{form}]:{internal.port}/internal.mp4"
            refused = site.api().post("/api/streams", json={"url": url})
            assert refused.status_code == 422, (form, refused.text)
            assert refused.json()["code"] == "unsafe_url", (form, refused.text)
        assert internal.requests == []  # not one request reached it
        # The listener does log: the same address asked directly is seen.
        httpx.get(f"http://127.0.0.1:{internal.port}/direct")
        assert internal.requests == ["/direct"]


def test_a_redirect_to_a_private_address_is_refused_before_it_is_sent(site: Site) -> None:
    """localhost is allowed by name; where it redirects (127.0.0.1, by address) is
    checked when yt-dlp connects, so the internal service never sees the request."""
    with Listener() as internal, \
            Listener(redirect_to=f"http://127.0.0.1:{internal.port}/internal.mp4") as hop:
        refused = site.api().post("/api/streams",
                                  json={"url": f"http://localhost:{hop.port}/vod.mp4"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "unsafe_url", refused.text
        assert hop.requests and set(hop.requests) == {"/vod.mp4"}  # the first hop: asked
        assert internal.requests == []  # the redirect: refused before it was sent
        httpx.get(f"http://127.0.0.1:{internal.port}/direct")  # the listener does log
        assert internal.requests == ["/direct"]


def test_a_placeholder_or_short_secret_key_stops_the_server(tmp_path: Path) -> None:
    from tests.conftest import cli_env, clipforge_cmd

    for key in ("change-me-to-a-long-random-string", "short", "a" * 64):
        env = dict(cli_env(tmp_path / "data"), CLIPFORGE_SECRET_KEY=key)
        proc = subprocess.run(clipforge_cmd("serve", "--port", "1"), env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (key, proc.stdout, proc.stderr)
        assert "CLIPFORGE_SECRET_KEY" in proc.stderr
    compose = (Path(__file__).parents[1] / "deploy" / "compose.yaml").read_text()
    assert "CLIPFORGE_SECRET_KEY:" not in compose and "keygen:" in compose


def test_the_data_folder_and_database_are_private(site: Site) -> None:
    folder = site.server.data_dir
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "secret_key").stat().st_mode) == 0o600
    if site.server.database_url.startswith("sqlite:///"):
        database = Path(site.server.database_url.removeprefix("sqlite:///"))
        assert stat.S_IMODE(database.stat().st_mode) == 0o600


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds almost nothing: a decoder would allocate
    width x height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 8)  # a few rows; the rest missing
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + \
        chunk(b"IEND", b"")


def test_images_over_25_megapixels_are_refused_from_their_header(site: Site) -> None:
    api = site.api()
    made = api.post("/api/streamers", json={"name": "image-probe"})
    assert made.status_code == 201, made.text
    huge = png_header(12000, 12000)
    assert len(huge) < 200_000
    refused = api.post(f"/api/streamers/{made.json()['id']}/faces",
                       files={"image": ("huge.png", huge, "image/png")})
    assert refused.status_code == 413 and "12000x12000" in refused.text, refused.text
    not_image = api.post(f"/api/streamers/{made.json()['id']}/faces",
                         files={"image": ("x.png", b"GIF89a....", "image/png")})
    assert not_image.status_code == 422, not_image.text


def test_oauth_comes_back_only_to_the_public_url_and_flashes_known_codes(site: Site
                                                                         ) -> None:
    site.server.cli("user", "create", "oscar", "--password", "oscar's password",
                    "--role", "owner")
    session, _ = web_login(site, "oscar", "oscar's password")
    streamer = site.api().post("/api/streamers", json={"name": "oauth-probe"}).json()["id"]
    with as_browser(site, session) as browser:
        out = browser.get(f"/accounts/connect/youtube?streamer_id={streamer}",
                          headers={"Host": "attacker.example"})
        assert out.status_code == 303, out.text
        query = parse_qs(urlsplit(out.headers["location"]).query)
        assert query["redirect_uri"] == [f"{PUBLIC_URL}/accounts/callback/youtube"]
        back = browser.get("/accounts/callback/youtube",
                           params={"error": "<b>Your account is suspended, call 555</b>"})
    assert back.status_code == 303
    assert back.headers["location"] == "/streamers?error=stale_state"


def test_workers_stay_local_or_need_a_token(site: Site, tmp_path: Path) -> None:
    from tests.cluster import Worker, redis_server
    from tests.conftest import cli_env, clipforge_cmd

    env = dict(cli_env(tmp_path / "w"), CLIPFORGE_REDIS_URL="redis://127.0.0.1:1/0",
               CLIPFORGE_DATABASE_URL=site.server.database_url)
    wide = subprocess.run(clipforge_cmd("worker", "--stage", "scoring", "--host", "0.0.0.0"),
                          env=env, capture_output=True, text=True, timeout=120)
    assert wide.returncode == 2 and "CLIPFORGE_WORKER_TOKEN" in wide.stderr, wide.stderr
    if site.server.database_url.startswith("sqlite"):
        return  # a running worker needs PostgreSQL: the other parameter runs it
    token = "worker-token-0123456789abcdef"
    with redis_server(tmp_path / "redis") as redis:
        worker = Worker(tmp_path, "scoring", dict(env, CLIPFORGE_REDIS_URL=redis.url,
                                                  CLIPFORGE_WORKER_TOKEN=token), 1, 1)
        try:
            worker.start().wait_ready()  # /health needs no token
            assert httpx.get(f"{worker.url}/metrics").status_code == 401
            assert httpx.post(f"{worker.url}/jobs/1/run").status_code == 401
            assert httpx.get(f"{worker.url}/metrics", headers={
                "Authorization": f"Bearer {token}"}).status_code == 200
        finally:
            worker.stop()


def test_logins_are_rate_limited_per_user_and_per_address(site: Site) -> None:
    """Last in this module: it uses up the logins of this test's address."""
    site.server.cli("user", "create", "dave", "--password", "dave's password")
    login = site.api().post  # the token is ignored: logging in needs none
    for _ in range(LOGIN_ATTEMPTS):
        assert login("/api/auth/token", json={"username": "dave",
                                              "password": "guess"}).status_code == 401
    locked = login("/api/auth/token", json={"username": "dave",
                                            "password": "dave's password"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0, locked.text
    for n in range(2 * LOGIN_ATTEMPTS):  # other names, the same address
        assert login("/api/auth/token", json={"username": f"nobody{n}",
                                              "password": "guess"}).status_code == 401
    site.server.cli("user", "create", "erin", "--password", "erin's password")
    refused = login("/api/auth/token", json={"username": "erin",
                                             "password": "erin's password"})
    assert refused.status_code == 429, refused.text


# 6. Workspaces, members and roles ------------------------------------------------------------

@dataclass
class Other:
    """Workspace `teamb` (bella owns it), with one of each thing that has an id; and
    vic, a viewer of `default` (alice's)."""

    owner: str  # bella's token
    viewer: str  # vic's token (workspace default)
    ids: dict[str, str]  # path parameter name -> an id in teamb
    stream_a: int  # alice's stream of the same bytes


def example(schema: dict, doc: dict) -> object:
    """A small value that satisfies an OpenAPI schema: a body that passes validation, so
    that what answers is the route's own check."""
    if "$ref" in schema:
        return example(doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], doc)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return example(options[0], doc)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required") or list(props)[:1]
        return {name: example(props[name], doc) for name in required}
    if kind == "array":
        return [example(schema.get("items", {}), doc)] * max(1, schema.get("minItems", 1))
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return "x" * max(1, schema.get("minLength", 1))


def call(api: httpx.Client, method: str, path: str, operation: dict,
         doc: dict) -> httpx.Response:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return api.request(method, path, json=example(content["application/json"]["schema"],
                                                      doc))
    if "multipart/form-data" in content:
        schema = example(content["multipart/form-data"]["schema"], doc)
        assert isinstance(schema, dict)
        return api.request(method, path, files={
            name: (f"{name}.png", png_header(64, 64), "image/png") for name in schema})
    return api.request(method, path)


@pytest.fixture(scope="module")
def other(site: Site) -> Other:
    from sqlalchemy.orm import Session

    from clipforge.storage.models import (
        AccountRow,
        ClipRow,
        JobRow,
        PublicationRow,
        StreamerFaceRow,
        UserRow,
    )

    cli = site.server.cli
    cli("workspace", "create", "teamb")
    owner = cli("user", "create", "bella", "--password", "bella's password",
                "--workspace", "teamb").strip()
    viewer = cli("user", "create", "vic", "--workspace", "default", "--role",
                 "viewer").strip()
    b = site.api(owner)
    assert b.get("/api/me").json() == {"user": "bella", "workspace": "teamb",
                                       "role": "owner"}
    with site.recording.open("rb") as video:  # the bytes alice submits too
        stream_a = site.api().post("/api/streams/upload", files={
            "file": ("alice.mp4", video, "video/mp4")}, data={"top": "3"}).json()
    with site.recording.open("rb") as video:
        stream_b = b.post("/api/streams/upload", files={
            "file": ("bella.mp4", video, "video/mp4")}, data={"top": "7"}).json()
    streamer = b.post("/api/streamers", json={"name": "bellastreams"}).json()["id"]
    engine = sa.create_engine(site.server.database_url)
    with Session(engine) as s, s.begin():  # the rows processing and OAuth would make
        clip = ClipRow(id="b0b0b0b0b0", stream_id=stream_b["id"], rank=1, start=0.0,
                       end=2.0, score=1.0, reasons={}, title="bella's clip",
                       layout="auto", status="approved", file=None)
        s.add(clip)
        face_file = site.server.data_dir / "bella-face.png"
        face_file.write_bytes(png_header(8, 8))
        face = StreamerFaceRow(streamer_id=streamer, file=str(face_file), embedding=None)
        account = AccountRow(platform="youtube", name="Bella TV", streamer_id=streamer,
                             tokens="sealed", workspace_id=s.scalar(sa.text(
                                 "SELECT id FROM workspaces WHERE name = 'teamb'")))
        s.add_all([face, account])
        s.flush()
        s.add(PublicationRow(clip_id=clip.id, platform="youtube", status="failed",
                             progress={}, request={}))
        job = s.scalar(sa.select(JobRow.id).where(JobRow.stream_id == stream_b["id"]))
        bella = s.scalar(sa.select(UserRow.id).where(UserRow.name == "bella"))
        ids = {"stream_id": str(stream_b["id"]), "clip_id": clip.id,
               "streamer_id": str(streamer), "face_id": str(face.id),
               "account_id": str(account.id), "job_id": str(job), "user_id": str(bella)}
    engine.dispose()
    return Other(owner, viewer, ids, stream_a["id"])


def test_another_workspaces_ids_answer_404_or_403_on_every_operation(site: Site,
                                                                      other: Other) -> None:
    """Driven from the OpenAPI document: a new route is covered without a new line here."""
    doc = httpx.get(f"{site.server.url}/openapi.json").json()
    tried = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            if not names:
                continue
            url = path.format(**{n: other.ids[n] for n in names})  # a KeyError: a new id
            for who, token, allowed in (("owner", site.token, {404}),
                                        ("viewer", other.viewer, {403, 404})):
                answer = call(site.api(token), method.upper(), url, operation, doc)
                assert answer.status_code in allowed, (who, method, url, answer.text)
                assert "bella" not in answer.text.lower(), (who, method, url, answer.text)
            tried += 1
    assert tried >= 20  # every operation with an id
    # teamb's things are still there, as they were: nothing above changed them
    b = site.api(other.owner)
    assert b.get(f"/api/streams/{other.ids['stream_id']}").status_code == 200
    assert b.get(f"/api/clips/{other.ids['clip_id']}").json()["status"] == "approved"
    assert len(b.get(f"/api/streamers/{other.ids['streamer_id']}/accounts").json()) == 1
    assert [m["user"] for m in b.get("/api/workspace").json()["members"]] == ["bella"]


def test_lists_and_events_show_only_the_callers_workspace(site: Site, other: Other) -> None:
    a, b = site.api(), site.api(other.owner)
    theirs = int(other.ids["stream_id"])
    for path, field, their_id in (("/api/streams", "id", theirs),
                                  ("/api/jobs", "stream_id", theirs),
                                  ("/api/streamers", "id", int(other.ids["streamer_id"])),
                                  ("/api/publications", "clip_id", other.ids["clip_id"])):
        listed = a.get(path, params={"limit": 200}).json()["items"]
        assert all(item[field] != their_id for item in listed), path
        assert "bella" not in json.dumps(listed).lower(), path
        assert b.get(path).json()["items"], path  # teamb's are there, for teamb
    assert b.get("/api/jobs", params={"stream_id": other.stream_a}).json()["items"] == []
    assert all(e["stream_id"] != theirs for e in a.get("/api/events", params={
        "limit": 500}).json())
    assert {e["stream_id"] for e in b.get("/api/events", params={"limit": 500}).json()} == {
        theirs}


def test_the_websocket_delivers_none_of_another_workspaces_events(site: Site,
                                                                  other: Other) -> None:
    base = site.server.url.replace("http", "ws")
    theirs = int(other.ids["stream_id"])
    with connect(f"{base}/ws?since=0",
                 additional_headers={"Authorization": f"Bearer {site.token}"}) as ws:
        # teamb's news first, alice's after it: the events go out in order, so alice's
        # arriving proves teamb's was passed over, not merely late.
        assert site.api(other.owner).post(f"/api/streams/{theirs}/cancel").status_code == 200
        assert site.api().post(f"/api/streams/{other.stream_a}/cancel").status_code == 200
        seen = []
        while not seen or seen[-1] != (other.stream_a, "stream.cancelled"):
            event = json.loads(ws.recv(timeout=30))
            seen.append((event["stream_id"], event["name"]))
    assert all(stream != theirs for stream, _ in seen), seen


def test_the_same_bytes_in_two_workspaces_are_two_streams(site: Site, other: Other) -> None:
    a, b = site.api(), site.api(other.owner)
    mine = a.get(f"/api/streams/{other.stream_a}").json()
    theirs = b.get(f"/api/streams/{other.ids['stream_id']}").json()
    assert mine["id"] != theirs["id"]
    assert mine["options"]["top"] == 3 and theirs["options"]["top"] == 7  # neither took over
    engine = sa.create_engine(site.server.database_url)
    with engine.begin() as conn:  # the API shows no server paths: ask the database
        folders = [conn.execute(sa.text("SELECT options FROM streams WHERE id = :i"),
                                {"i": i}).scalar_one() for i in (mine["id"], theirs["id"])]
    engine.dispose()
    assert len({(f if isinstance(f, dict) else json.loads(f))["out_dir"] for f in folders}) == 2
    assert mine["streamer_id"] != theirs["streamer_id"]  # each workspace's `default`
    with site.recording.open("rb") as video:  # submitted again by teamb: still its own
        again = b.post("/api/streams/upload", files={"file": ("b.mp4", video, "video/mp4")},
                       data={"top": "9"}).json()
    assert again["id"] == theirs["id"]
    assert a.get(f"/api/streams/{other.stream_a}").json()["options"] == mine["options"]


def test_roles_viewer_watches_editor_edits_owner_manages(site: Site, other: Other) -> None:
    viewer = site.api(other.viewer)
    assert viewer.get(f"/api/streams/{other.stream_a}").status_code == 200
    with site.recording.open("rb") as video:
        refused = viewer.post("/api/streams/upload", files={"file": ("v.mp4", video,
                                                                    "video/mp4")})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden", refused.text
    assert viewer.post(f"/api/streams/{other.stream_a}/reprocess").status_code == 403
    editor = site.api(site.server.cli("user", "create", "eddie", "--role", "editor").strip())
    made = editor.post("/api/streamers", json={"name": "eddies"})
    assert made.status_code == 201, made.text
    assert editor.patch(f"/api/streamers/{made.json()['id']}", json={
        "settings": {"layout": "crop"}}).status_code == 403  # settings: owners
    assert editor.put("/api/workspace/members", json={"user": "vic", "role": "editor"}
                      ).status_code == 403
    owner = site.api()
    promoted = owner.put("/api/workspace/members", json={"user": "vic", "role": "editor"})
    assert promoted.status_code == 200, promoted.text
    assert {m["user"]: m["role"] for m in promoted.json()["members"]}["vic"] == "editor"
    assert owner.put("/api/workspace/members", json={"user": "vic", "role": "viewer"}
                     ).status_code == 200


def test_cli_tokens_are_listed_and_revoked_per_workspace(site: Site, other: Other) -> None:
    listing = site.server.cli("token", "list", "--workspace", "teamb")
    assert {row.split("\t")[1] for row in listing.splitlines()} == {"bella"}
    alices = next(row.split("\t")[0] for row in site.server.cli("token", "list").splitlines()
                  if "\talice\t" in row)
    proc = subprocess.run(clipforge_cmd("token", "revoke", alices, "--workspace", "teamb"),
                          env=site.server.env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no such token" in proc.stderr, proc.stderr
    assert site.api().get("/api/me").status_code == 200


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    if kind.startswith("sqlite"):
        yield f"sqlite:///{folder / 'fresh.db'}"
    else:
        with pg_database() as url:
            yield url


def test_a_process_and_a_server_never_run_each_others_jobs(database_url: str,
                                                          tmp_path: Path) -> None:
    """`clipforge process` marks its stream (runner "process") and runs only that stream's
    jobs; a server's pool and the workers' sweeper take every job but those."""
    with fresh_database(database_url, tmp_path) as url:
        _process_and_server(url)


def _process_and_server(url: str) -> None:
    from sqlalchemy.orm import Session

    from clipforge.storage import ledger
    from clipforge.storage.models import JobRow, StreamRow
    from clipforge.storage.repository import Repository

    Repository(url).engine.dispose()  # the schema
    engine = sa.create_engine(url)
    with Session(engine) as s, s.begin():
        mine = StreamRow(key="processed-here", source="x", duration=1.0, run=1,
                         status="processing", runner="process")
        served = StreamRow(key="served-there", source="y", duration=1.0, run=1,
                           status="processing")
        s.add_all([mine, served])
        s.flush()
        first = JobRow(key="processed-here:ingest", stream_id=mine.id, run=1,
                       stage="ingest", target="source", payload={})
        second = JobRow(key="served-there:ingest", stream_id=served.id, run=1,
                        stage="ingest", target="source", payload={})
        s.add_all([first, second])  # the process's job is the older one
        s.flush()
        ids = (mine.id, served.id, first.id, second.id)
    with Session(engine) as s, s.begin():  # a server's pool: any stream's job
        runnable = [job for job, *_ in ledger.runnable_queued(s)]
        taken = ledger.claim(s, "server:1", 60.0)
        assert taken is not None and taken.id == ids[3], taken
        taken.status = "done"
    assert ids[2] not in runnable and ids[3] in runnable
    with Session(engine) as s, s.begin():  # the process: its own stream's
        assert ledger.claim(s, "server:1", 60.0) is None
        taken = ledger.claim(s, "process:2", 60.0, stream_id=ids[0])
        assert taken is not None and taken.id == ids[2]
    engine.dispose()


# 7. Settings validated on input; /docs under the CSP -----------------------------------------

def test_streamer_settings_are_validated_with_one_schema(site: Site) -> None:
    api = site.api()
    sid = api.post("/api/streamers", json={"name": "settings-probe"}).json()["id"]
    refused = {
        "caption_size": 9000, "caption_colour": "red", "privacy": "pubic",
        "auto_publish": "youtube,myspace", "layout": "sideways", "nonsense": "x",
    }
    for key, value in refused.items():
        answer = api.patch(f"/api/streamers/{sid}", json={"settings": {key: value}})
        assert answer.status_code == 422, (key, answer.text)
        assert f"settings.{key}" in answer.json()["message"], (key, answer.text)
    too_many = {f"k{n}": "x" for n in range(40)}
    assert api.patch(f"/api/streamers/{sid}", json={"settings": too_many}
                     ).status_code == 422
    long_value = api.patch(f"/api/streamers/{sid}", json={"settings": {
        "hashtags": "#a" * 3000}})
    assert long_value.status_code == 422, long_value.text
    # auto_publish: only the platforms with a connected account (this one has none)
    unconnected = api.patch(f"/api/streamers/{sid}", json={"settings": {
        "auto_publish": "youtube"}})
    assert unconnected.status_code == 422 and "connect" in unconnected.json()["message"]
    kept = api.patch(f"/api/streamers/{sid}", json={"settings": {
        "caption_size": 90, "caption_colour": "#FFAA00", "privacy": "unlisted",
        "auto_publish": "", "layout": "crop"}})
    assert kept.status_code == 200, kept.text
    assert kept.json()["settings"] == {"caption_size": 90, "caption_colour": "#ffaa00",
                                       "privacy": "unlisted", "auto_publish": "",
                                       "layout": "crop"}
    from clipforge.publish import templates
    fields = templates.Fields("t", "s", "st", "2026-01-01", [])
    assert templates.youtube({"privacy": "pubic"}, fields)["privacy"] == "private"


def test_docs_load_nothing_from_elsewhere(site: Site) -> None:
    page = httpx.get(f"{site.server.url}/docs")
    assert page.status_code == 200, page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "/api/streams/{stream_id}/cancel" in page.text and "POST" in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert httpx.get(f"{site.server.url}/redoc").status_code == 404


def test_the_migration_moves_existing_data_into_workspace_default(database_url: str,
                                                                   tmp_path: Path) -> None:
    from clipforge.storage import database

    with fresh_database(database_url, tmp_path) as url:
        engine = database.make_engine(url)
        database.upgrade(engine, "0004_jobs")
        now = "2026-01-01 00:00:00+00:00"
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO users (name, created_at) VALUES ('old', :t)"),
                         {"t": now})
            conn.execute(sa.text("INSERT INTO streamers (name, settings, created_at) "
                                 "VALUES ('default', '{}', :t)"), {"t": now})
            conn.execute(sa.text(
                "INSERT INTO streams (key, name, source, duration, status, info, options, "
                "run, created_at, submitted_at, updated_at) VALUES ('k', 'n', 's', 1.0, "
                "'done', '{}', '{}', 1, :t, :t, :t)"), {"t": now})
            conn.execute(sa.text(
                "INSERT INTO accounts (platform, name, tokens, status, created_at) VALUES "
                "('youtube', 'Old TV', 'sealed', 'connected', :t)"), {"t": now})
        database.upgrade(engine)
        with engine.begin() as conn:
            default = conn.execute(sa.text(
                "SELECT id FROM workspaces WHERE name = 'default'")).scalar_one()
            for table in ("streams", "streamers", "accounts"):
                assert conn.execute(sa.text(f"SELECT workspace_id FROM {table}")
                                    ).scalars().all() == [default], table
            assert conn.execute(sa.text("SELECT role FROM members")).scalars().all() == [
                "owner"]
            # the same names may now live in another workspace
            conn.execute(sa.text("INSERT INTO workspaces (name, created_at) VALUES "
                                 "('other', :t)"), {"t": now})
            other = conn.execute(sa.text(
                "SELECT id FROM workspaces WHERE name = 'other'")).scalar_one()
            conn.execute(sa.text("INSERT INTO streamers (name, settings, created_at, "
                                 "workspace_id) VALUES ('default', '{}', :t, :w)"),
                         {"t": now, "w": other})
            conn.execute(sa.text("DELETE FROM streamers WHERE workspace_id = :w"),
                         {"w": other})
        database.downgrade(engine, "0004_jobs")  # and back, with the rows of one workspace
        engine.dispose()
