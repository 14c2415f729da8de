"""Ingest from URLs through the real yt-dlp (generic extractor) against a local server
serving MP4 and HLS: the analysis download uses the low rendition, only the clips' time
ranges are fetched in high resolution, a killed download resumes where it stopped, errors
are clear, and private addresses are refused unless allowed."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from yt_dlp.utils import DownloadError, ExtractorError, GeoRestrictedError

from clipforge import errors
from clipforge.sources import addresses, ingest
from clipforge.sources.proxy import CheckingProxy
from tests.conftest import cli_env, clipforge_cmd
from tests.ingest_media import IngestMedia, ingest_media
from tests.media_server import MediaServer
from tests.servers import Server
from tests.test_cli_errors import assert_clean_error

ALLOW = ingest.Limits(allow_private=True)


@pytest.fixture(scope="module")
def media() -> IngestMedia:
    return ingest_media()


@pytest.fixture
def server(media: IngestMedia) -> Iterator[MediaServer]:
    running = MediaServer(media.root).start()
    yield running
    running.stop()


def clipforge(*args: str, data: Path, allow: bool = True) -> subprocess.Popen[str]:
    env = cli_env(data)
    env["CLIPFORGE_ALLOW_PRIVATE_URLS"] = "true" if allow else "false"
    env["CLIPFORGE_CHUNK_SECONDS"] = "60"
    return subprocess.Popen(clipforge_cmd(*args), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def segment(path: str) -> int:
    return int(Path(path).stem.removeprefix("seg"))


# --- 1. low rendition for analysis, high only for the clips ------------------------------

def test_hls_url_end_to_end_fetches_high_resolution_only_for_the_clip(
        server: MediaServer, media: IngestMedia, tmp_path: Path) -> None:
    url = server.url("hls/master.m3u8")
    out = tmp_path / "out"
    proc = finish(clipforge("process", url, "--top", "1", "--out", str(out), "-q",
                            data=tmp_path / "data"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["stream"]["source"] == url
    assert abs(report["stream"]["duration"] - media.duration) < 1.0
    [clip] = report["clips"]
    assert (out / clip["file"]).stat().st_size > 0

    low = [r for r in server.requests("/hls/low/") if r.path.endswith(".ts")]
    high = [r for r in server.requests("/hls/high/") if r.path.endswith(".ts")]
    # The analysis download: every low segment, once.
    assert sorted(r.path for r in low) == [f"/hls/low/{n}" for n in media.segments("low")]
    # High resolution: only the segments around the clip (2 s segments, 2 s padding; the
    # first segment is read once when ffmpeg opens the playlist).
    fetched = sorted({segment(r.path) for r in high} - {0})
    lo, hi = clip["start"] - 2.0, clip["end"] + 2.0
    assert fetched and all(lo - 4.0 <= 2 * n <= hi + 2.0 for n in fetched), (fetched, clip)
    whole = sum(p.stat().st_size for p in (media.root / "hls" / "high").glob("*.ts"))
    # In bytes: the clip, 2 s of padding and up to a segment more at each end, and the
    # first segment; far less than the whole rendition.
    share = (clip["end"] - clip["start"] + 12.0) / media.duration
    assert server.sent("/hls/high/") <= share * whole < 0.5 * whole
    print(f"high rendition: {server.sent('/hls/high/')} of {whole} bytes, "
          f"{len(fetched) + 1} of {len(media.segments('high'))} segments; "
          f"low: {server.sent('/hls/low/')} bytes")


def test_a_section_of_a_direct_mp4_is_read_by_range(server: MediaServer, media: IngestMedia,
                                                    tmp_path: Path) -> None:
    path = ingest.download(server.url("high.mp4"), tmp_path, "part", ingest.RENDER_FORMAT,
                           ALLOW, section=(40.0, 50.0))
    assert 9.5 < _duration(path) < 10.6
    size = (media.root / "high.mp4").stat().st_size
    seeks = [r for r in server.requests("/high.mp4") if r.first > 0]
    assert seeks and min(r.first for r in seeks) > 0.3 * size  # ffmpeg seeked into it
    assert all(r.via == "1.1 clipforge" for r in seeks)  # through the checking proxy
    # Done once: asked again, nothing is fetched.
    before = len(server.log)
    assert ingest.download(server.url("high.mp4"), tmp_path, "part", ingest.RENDER_FORMAT,
                           ALLOW, section=(40.0, 50.0)) == path
    assert len(server.log) == before


def _duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    return float(out.stdout)


# --- 2. a killed download resumes --------------------------------------------------------

def test_killed_download_resumes_without_refetching(server: MediaServer, media: IngestMedia,
                                                    tmp_path: Path) -> None:
    url = server.url("low.mp4")
    size = (media.root / "low.mp4").stat().st_size
    server.rate = 600_000  # bytes/s: slow enough to kill the download half way
    args = ("process", url, "--top", "1", "--no-render", "--out", str(tmp_path / "out"), "-q")
    first = clipforge(*args, data=tmp_path / "data")
    deadline = time.monotonic() + 300  # a hang guard: a starved machine downloads slowly
    while server.sent("/low.mp4") < size // 3:
        assert first.poll() is None and time.monotonic() < deadline, first.stderr
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = server.sent("/low.mp4")
    assert killed_at < size
    part = next((tmp_path / "data").rglob("media.*.part"))
    kept = part.stat().st_size
    assert 0 < kept <= killed_at

    # Still throttled (less): yt-dlp's generic extractor opens a media URL to sniff its
    # type and closes it after 512 bytes; at full loopback speed the server would have
    # pushed megabytes into socket buffers by then, which the client never reads.
    server.rate = 4_000_000
    before = len(server.log)
    proc = finish(clipforge(*args, data=tmp_path / "data"))
    assert proc.returncode == 0, proc.stderr
    again = server.log[before:]
    resumed = [r for r in again if r.path == "/low.mp4" and r.range]
    assert [r.range for r in resumed] == [f"bytes={kept}-"]
    assert resumed[0].sent == size - kept
    # Besides the resumed request, only yt-dlp's look at the first bytes of the URL.
    assert all(r.sent <= 256 * 1024 for r in again if r not in resumed), again

    # Finished: a third run fetches none of the media again.
    before = len(server.log)
    proc = finish(clipforge(*args, data=tmp_path / "data"))
    assert proc.returncode == 0, proc.stderr
    assert sum(r.sent for r in server.log[before:]) <= 256 * 1024


# --- 4. errors ---------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "kind", "words"), [
    (404, errors.VideoUnavailable, "deleted"),
    (410, errors.VideoUnavailable, "deleted"),
    (403, errors.VideoUnavailable, "private"),
    (451, errors.GeoBlocked, "country"),
])
def test_site_refusals_map_to_clear_errors(server: MediaServer, status: int,
                                           kind: type[errors.ClipForgeError],
                                           words: str) -> None:
    server.statuses["/gone.mp4"] = status
    url = server.url("gone.mp4")
    with pytest.raises(kind) as caught:
        ingest.resolve(url, ALLOW)
    assert caught.value.exit_code == 2
    assert url in caught.value.message and words in caught.value.message


def test_unsupported_site(server: MediaServer) -> None:
    url = server.url("page.html")
    with pytest.raises(errors.UnsupportedSite) as caught:
        ingest.resolve(url, ALLOW)
    assert url in caught.value.message and "unsupported site" in caught.value.message


def test_no_network(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/vod.mp4"
    with pytest.raises(errors.NoNetwork) as caught:
        ingest.resolve(url, ALLOW)
    assert url in caught.value.message and "online" in caught.value.message


def test_live_stream_still_running(server: MediaServer) -> None:
    url = server.url("hls/high/live.m3u8")  # a playlist without #EXT-X-ENDLIST
    with pytest.raises(errors.LiveStillRunning) as caught:
        ingest.resolve(url, ALLOW)
    assert url in caught.value.message and "still live" in caught.value.message


def test_too_large_and_too_long(server: MediaServer, tmp_path: Path) -> None:
    url = server.url("low.mp4")
    with pytest.raises(errors.TooLarge):
        ingest.download(url, tmp_path, "x", "b", ingest.Limits(True, max_bytes=1 << 20))
    with pytest.raises(errors.TooLong):
        ingest.resolve(server.url("hls/master.m3u8"), ingest.Limits(True, max_seconds=60))


def _yt_dlp_error(message: str, cause: Exception) -> DownloadError:
    """A DownloadError as YoutubeDL.report_error raises it: "ERROR: " + the message, with
    the extractor's exception in exc_info."""
    return DownloadError(f"ERROR: {message}", (type(cause), cause, None))


# Errors only a real platform produces, in yt-dlp's words:
# - Twitch sub-only VOD: yt_dlp/extractor/twitch.py (`_download_access_token`) raises
#   raise_login_required('You must be logged into an account that has access to this
#   subscriber-only content'), to which yt-dlp adds its login hint.
# - YouTube private, deleted, members-only, upcoming: the playability `reason` YouTube
#   sends, as yt-dlp's youtube extractor raises it (messages as users report them in
#   yt-dlp's issue tracker, e.g. "Private video. Sign in if you've been granted access
#   to this video").
# - Geo-blocked: GeoRestrictedError from raise_geo_restricted (extractor/common.py).
PLATFORM_ERRORS = [
    ("[twitch:vod] v2000000000: You must be logged into an account that has access to "
     "this subscriber-only content. Use --cookies-from-browser or --cookies for the "
     "authentication.", ExtractorError, errors.SubscriberOnly, "subscribers"),
    ("[youtube] abcdefghijk: Join this channel to get access to members-only content like "
     "this video, and other exclusive perks.", ExtractorError, errors.SubscriberOnly,
     "members"),
    ("[youtube] abcdefghijk: Private video. Sign in if you've been granted access to this "
     "video. Use --cookies-from-browser or --cookies for the authentication.",
     ExtractorError, errors.VideoUnavailable, "private"),
    ("[youtube] abcdefghijk: Video unavailable. This video has been removed by the "
     "uploader", ExtractorError, errors.VideoUnavailable, "deleted"),
    ("[youtube] abcdefghijk: This live event will begin in a few moments.",
     ExtractorError, errors.LiveStillRunning, "still running"),
    ("[youtube] abcdefghijk: The uploader has not made this video available in your "
     "country", GeoRestrictedError, errors.GeoBlocked, "country"),
]


@pytest.mark.parametrize(("message", "cause", "kind", "words"), PLATFORM_ERRORS)
def test_platform_errors_map_to_clear_errors(message: str, cause: type[Exception],
                                             kind: type[errors.ClipForgeError],
                                             words: str) -> None:
    url = "https://www.example.com/v/1"
    mapped = ingest.describe_error(url, _yt_dlp_error(message, cause(message)))
    assert type(mapped) is kind and mapped.exit_code == 2
    assert mapped.message.startswith(url) and words in mapped.message
    assert "--cookies" not in mapped.message  # yt-dlp's options are not ours


def test_cli_error_is_one_clear_line(server: MediaServer, tmp_path: Path) -> None:
    server.statuses["/gone.mp4"] = 404
    url = server.url("gone.mp4")
    proc = finish(clipforge("process", url, "-q", data=tmp_path / "data"))
    assert_clean_error(proc, 2, url, "deleted")


# --- 5. private addresses ----------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1/vod.mp4", "http://10.0.0.1/vod.mp4",
                                 "http://localhost:8080/vod.m3u8", "https://[::1]/v.mp4",
                                 "http://169.254.169.254/latest/"])
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(errors.UnsafeUrl) as caught:
        ingest.check_url(url, allow_private=False)
    assert caught.value.exit_code == 2 and url in caught.value.message
    assert "CLIPFORGE_ALLOW_PRIVATE_URLS" in caught.value.message
    ingest.check_url(url, allow_private=True)


def test_a_named_private_host_is_allowed_and_no_other(server: MediaServer,
                                                     tmp_path: Path) -> None:
    """CLIPFORGE_PRIVATE_HOSTS lets one host through: the same server named `localhost`
    (which resolves to the same loopback address) stays refused."""
    only = ingest.Limits(private_hosts=frozenset({"127.0.0.1"}))
    got = ingest.download(server.url("hls/low/index.m3u8"), tmp_path, "low", "b", only)
    assert got.stat().st_size > 0
    with pytest.raises(errors.UnsafeUrl, match="CLIPFORGE_PRIVATE_HOSTS"):
        ingest.check_url(server.url("x.mp4").replace("127.0.0.1", "localhost"),
                         private_hosts=only.private_hosts)


def test_hls_segments_on_a_private_host_are_refused_before_any_is_fetched(
        server: MediaServer, media: IngestMedia, tmp_path: Path) -> None:
    """A playlist on an allowed host whose segments live on another, private one: the
    download stops before a single segment is requested."""
    port = server.httpd.server_address[1]
    playlist = (media.root / "hls" / "low" / "index.m3u8").read_text()
    sneaky = "\n".join(f"http://localhost:{port}/hls/low/{line}" if line.endswith(".ts")
                       else line for line in playlist.splitlines())
    (media.root / "hls" / "low" / "sneaky.m3u8").write_text(sneaky + "\n")
    only = ingest.Limits(private_hosts=frozenset({"127.0.0.1"}))
    url = server.url("hls/low/sneaky.m3u8")
    with pytest.raises(errors.UnsafeUrl, match="localhost"):
        ingest.download(url, tmp_path, "x", "b", only)
    assert not server.requests("/hls/low/seg")
    with pytest.raises(errors.UnsafeUrl, match="localhost"):  # and for a section too
        ingest.download(url, tmp_path, "y", "b", only, section=(10.0, 20.0))
    assert not server.requests("/hls/low/seg")


def test_a_redirect_into_a_private_host_is_refused(server: MediaServer,
                                                   tmp_path: Path) -> None:
    port = server.httpd.server_address[1]
    server.redirects["/jump.mp4"] = f"http://localhost:{port}/low.mp4"
    only = ingest.Limits(private_hosts=frozenset({"127.0.0.1"}))
    with pytest.raises(errors.UnsafeUrl, match="localhost"):
        ingest.download(server.url("jump.mp4"), tmp_path, "x", "b", only)
    assert not list(tmp_path.glob("x.*"))


# --- ffmpeg's own connections go through the checking proxy ------------------------------

@pytest.fixture
def internal(media: IngestMedia) -> Iterator[MediaServer]:
    """The internal service an attacker wants ffmpeg to reach: a server on loopback that
    logs every request, addressed below as `localhost` (not an allowed host)."""
    running = MediaServer(media.root).start()
    yield running
    running.stop()
    assert not any(t.name == "clipforge-proxy" for t in threading.enumerate())


def _internal_seen(internal: MediaServer) -> list[str]:
    """What the internal server was asked; then a request of our own, to show it logs."""
    seen = [r.path for r in internal.log]
    with urllib.request.urlopen(internal.url("hls/low/index.m3u8")) as response:
        response.read()
    assert [r.path for r in internal.log] == [*seen, "/hls/low/index.m3u8"]
    return seen


@pytest.mark.parametrize("redirected", ["every segment", "seg006.ts"])
def test_a_redirect_ffmpeg_follows_into_a_private_host_is_refused_before_it_is_sent(
        server: MediaServer, internal: MediaServer, media: IngestMedia, tmp_path: Path,
        redirected: str) -> None:
    """A section of an HLS playlist on an allowed host, whose segments (on that host too,
    so the playlist check passes) redirect to a private host that is not allowed. ffmpeg
    follows redirects itself; through the proxy, the redirect is refused before it is
    sent, and the error names the URL and what to do. With one segment refused ffmpeg
    skips it and finishes: the file it made is thrown away all the same."""
    port = internal.httpd.server_address[1]
    for name in media.segments("low") if redirected == "every segment" else [redirected]:
        server.redirects[f"/hls/low/{name}"] = f"http://localhost:{port}/hls/low/{name}"
    only = ingest.Limits(private_hosts=frozenset({"127.0.0.1"}))
    with pytest.raises(errors.UnsafeUrl) as caught:
        ingest.download(server.url("hls/low/index.m3u8"), tmp_path, "x", "b", only,
                        section=(10.0, 20.0))
    message = caught.value.message
    assert message.startswith(f"http://localhost:{port}/hls/low/seg"), message
    assert "(127.0.0.1)" in message and "CLIPFORGE_PRIVATE_HOSTS" in message
    asked = [r for r in server.requests("/hls/low/seg") if r.status == 302]
    assert asked and all(r.via == "1.1 clipforge" for r in asked)
    assert _internal_seen(internal) == []  # the redirect: refused before it was sent
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "x.done.json").exists()


def test_a_segment_host_that_rebinds_after_the_playlist_check_is_refused(
        server: MediaServer, internal: MediaServer, media: IngestMedia, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding. The playlist's segments are on `localhost`, whose first answer (to
    the playlist check) is a public address and every later one the real, loopback one.
    ffmpeg never looks the name up: the proxy does, when ffmpeg connects, and refuses the
    address it got. `no_proxy=*` in the environment, which would send ffmpeg around any
    proxy, is not passed on to it."""
    port = internal.httpd.server_address[1]
    playlist = (media.root / "hls" / "low" / "index.m3u8").read_text()
    rebinding = "\n".join(f"http://localhost:{port}/hls/low/{line}"
                          if line.endswith(".ts") else line for line in playlist.splitlines())
    (media.root / "hls" / "low" / "rebinding.m3u8").write_text(rebinding + "\n")
    real = socket.getaddrinfo
    answers: list[tuple[str, bool]] = []  # (first address, asked from the test's thread)

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "localhost":
            return real(host, *args, **kwargs)
        found = real(host, *args, **kwargs)
        if not answers:  # the attacker's DNS: public first, the truth afterwards
            found = [(family, kind, proto, "", ("93.184.216.34", address[1]))
                     for family, kind, proto, _, address in found
                     if family == socket.AF_INET]
        main = threading.current_thread() is threading.main_thread()
        answers.append((str(found[0][4][0]), main))
        return found

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setenv("no_proxy", "*")
    only = ingest.Limits(private_hosts=frozenset({"127.0.0.1"}))
    with pytest.raises(errors.UnsafeUrl) as caught:
        ingest.download(server.url("hls/low/rebinding.m3u8"), tmp_path, "x", "b", only,
                        section=(10.0, 20.0))
    assert caught.value.message.startswith(f"http://localhost:{port}/hls/low/seg")
    assert "(127.0.0.1)" in caught.value.message
    # The playlist check (in this thread) got the public answer and let it through; the
    # proxy (in its own thread) got the loopback one and refused it.
    assert answers[0] == ("93.184.216.34", True)
    assert ("127.0.0.1", False) in answers[1:]
    assert _internal_seen(internal) == []


def test_an_allowed_section_download_goes_through_the_proxy(
        server: MediaServer, tmp_path: Path) -> None:
    only = ingest.Limits(private_hosts=frozenset({"127.0.0.1"}))
    path = ingest.download(server.url("hls/low/index.m3u8"), tmp_path, "part", "b", only,
                           section=(10.0, 20.0))
    assert 9.5 < _duration(path) < 12.5
    segments = server.requests("/hls/low/seg")
    assert segments and all(r.via == "1.1 clipforge" and r.status == 206 for r in segments)
    assert not any(t.name == "clipforge-proxy" for t in threading.enumerate())


@pytest.fixture
def https_server(media: IngestMedia, tmp_path: Path) -> Iterator[tuple[MediaServer, str]]:
    """The media server over TLS (a self-signed certificate: ffmpeg does not verify by
    default), and its URL for low.mp4."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                    "1", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    running = MediaServer(media.root)
    running.httpd.socket = context.wrap_socket(running.httpd.socket, server_side=True)
    running.start()
    yield running, f"https://127.0.0.1:{running.httpd.server_address[1]}/low.mp4"
    running.stop()


def _ffmpeg_via(proxy: CheckingProxy, url: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                           "-http_proxy", proxy.url, "-i", url, "-t", "2", "-c", "copy",
                           str(out)], capture_output=True, text=True, timeout=120)


def test_ffmpeg_https_goes_through_a_checked_connect_tunnel(
        https_server: tuple[MediaServer, str], tmp_path: Path) -> None:
    """ffmpeg reaches an https URL through the proxy with CONNECT: TLS end to end, to the
    checked address; a private host not allowed is refused before anything is sent."""
    tls, url = https_server
    allowed = ingest.Limits(private_hosts=frozenset({"127.0.0.1"}))
    with CheckingProxy(addresses.proxy_check(allowed)) as proxy:
        done = _ffmpeg_via(proxy, url, tmp_path / "ok.mp4")
    assert done.returncode == 0, done.stderr
    assert 1.5 < _duration(tmp_path / "ok.mp4") < 2.5
    assert proxy.forwarded and set(proxy.forwarded) == {url.removesuffix("low.mp4")}
    assert tls.requests("/low.mp4") and proxy.refused == []
    asked = len(tls.log)

    with CheckingProxy(addresses.proxy_check(ingest.Limits())) as proxy:
        refused = _ffmpeg_via(proxy, url, tmp_path / "no.mp4")
    assert refused.returncode != 0
    [error] = proxy.refused
    assert isinstance(error, errors.UnsafeUrl) and proxy.forwarded == []
    assert error.message.startswith(url.removesuffix("low.mp4")) and "127.0.0.1" in error.message
    assert len(tls.log) == asked  # nothing reached the server


def test_playlist_keys_and_maps_are_checked_too() -> None:
    public = ingest.Limits()
    base = "http://93.184.216.34/vod/index.m3u8"  # a public address: no lookup needed
    ingest.check_playlist("#EXTM3U\n#EXTINF:2,\nseg0.ts\n", base, public)
    for line in ('#EXT-X-KEY:METHOD=AES-128,URI="http://10.0.0.1/key"',
                 '#EXT-X-MAP:URI="http://169.254.169.254/init.mp4"'):
        with pytest.raises(errors.UnsafeUrl):
            ingest.check_playlist(f"#EXTM3U\n{line}\n#EXTINF:2,\nseg0.ts\n", base, public)


@pytest.mark.parametrize("url", ["ftp://example.com/vod.mp4", "file:///etc/passwd"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(errors.UnsupportedSource):
        ingest.check_url(url, allow_private=True)


def test_cli_refuses_a_loopback_url_by_default(server: MediaServer, tmp_path: Path) -> None:
    url = server.url("low.mp4")
    proc = finish(clipforge("process", url, "-q", data=tmp_path / "data", allow=False))
    assert_clean_error(proc, 2, url, "private, loopback or link-local")
    assert server.log == []  # refused before any request



# --- the API takes URLs too --------------------------------------------------------------

def test_api_processes_a_url_and_refuses_a_private_one(server: MediaServer,
                                                       tmp_path: Path) -> None:
    url = server.url("hls/master.m3u8")
    allowed = Server(tmp_path / "allowed", f"sqlite:///{tmp_path / 'allowed.db'}",
                     allow_private_urls="true", chunk_seconds="60").start()
    guarded = Server(tmp_path / "guarded", f"sqlite:///{tmp_path / 'guarded.db'}").start()
    try:
        api = allowed.client(allowed.cli("user", "create", "ed").strip())
        created = api.post("/api/streams", json={"url": url, "top": 1})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        assert created.json()["source"] == url
        deadline = time.monotonic() + 600
        while (status := api.get(f"/api/streams/{sid}").json()["status"]) == "processing":
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert status == "done"
        [clip] = api.get(f"/api/streams/{sid}/clips").json()["items"]
        assert api.get(f"/api/clips/{clip['id']}/video").status_code == 200

        refused = guarded.client(guarded.cli("user", "create", "ed").strip()).post(
            "/api/streams", json={"url": url})
        assert refused.status_code == 422 and refused.json()["code"] == "unsafe_url"
        assert "127.0.0.1" in refused.json()["message"]
    finally:
        allowed.stop()
        guarded.stop()
